package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

// poll long-polls getUpdates. The offset moves past an update only after it was queued to a worker, so
// an update is never confirmed to Telegram before the bot has taken it.
func (b *Bot) poll(ctx context.Context) {
	defer b.poller.Done()
	var offset int64
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		updates, err := b.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var tooMany *tgbot.TooManyRequestsError
			switch {
			case errors.As(err, &tooMany):
				backoff = time.Duration(max(tooMany.RetryAfter, 1)) * time.Second
			case backoff == 0:
				backoff = 200 * time.Millisecond
			default:
				backoff = min(backoff*2, 10*time.Second)
			}
			b.log.Warn().Err(redact(err, b.cfg.Token)).Dur("retry_in_ms", backoff).Msg("getUpdates failed")
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		for _, u := range updates {
			if !b.enqueue(ctx, u) {
				return
			}
			offset = u.ID + 1
		}
	}
}

type updatesResponse struct {
	OK          bool              `json:"ok"`
	Result      []json.RawMessage `json:"result"`
	ErrorCode   int               `json:"error_code"`
	Description string            `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func (b *Bot) getUpdates(ctx context.Context, offset int64) ([]*tgmodels.Update, error) {
	body, _ := json.Marshal(map[string]any{
		"offset": offset, "timeout": int(b.cfg.PollTimeout / time.Second), "allowed_updates": allowedUpdates,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		b.cfg.APIURL+"/bot"+b.cfg.Token.Reveal()+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r updatesResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("getUpdates: decode (HTTP %d): %w", resp.StatusCode, err)
	}
	if !r.OK {
		if r.ErrorCode == http.StatusTooManyRequests {
			return nil, &tgbot.TooManyRequestsError{Message: r.Description, RetryAfter: r.Parameters.RetryAfter}
		}
		return nil, fmt.Errorf("getUpdates: %d %s", r.ErrorCode, r.Description)
	}
	updates := make([]*tgmodels.Update, 0, len(r.Result))
	for _, raw := range r.Result {
		u, err := b.decodeUpdate(raw)
		if err != nil {
			return nil, fmt.Errorf("getUpdates: %w", err)
		}
		updates = append(updates, u)
	}
	return updates, nil
}

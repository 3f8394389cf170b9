package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	tgmodels "github.com/go-telegram/bot/models"
)

// maxWebhookBody is the largest webhook body taken, with or without a Content-Length.
const maxWebhookBody = 1 << 20

// WebhookHandler receives updates in webhook mode. A request without the right secret header gets 401;
// a body over maxWebhookBody 413; a malformed body 400; an update that cannot be queued (shutting down)
// 503 so Telegram retries it. Errors are JSON: {"error": "..."}.
func (b *Bot) WebhookHandler() http.Handler {
	want := []byte(b.cfg.WebhookSecret.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got := []byte(req.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			writeJSONError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxWebhookBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeJSONError(w, http.StatusRequestEntityTooLarge, "update too large")
			return
		case err != nil:
			writeJSONError(w, http.StatusBadRequest, "malformed update")
			return
		}
		u, err := b.decodeUpdate(raw)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "malformed update")
			return
		}
		if !b.started.Load() || b.stopped.Load() {
			writeJSONError(w, http.StatusServiceUnavailable, "not running")
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		if !b.enqueueWebhook(ctx, u) {
			writeJSONError(w, http.StatusServiceUnavailable, "busy")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// enqueueWebhook queues an update unless the bot is stopping.
func (b *Bot) enqueueWebhook(ctx context.Context, u *tgmodels.Update) bool {
	b.qmu.RLock()
	defer b.qmu.RUnlock()
	if b.stopped.Load() {
		return false
	}
	return b.enqueue(ctx, u)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

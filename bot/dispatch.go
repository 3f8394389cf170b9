package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"time"

	tgmodels "github.com/go-telegram/bot/models"
	"github.com/rs/zerolog"
)

// decodeUpdate decodes one update. One the Telegram library cannot decode (Telegram adds new kinds of
// objects over time, and the library refuses union variants it does not know) becomes an empty update
// with only its id, which is handled as nothing and confirmed, rather than fetched again for ever
// ahead of every later update. Only JSON without an update_id is an error.
func (b *Bot) decodeUpdate(raw []byte) (*tgmodels.Update, error) {
	var u tgmodels.Update
	err := json.Unmarshal(raw, &u)
	if err == nil {
		return &u, nil
	}
	var id struct {
		UpdateID *int64 `json:"update_id"`
	}
	if json.Unmarshal(raw, &id) != nil || id.UpdateID == nil {
		return nil, fmt.Errorf("malformed update: %w", err)
	}
	b.metrics.errors.WithLabelValues("undecodable").Inc()
	b.log.Warn().Err(err).Int64("update_id", *id.UpdateID).Msg("update skipped: cannot decode it")
	return &tgmodels.Update{ID: *id.UpdateID}, nil
}

// enqueue hands an update to the worker that owns its chat, waiting while that worker's queue is full.
func (b *Bot) enqueue(ctx context.Context, u *tgmodels.Update) bool {
	q := b.queues[int(b.shard(u)%uint64(len(b.queues)))]
	select {
	case q <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// chatKey is the chat an update belongs to (for a callback query without its message, the sender's
// private chat); ok is false for an update of no chat.
func chatKey(u *tgmodels.Update) (key int64, ok bool) {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID, true
	case u.CallbackQuery != nil:
		if m := u.CallbackQuery.Message.Message; m != nil {
			return m.Chat.ID, true
		}
		return u.CallbackQuery.From.ID, true
	case u.MyChatMember != nil:
		return u.MyChatMember.Chat.ID, true
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID, true
	case u.ChannelPost != nil:
		return u.ChannelPost.Chat.ID, true
	}
	return 0, false
}

// shard keys an update by chat (or, without a chat, by sender) so one chat's updates stay in order.
func (b *Bot) shard(u *tgmodels.Update) uint64 {
	key, ok := chatKey(u)
	if !ok {
		key = u.ID
	}
	var buf [8]byte
	for i := range buf {
		buf[i] = byte(key >> (8 * i))
	}
	return maphash.Bytes(b.seed, buf[:])
}

func (b *Bot) work(q chan *tgmodels.Update) {
	defer b.workers.Done()
	for u := range q {
		if b.handling.Err() != nil {
			b.log.Warn().Int64("update_id", u.ID).Msg("update dropped: out of time at shutdown")
			continue
		}
		b.process(u)
	}
}

// process runs one update through the middleware: recover, logger, metrics, rate limit, callback answer.
func (b *Bot) process(u *tgmodels.Update) {
	start := time.Now()
	kind := kindName(u)
	r := toRequest(u, b.username)
	log := b.log.With().Int64("update_id", u.ID).Str("update_type", kind).Logger()
	if r.From != nil {
		log = log.With().Int64("user_id", r.From.ID).Logger()
	}
	if r.Chat.ID != 0 {
		log = log.With().Int64("chat_id", r.Chat.ID).Logger()
	}
	if r.Command != "" {
		log = log.With().Str("command", r.Command).Logger()
	}
	ctx, cancel := context.WithTimeout(b.handling, b.cfg.HandleTimeout)
	defer cancel()
	ctx = log.WithContext(ctx)
	if b.cfg.Guard != nil {
		unlock, ok := b.guard(ctx, u, log)
		if !ok {
			return
		}
		defer unlock() // after the deferred callback answer below: it is part of handling the update
	}
	defer func() {
		if p := recover(); p != nil {
			b.metrics.errors.WithLabelValues("panic").Inc()
			log.Error().Interface("panic", p).Stack().Msg("handler panicked")
		}
		b.finishCallback(ctx, r)
		b.metrics.updates.WithLabelValues(kind).Inc()
		b.metrics.latency.WithLabelValues(kind).Observe(since(start))
		log.Debug().Dur("took_ms", time.Since(start)).Msg("update handled")
	}()

	// Only what the bot acts on costs tokens: group chatter the bot ignores must not use up a user's budget.
	if r.From != nil && !r.From.IsBot && (r.Kind == KindCallback || r.Kind == KindMessage && (r.Chat.Private() || r.Command != "")) {
		ok, warn := b.limiter.allow(r.From.ID)
		if !ok {
			b.metrics.limited.Inc()
			if warn && b.cfg.TooFast != nil {
				if r.Kind == KindCallback {
					_ = b.AnswerCallback(ctx, r, b.cfg.TooFast(r.From.LanguageCode), false)
				} else if r.Chat.Private() {
					_, _ = b.Send(ctx, r.Chat.ID, Message{Text: Escape(b.cfg.TooFast(r.From.LanguageCode))})
				}
			}
			log.Debug().Msg("rate limited")
			return
		}
	}
	b.handler.Handle(ctx, r)
}

// guard takes the update's chat and marks the update seen (see Guard). It reports false when the update
// must not be handled: a duplicate, or the guard failed.
func (b *Bot) guard(ctx context.Context, u *tgmodels.Update, log zerolog.Logger) (unlock func(), ok bool) {
	unlock = func() {}
	if chat, has := chatKey(u); has {
		var err error
		if unlock, err = b.cfg.Guard.LockChat(ctx, chat); err != nil {
			b.metrics.errors.WithLabelValues("guard").Inc()
			log.Error().Err(err).Msg("update not handled: its chat could not be locked")
			return nil, false
		}
	}
	seen, err := b.cfg.Guard.Seen(ctx, u.ID)
	switch {
	case err != nil:
		unlock()
		b.metrics.errors.WithLabelValues("guard").Inc()
		log.Error().Err(err).Msg("update not handled: it could not be marked seen")
		return nil, false
	case seen:
		unlock()
		b.metrics.duplicates.Inc()
		log.Debug().Msg("update already taken: not handled again")
		return nil, false
	}
	return unlock, true
}

// finishCallback answers a callback query the handler left unanswered: Telegram shows a spinner until
// every query is answered.
func (b *Bot) finishCallback(ctx context.Context, r *Request) {
	if r.Kind != KindCallback || r.answered || r.CallbackID == "" {
		return
	}
	if err := b.AnswerCallback(ctx, r, "", false); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("answer callback")
	}
}

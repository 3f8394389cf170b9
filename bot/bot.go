// Package bot is Keranjang's Telegram edge: it builds the go-telegram client, receives updates (long
// polling or webhook), runs them through bounded per-chat-ordered workers and middleware (recover,
// per-update logger, metrics, inbound rate limit, callback answering), and sends messages. It is the only
// package besides commands that knows Telegram types; the rest speaks in Request and Message.
package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/secret"
)

// Handler handles one update. The bot calls it from its workers: never concurrently for the same chat.
type Handler interface {
	Handle(ctx context.Context, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r *Request)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, r *Request) { f(ctx, r) }

// Config configures the bot edge. Zero values get the defaults in parentheses.
type Config struct {
	Token         secret.Secret
	APIURL        string        // Bot API base URL (https://api.telegram.org)
	WebhookURL    string        // set: webhook mode; empty: long polling
	WebhookSecret secret.Secret // checked on every webhook request
	Workers       int           // update workers (16); each chat always lands on the same worker
	QueueSize     int           // per-worker queue (256)
	PollTimeout   time.Duration // long-poll timeout (30s); the HTTP client waits 15s longer
	HandleTimeout time.Duration // per-update deadline (30s)
	RateBurst     int           // inbound updates a user may burst (10)
	RateEvery     time.Duration // refill: one update per RateEvery (1s)
	// TooFast is sent once when a user goes over the inbound limit; it gets the user's language code.
	TooFast  func(languageCode string) string
	Logger   zerolog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
}

// Bot receives and sends Telegram messages.
type Bot struct {
	cfg      Config
	log      zerolog.Logger
	client   *tgbot.Bot
	http     *http.Client
	metrics  *metrics
	limiter  *inboundLimiter
	handler  Handler
	username string

	seed    maphash.Seed
	queues  []chan *tgmodels.Update
	workers sync.WaitGroup
	poller  sync.WaitGroup
	cancel  context.CancelFunc
	stopped atomic.Bool
	started atomic.Bool
	closeQ  sync.Once
	// qmu keeps webhook senders and Stop's close of the queues apart.
	qmu sync.RWMutex

	// handling is the parent context of every handler; abort cancels it when Stop runs out of time.
	handling context.Context
	abort    context.CancelFunc
}

// New builds the bot edge; it makes no network call. Start connects.
func New(cfg Config, h Handler) (*Bot, error) {
	if !cfg.Token.IsSet() {
		return nil, errors.New("bot: empty token")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.telegram.org"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	if cfg.HandleTimeout <= 0 {
		cfg.HandleTimeout = 30 * time.Second
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 10
	}
	if cfg.RateEvery <= 0 {
		cfg.RateEvery = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Bot{cfg: cfg, log: cfg.Logger.With().Str("component", "bot").Logger(), handler: h,
		metrics: newMetrics(cfg.Registry), seed: maphash.MakeSeed()}
	b.limiter = newInboundLimiter(cfg.RateBurst, cfg.RateEvery, cfg.Now)
	b.handling, b.abort = context.WithCancel(context.Background())
	// Every call goes to one host. The default transport keeps only two idle connections per host, so
	// with more workers sending at once most connections would be closed after one call and dialled (and
	// TLS-handshaken) again for the next: keep one per worker, plus the long poll.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Workers + 1
	tr.MaxIdleConns = max(tr.MaxIdleConns, cfg.Workers+1)
	b.http = &http.Client{
		Timeout:   cfg.PollTimeout + 15*time.Second,
		Transport: countingTransport{next: wholeBody{next: tr}, m: b.metrics},
	}
	client, err := tgbot.New(cfg.Token.Reveal(),
		tgbot.WithServerURL(cfg.APIURL),
		tgbot.WithHTTPClient(cfg.PollTimeout, b.http),
		tgbot.WithSkipGetMe(),
		tgbot.WithErrorsHandler(func(err error) { b.log.Error().Err(redact(err, cfg.Token)).Msg("telegram client") }),
		tgbot.WithDebugHandler(func(format string, args ...any) {
			b.log.Trace().Msg(redact(fmt.Errorf(format, args...), cfg.Token).Error())
		}),
		tgbot.WithDefaultHandler(func(context.Context, *tgbot.Bot, *tgmodels.Update) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", redact(err, cfg.Token))
	}
	b.client = client
	return b, nil
}

// SetHandler sets the update handler; call it before Start.
func (b *Bot) SetHandler(h Handler) { b.handler = h }

// Username is the bot's username, known after Start.
func (b *Bot) Username() string { return b.username }

// Ready reports whether the bot has started and not stopped (for /readyz).
func (b *Bot) Ready() error {
	if !b.started.Load() || b.stopped.Load() {
		return errors.New("bot not running")
	}
	return nil
}

// Start connects to Telegram (getMe, with retries until ctx ends), starts the workers, and begins
// receiving: in polling mode it deletes any webhook and long-polls; in webhook mode it registers the
// webhook and waits for WebhookHandler to be called.
func (b *Bot) Start(ctx context.Context) error {
	me, err := b.getMe(ctx)
	if err != nil {
		return err
	}
	b.username = me.Username
	b.log.Info().Int64("bot_id", me.ID).Str("username", me.Username).Msg("connected to Telegram")

	b.queues = make([]chan *tgmodels.Update, b.cfg.Workers)
	for i := range b.queues {
		q := make(chan *tgmodels.Update, b.cfg.QueueSize)
		b.queues[i] = q
		b.workers.Add(1)
		go b.work(q)
	}

	pollCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	if b.cfg.WebhookURL != "" {
		callCtx, cancelCall := context.WithTimeout(ctx, 15*time.Second)
		defer cancelCall()
		_, err := b.client.SetWebhook(callCtx, &tgbot.SetWebhookParams{
			URL: b.cfg.WebhookURL, SecretToken: b.cfg.WebhookSecret.Reveal(),
			AllowedUpdates: allowedUpdates, MaxConnections: 40,
		})
		if err != nil {
			cancel()
			b.closeQueues()
			return fmt.Errorf("bot: set webhook: %w", redact(err, b.cfg.Token))
		}
		b.log.Info().Msg("receiving updates by webhook")
	} else {
		callCtx, cancelCall := context.WithTimeout(ctx, 15*time.Second)
		defer cancelCall()
		if _, err := b.client.DeleteWebhook(callCtx, &tgbot.DeleteWebhookParams{}); err != nil {
			cancel()
			b.closeQueues()
			return fmt.Errorf("bot: delete webhook: %w", redact(err, b.cfg.Token))
		}
		b.poller.Add(1)
		go b.poll(pollCtx)
		b.log.Info().Msg("receiving updates by long polling")
	}
	b.started.Store(true)
	return nil
}

var allowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

func (b *Bot) getMe(ctx context.Context) (*tgmodels.User, error) {
	delay := 500 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		me, err := b.client.GetMe(callCtx)
		cancel()
		if err == nil {
			return me, nil
		}
		if errors.Is(err, tgbot.ErrorUnauthorized) || errors.Is(err, tgbot.ErrorNotFound) {
			return nil, fmt.Errorf("bot: getMe: the bot token was refused: %w", redact(err, b.cfg.Token))
		}
		b.log.Warn().Err(redact(err, b.cfg.Token)).Dur("retry_in", delay).Msg("getMe failed")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bot: getMe: %w", redact(err, b.cfg.Token))
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// Stop stops taking updates and waits until every update already taken has been handled, or ctx ends.
// Updates not yet taken stay with Telegram (their offset was never confirmed) and come again on the
// next start. When ctx ends first (a hung Bot API call can take longer than any shutdown budget), the
// handlers still running are cancelled, the updates not started are dropped and logged, and Stop waits
// at most abortGrace more.
func (b *Bot) Stop(ctx context.Context) error {
	if !b.started.Load() || !b.stopped.CompareAndSwap(false, true) {
		return nil
	}
	b.cancel()
	b.poller.Wait()
	b.closeQueues()
	done := make(chan struct{})
	go func() { b.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	b.abort()
	select {
	case <-done:
	case <-time.After(abortGrace):
	}
	return fmt.Errorf("bot: stop: %w", ctx.Err())
}

// abortGrace is how long Stop waits for cancelled handlers to return.
const abortGrace = time.Second

func (b *Bot) closeQueues() {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	b.closeQ.Do(func() {
		for _, q := range b.queues {
			close(q)
		}
	})
}

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
			b.log.Warn().Err(redact(err, b.cfg.Token)).Dur("retry_in", backoff).Msg("getUpdates failed")
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

// shard keys an update by chat (or, without a chat, by sender) so one chat's updates stay in order.
func (b *Bot) shard(u *tgmodels.Update) uint64 {
	var key int64
	switch {
	case u.Message != nil:
		key = u.Message.Chat.ID
	case u.CallbackQuery != nil:
		key = u.CallbackQuery.From.ID
		if m := u.CallbackQuery.Message.Message; m != nil {
			key = m.Chat.ID
		}
	case u.MyChatMember != nil:
		key = u.MyChatMember.Chat.ID
	case u.EditedMessage != nil:
		key = u.EditedMessage.Chat.ID
	case u.ChannelPost != nil:
		key = u.ChannelPost.Chat.ID
	default:
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
	defer func() {
		if p := recover(); p != nil {
			b.metrics.errors.WithLabelValues("panic").Inc()
			log.Error().Interface("panic", p).Stack().Msg("handler panicked")
		}
		b.finishCallback(ctx, r)
		b.metrics.updates.WithLabelValues(kind).Inc()
		b.metrics.latency.WithLabelValues(kind).Observe(since(start))
		log.Debug().Dur("took", time.Since(start)).Msg("update handled")
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

// ErrorCount is incremented by the commands layer for handler errors (it owns the decision what the
// user sees); exposed so the metric stays in one place.
func (b *Bot) ErrorCount() { b.metrics.errors.WithLabelValues("error").Inc() }

// WebhookHandler receives updates in webhook mode. A request without the right secret header gets 401;
// a malformed body 400; an update that cannot be queued (shutting down) 503 so Telegram retries it.
func (b *Bot) WebhookHandler() http.Handler {
	want := []byte(b.cfg.WebhookSecret.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got := []byte(req.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
		if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			writeJSONError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
		if err != nil {
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

// redact removes the token from an error's text (the client puts it in request URLs).
func redact(err error, token secret.Secret) error {
	if err == nil || !token.IsSet() {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, token.Reveal()) && !strings.Contains(msg, url.PathEscape(token.Reveal())) {
		return err
	}
	msg = strings.ReplaceAll(msg, token.Reveal(), "***")
	return &redactedError{msg: strings.ReplaceAll(msg, url.PathEscape(token.Reveal()), "***"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; the wrapped error's own text still holds the token, so callers log
// only Error().
func (e *redactedError) Unwrap() error { return e.err }

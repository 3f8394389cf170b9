// Package bot is Keranjang's Telegram edge: it builds the go-telegram client, receives updates (long
// polling or webhook), runs them through bounded per-chat-ordered workers and middleware (recover,
// per-update logger, metrics, inbound rate limit, callback answering), and sends messages. It is the only
// package besides commands that knows Telegram types; the rest speaks in Request and Message.
package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
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

// Guard coordinates the instances that share one bot and one database (package cluster implements it
// on PostgreSQL); a single process needs none. Each worker, before it handles an update, takes the
// update's chat with LockChat, so that no two instances handle updates of one chat at the same time
// (within an instance the per-chat workers already keep them in order), and then asks Seen, so that an
// update Telegram delivers twice, to one instance or two, is handled once. The chat is held until the
// handler has returned and a callback query is answered.
//
// An update is marked seen just before its handler runs: should the process die between the mark and
// the end of the handler, the update is not handled again by anyone (at most once). When the guard fails
// (the database cannot be reached, or the chat stays locked for the whole handling deadline) the update
// is not handled either: it is logged and counted as a "guard" error.
type Guard interface {
	// Seen records update updateID as taken and reports whether it had been taken before.
	Seen(ctx context.Context, updateID int64) (bool, error)
	// LockChat waits until no other holder has chat chatID, or ctx ends, and holds it until unlock is
	// called.
	LockChat(ctx context.Context, chatID int64) (unlock func(), err error)
}

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
	TooFast func(languageCode string) string
	// Guard keeps instances that share the bot from handling a chat at once or an update twice; nil in a
	// single process.
	Guard    Guard
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

// ErrTokenRefused is returned by Start when Telegram answers getMe with 401 or 404: the token is wrong
// or was revoked, and retrying cannot help.
var ErrTokenRefused = errors.New("the bot token was refused")

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
			return nil, fmt.Errorf("bot: getMe: %w: %w", ErrTokenRefused, redact(err, b.cfg.Token))
		}
		b.log.Warn().Err(redact(err, b.cfg.Token)).Dur("retry_in_ms", delay).Msg("getMe failed")
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

// ErrorCount is incremented by the commands layer for handler errors (it owns the decision what the
// user sees); exposed so the metric stays in one place.
func (b *Bot) ErrorCount() { b.metrics.errors.WithLabelValues("error").Inc() }

package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/promreg"
)

// OutboxStore is what the delivery worker needs of the durable outbox (store.Store implements it).
type OutboxStore interface {
	DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error)
	NextDue(ctx context.Context) (time.Time, bool, error)
	MarkSent(ctx context.Context, id uint64, at time.Time) error
	MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error
	MarkFailed(ctx context.Context, id uint64, lastErr string) error
	SetReachable(ctx context.Context, userID int64, reachable bool) (int, error)
	MigrateChat(ctx context.Context, oldID, newID int64) error
	OutboxStats(ctx context.Context) (affiliate.OutboxStats, error)
}

// MessageSender sends one message to a chat (*Bot implements it).
type MessageSender interface {
	Send(ctx context.Context, chatID int64, m Message) (int, error)
}

// OutboxConfig configures the delivery worker. Zero values get the defaults in parentheses.
type OutboxConfig struct {
	// Rate is the most messages a second the worker sends in total (KERANJANG_SEND_RATE, 25).
	Rate float64
	// PrivateGap is the least time between the end of one send to a private chat and the start of the
	// next to the same chat (1s).
	PrivateGap time.Duration
	// GroupPerMinute is the most messages one group chat gets in a minute (20).
	GroupPerMinute int
	// MaxAttempts is how many tries a message gets on 5xx and network errors before it fails (8).
	MaxAttempts int
	// Backoff is the wait after the first failed try, doubled after each further one (2s), up to
	// MaxBackoff (10m); each wait is jittered down by up to half.
	Backoff, MaxBackoff time.Duration
	// Batch is how many due messages one read of the store takes (100).
	Batch int
	// Poll is the longest the worker sleeps when nothing is due and nobody calls Wake (1s).
	Poll time.Duration
	// MaxPause caps a retry_after (1h), so that a broken answer cannot stop delivery for days.
	MaxPause time.Duration
	Logger   zerolog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
}

// Outbox is the delivery worker: one goroutine that sends what the durable outbox holds, politely. It
// paces sends with a token bucket (Rate a second, no bursts), one message a second per private chat and
// GroupPerMinute per group; on 429 every send waits for retry_after; on 403 the user is marked
// unreachable (which drops their queued messages); on a group's upgrade to a supergroup the chat id is
// moved and the message sent again; 5xx and network errors are retried with exponential backoff and
// jitter, then the message fails; any other refusal fails it at once.
//
// A message Telegram confirmed is marked sent before the next send starts. Should that write fail, the
// worker remembers the message and writes again instead of sending it; only a crash between Telegram's
// answer and that write can send a message twice.
type Outbox struct {
	cfg   OutboxConfig
	store OutboxStore
	send  MessageSender
	log   zerolog.Logger
	m     *outboxMetrics
	lim   *rate.Limiter

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
	run  sync.Once

	// Owned by the worker goroutine.
	pausedUntil time.Time
	private     map[int64]time.Time   // private chat → when its last send ended
	groups      map[int64][]time.Time // group chat → when its sends in the last minute ended
	unsaved     map[uint64]time.Time  // confirmed by Telegram, MarkSent failed: write again, never resend
	// postponed is when the first chat of this round that had to wait is free; delivered says whether the
	// round sent anything.
	postponed time.Time
	delivered bool
}

type outboxMetrics struct {
	depth   prometheus.Gauge
	sent    prometheus.Counter
	failed  prometheus.Counter
	dropped prometheus.Counter
	pause   prometheus.Counter
	latency prometheus.Histogram
}

func newOutboxMetrics(reg prometheus.Registerer) *outboxMetrics {
	m := &outboxMetrics{
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keranjang_outbox_queue_depth", Help: "Messages queued in the outbox, waiting to be sent.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_outbox_sent_total", Help: "Outbox messages Telegram confirmed.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_outbox_failed_total", Help: "Outbox messages given up on (refused, or out of retries).",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_outbox_dropped_total", Help: "Outbox messages dropped because their user blocked the bot.",
		}),
		pause: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_outbox_pause_seconds_total", Help: "Seconds all sending paused for Telegram's retry_after.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "keranjang_outbox_send_seconds", Help: "Time of one outbox send, Bot API call and store write.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}),
	}
	if reg != nil {
		// An outbox built again on the same registry (a new leadership term) goes on with the series.
		m.depth = promreg.Register(reg, m.depth)
		m.sent = promreg.Register(reg, m.sent)
		m.failed = promreg.Register(reg, m.failed)
		m.dropped = promreg.Register(reg, m.dropped)
		m.pause = promreg.Register(reg, m.pause)
		m.latency = promreg.Register(reg, m.latency)
	}
	return m
}

// NewOutbox builds the delivery worker; Start runs it.
func NewOutbox(store OutboxStore, send MessageSender, cfg OutboxConfig) *Outbox {
	if cfg.Rate <= 0 {
		cfg.Rate = 25
	}
	if cfg.PrivateGap <= 0 {
		cfg.PrivateGap = time.Second
	}
	if cfg.GroupPerMinute <= 0 {
		cfg.GroupPerMinute = 20
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxPause <= 0 {
		cfg.MaxPause = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Outbox{
		cfg: cfg, store: store, send: send, log: cfg.Logger.With().Str("component", "outbox").Logger(),
		m: newOutboxMetrics(cfg.Registry), lim: rate.NewLimiter(rate.Limit(cfg.Rate), 1),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		private: map[int64]time.Time{}, groups: map[int64][]time.Time{}, unsaved: map[uint64]time.Time{},
	}
}

// Start runs the worker in its own goroutine until Stop. ctx carries values only (a logger); the
// worker's life is Start to Stop.
func (o *Outbox) Start(ctx context.Context) {
	o.run.Do(func() { go o.loop(context.WithoutCancel(ctx)) })
}

// Wake tells the worker that messages were queued, so that it need not wait for its next poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Stop makes the worker take no new send, lets the one in flight finish (with its store write) and
// waits for the goroutine to end, or for ctx.
func (o *Outbox) Stop(ctx context.Context) error {
	o.once.Do(func() { close(o.stop) })
	o.run.Do(func() { close(o.done) }) // never started
	select {
	case <-o.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop outbox: %w", ctx.Err())
	}
}

func (o *Outbox) stopping() bool {
	select {
	case <-o.stop:
		return true
	default:
		return false
	}
}

// sleep waits for d, a wake-up or Stop; it reports false on Stop.
func (o *Outbox) sleep(d time.Duration, wakeable bool) bool {
	if d <= 0 {
		return !o.stopping()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var wake <-chan struct{}
	if wakeable {
		wake = o.wake
	}
	select {
	case <-o.stop:
		return false
	case <-wake:
		return true
	case <-t.C:
		return true
	}
}

// restartGap is how long a starting worker waits before its first send: Telegram's per-chat window.
const restartGap = time.Second

func (o *Outbox) loop(ctx context.Context) {
	defer close(o.done)
	o.log.Info().Float64("rate", o.cfg.Rate).Msg("outbox worker started")
	defer o.log.Info().Msg("outbox worker stopped")
	// A worker that starts does not know what an earlier process sent in the last second (a restart):
	// it waits that second out, so that neither a chat nor the bot as a whole hears more than Telegram
	// allows across a restart.
	if !o.sleep(restartGap, false) {
		return
	}
	for !o.stopping() {
		o.refreshDepth(ctx)
		msgs, err := o.store.DueMessages(ctx, o.cfg.Now(), o.cfg.Batch)
		if err != nil {
			o.log.Error().Err(err).Msg("read due messages")
			if !o.sleep(o.cfg.Poll, false) {
				return
			}
			continue
		}
		if len(msgs) == 0 {
			if !o.sleep(o.idle(ctx), true) {
				return
			}
			continue
		}
		o.postponed, o.delivered = time.Time{}, false
		for _, m := range msgs {
			if o.stopping() {
				return
			}
			o.deliver(ctx, m)
		}
		if !o.delivered && !o.postponed.IsZero() {
			// Every due message waits for its chat: sleep until the first chat is free.
			if !o.sleep(time.Until(o.postponed), true) {
				return
			}
		}
	}
}

// idle is how long to sleep with nothing due: until the next retry, at most Poll.
func (o *Outbox) idle(ctx context.Context) time.Duration {
	next, ok, err := o.store.NextDue(ctx)
	if err != nil || !ok {
		return o.cfg.Poll
	}
	return min(max(next.Sub(o.cfg.Now()), 10*time.Millisecond), o.cfg.Poll)
}

func (o *Outbox) refreshDepth(ctx context.Context) {
	if st, err := o.store.OutboxStats(ctx); err == nil {
		o.m.depth.Set(float64(st.Queued))
	}
}

// deliver sends one due message and records the outcome.
func (o *Outbox) deliver(ctx context.Context, m affiliate.OutboxMessage) {
	log := o.log.With().Uint64("outbox_id", m.ID).Int64("chat_id", m.ChatID).Str("kind", m.Kind).Logger()
	if at, ok := o.unsaved[m.ID]; ok {
		o.markSent(ctx, log, m, at)
		return
	}
	if ready := o.chatReady(m); ready.After(time.Now()) {
		// Another message for this chat went out a moment ago: this one goes to the back of the due
		// queue (due now, behind what is already due), so that it does not hold up the messages for other
		// chats, and the round remembers when its chat is free.
		if err := o.store.MarkRetry(ctx, m.ID, m.Attempts, o.cfg.Now(), m.LastError); err != nil {
			log.Error().Err(err).Msg("postpone message")
		}
		if o.postponed.IsZero() || ready.Before(o.postponed) {
			o.postponed = ready
		}
		return
	}
	for migrated := false; ; {
		if !o.waitTurn() {
			return
		}
		start := time.Now()
		_, err := o.send.Send(ctx, m.ChatID, Message{Text: m.Text, Keyboard: keyboardOf(m.Buttons)})
		o.sent(m)
		if err == nil {
			o.markSent(ctx, log, m, o.cfg.Now())
			o.m.latency.Observe(time.Since(start).Seconds())
			return
		}
		var (
			tooMany *tgbot.TooManyRequestsError
			migrate *tgbot.MigrateError
		)
		switch {
		case errors.As(err, &tooMany):
			pause := min(time.Duration(max(tooMany.RetryAfter, 1))*time.Second, o.cfg.MaxPause)
			o.pausedUntil = time.Now().Add(pause)
			o.m.pause.Add(pause.Seconds())
			log.Warn().Dur("retry_after", pause).Msg("telegram asked to slow down: all sending paused")
			return // still due: the next round sends it
		case errors.As(err, &migrate) && !migrated:
			newID := int64(migrate.MigrateToChatID)
			if err := o.store.MigrateChat(ctx, m.ChatID, newID); err != nil {
				log.Error().Err(err).Int64("new_chat_id", newID).Msg("move chat to its supergroup")
				o.retry(ctx, log, m, err)
				return
			}
			log.Info().Int64("new_chat_id", newID).Msg("group became a supergroup: chat moved, sending again")
			m.ChatID, migrated = newID, true
			continue
		case errors.Is(err, tgbot.ErrorForbidden) && m.UserID > 0:
			n, serr := o.store.SetReachable(ctx, m.UserID, false)
			if serr != nil {
				log.Error().Err(serr).Msg("mark user unreachable")
				o.retry(ctx, log, m, err)
				return
			}
			o.m.dropped.Add(float64(n))
			log.Info().Int64("user_id", m.UserID).Int("dropped", n).Msg("user blocked the bot: marked unreachable")
		case permanent(err):
			o.fail(ctx, log, m, err)
		default:
			o.retry(ctx, log, m, err)
		}
		o.m.latency.Observe(time.Since(start).Seconds())
		return
	}
}

// permanent reports whether Telegram refused a message for good: a bad request (chat not found, text
// refused, …), a forbidden group chat, an unknown method, or a message that breaks a limit before it is
// sent.
func permanent(err error) bool {
	return errors.Is(err, tgbot.ErrorBadRequest) || errors.Is(err, tgbot.ErrorForbidden) ||
		errors.Is(err, tgbot.ErrorNotFound) || errors.Is(err, ErrBadMessage)
}

func (o *Outbox) markSent(ctx context.Context, log zerolog.Logger, m affiliate.OutboxMessage, at time.Time) {
	if err := o.store.MarkSent(ctx, m.ID, at); err != nil {
		log.Error().Err(err).Msg("TELEGRAM CONFIRMED A MESSAGE BUT IT COULD NOT BE MARKED SENT; it will not be sent again by this process")
		if _, ok := o.unsaved[m.ID]; !ok {
			o.unsaved[m.ID] = at
			o.m.sent.Inc()
		}
		return
	}
	if _, ok := o.unsaved[m.ID]; ok {
		delete(o.unsaved, m.ID)
		return
	}
	o.m.sent.Inc()
}

func (o *Outbox) fail(ctx context.Context, log zerolog.Logger, m affiliate.OutboxMessage, cause error) {
	if err := o.store.MarkFailed(ctx, m.ID, cause.Error()); err != nil {
		log.Error().Err(err).Msg("mark message failed")
		return
	}
	o.m.failed.Inc()
	log.Warn().Err(cause).Int("attempts", m.Attempts+1).Msg("message failed")
}

// retry schedules another try after a jittered exponential backoff, or fails the message when it has
// had its tries.
func (o *Outbox) retry(ctx context.Context, log zerolog.Logger, m affiliate.OutboxMessage, cause error) {
	attempts := m.Attempts + 1
	if attempts >= o.cfg.MaxAttempts {
		o.fail(ctx, log, m, cause)
		return
	}
	wait := o.cfg.Backoff
	for i := 1; i < attempts && wait < o.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, o.cfg.MaxBackoff)
	wait -= rand.N(wait/2 + 1)
	if err := o.store.MarkRetry(ctx, m.ID, attempts, o.cfg.Now().Add(wait), cause.Error()); err != nil {
		log.Error().Err(err).Msg("schedule retry")
		return
	}
	log.Info().Err(cause).Int("attempts", attempts).Dur("wait", wait).Msg("send failed, will retry")
}

// waitTurn waits out a 429 pause and takes a token of the total rate; false on Stop.
func (o *Outbox) waitTurn() bool {
	if !o.sleep(time.Until(o.pausedUntil), false) {
		return false
	}
	r := o.lim.Reserve()
	if !o.sleep(r.Delay(), false) {
		r.Cancel()
		return false
	}
	return true
}

// chatReady is when the message's chat may get its next message.
func (o *Outbox) chatReady(m affiliate.OutboxMessage) time.Time {
	if m.ChatID > 0 {
		return o.private[m.ChatID].Add(o.cfg.PrivateGap)
	}
	recent := o.recentGroup(m.ChatID)
	if len(recent) < o.cfg.GroupPerMinute {
		return time.Time{}
	}
	return recent[len(recent)-o.cfg.GroupPerMinute].Add(time.Minute)
}

func (o *Outbox) recentGroup(chat int64) []time.Time {
	ts := o.groups[chat]
	cut := time.Now().Add(-time.Minute)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(o.groups, chat)
	} else {
		o.groups[chat] = ts
	}
	return ts
}

// sent records that a send to the message's chat ended now (whatever its outcome: Telegram counts the
// attempt), and forgets chats that are past their gap so the maps stay small.
func (o *Outbox) sent(m affiliate.OutboxMessage) {
	o.delivered = true
	now := time.Now() // Telegram's windows are wall time, whatever the store's clock says
	if m.ChatID > 0 {
		o.private[m.ChatID] = now
		if len(o.private) > 4096 {
			for id, at := range o.private {
				if now.Sub(at) >= o.cfg.PrivateGap {
					delete(o.private, id)
				}
			}
		}
		return
	}
	o.groups[m.ChatID] = append(o.recentGroup(m.ChatID), now)
}

func keyboardOf(rows [][]affiliate.Button) Keyboard {
	var k Keyboard
	for _, row := range rows {
		var r []Button
		for _, b := range row {
			r = append(r, Data(b.Text, b.Data))
		}
		k = append(k, r)
	}
	return k
}

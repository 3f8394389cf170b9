package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
)

// outboxRig is a real store, the real bot edge and a strict fake that enforces Telegram's limits.
type outboxRig struct {
	path  string
	st    *store.Store
	fake  *tgfake.Server
	edge  *bot.Bot
	rate  float64
	extra func(*bot.OutboxConfig)
}

func newOutboxRig(t *testing.T, rate float64) *outboxRig {
	t.Helper()
	lim := tgfake.TelegramLimits
	lim.Global = int(rate)
	fake := tgfake.New(tgfake.WithLimits(lim))
	t.Cleanup(fake.Close)
	edge, err := bot.New(bot.Config{Token: secret.Secret(fake.Token()), APIURL: fake.URL(), Workers: 1, Logger: zerolog.Nop()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &outboxRig{path: filepath.Join(t.TempDir(), "k.db"), fake: fake, edge: edge, rate: rate}
	r.open(t)
	return r
}

func (r *outboxRig) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(r.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.st = st
	t.Cleanup(func() { _ = st.Close() })
}

// start runs a delivery worker until the test ends or stop is called.
func (r *outboxRig) start(t *testing.T) (stop func()) {
	t.Helper()
	cfg := bot.OutboxConfig{Rate: r.rate, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Poll: 20 * time.Millisecond, Logger: zerolog.Nop()}
	if r.extra != nil {
		r.extra(&cfg)
	}
	w := bot.NewOutbox(r.st, r.edge, cfg)
	w.Start(context.Background())
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// enqueue queues one message to each private chat in ids, in pages of 1,000, keyed by round.
func (r *outboxRig) enqueue(t *testing.T, round string, ids []int64) int {
	t.Helper()
	total := 0
	for len(ids) > 0 {
		page := ids[:min(1000, len(ids))]
		ids = ids[len(page):]
		msgs := make([]affiliate.OutboxMessage, len(page))
		for i, id := range page {
			msgs[i] = affiliate.OutboxMessage{Key: fmt.Sprintf("%s:%d", round, id), Kind: "alert", UserID: id, ChatID: id,
				Text: fmt.Sprintf("<b>%s</b> for %d", round, id)}
		}
		n, err := r.st.Enqueue(t.Context(), msgs)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// waitFor polls cond until it holds or the deadline passes; what says what was awaited.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *outboxRig) stats(t *testing.T) affiliate.OutboxStats {
	t.Helper()
	st, err := r.st.OutboxStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// delivered counts the messages Telegram accepted, per chat.
func (r *outboxRig) delivered() map[int64]int {
	out := map[int64]int{}
	for _, c := range r.fake.CallsTo("sendMessage") {
		if c.Status == http.StatusOK {
			out[c.ChatID()]++
		}
	}
	return out
}

func TestOutboxFanOut(t *testing.T) {
	const users = 10000
	r := newOutboxRig(t, 1000)
	ids := make([]int64, users)
	for i := range ids {
		ids[i] = int64(1000 + i)
		r.fake.KnowChat(tgfake.Chat{ID: ids[i]})
	}
	blocked := map[int64]bool{}
	for i := 0; i < users; i += 400 { // 25 users blocked the bot
		id := ids[i]
		blocked[id] = true
		if _, _, err := r.st.RegisterUser(t.Context(), affiliate.User{ID: id, ChatID: id, FirstName: "B", Reachable: true}); err != nil {
			t.Fatal(err)
		}
		r.fake.Inject(tgfake.Fault{ChatID: id, Code: 403, Times: -1})
	}
	for i := 7; i < users; i += 500 { // 20 users behind a flaky gateway: two 5xx, then fine
		r.fake.Inject(tgfake.Fault{ChatID: ids[i], Code: 502, Times: 2})
	}
	for i := 11; i < users; i += 2500 { // Telegram asks to slow down four times
		r.fake.Inject(tgfake.Fault{ChatID: ids[i], Code: 429, RetryAfter: 1})
	}
	if n := r.enqueue(t, "alert:1", ids); n != users {
		t.Fatalf("queued %d, want %d", n, users)
	}
	if n := r.enqueue(t, "alert:1", ids[:2000]); n != 0 {
		t.Fatalf("the same keys again queued %d", n)
	}
	start := time.Now()
	r.start(t)
	waitFor(t, 3*time.Minute, "the fan-out to finish", func() bool { return r.stats(t).Queued == 0 })
	t.Logf("%d messages in %v", users, time.Since(start).Round(time.Millisecond))

	if limited := r.fake.RateLimited(); len(limited) > 0 {
		t.Fatalf("%d calls refused for rate, first %v", len(limited), limited[0])
	}
	got := r.delivered()
	for _, id := range ids {
		want := 1
		if blocked[id] {
			want = 0
		}
		if got[id] != want {
			t.Fatalf("chat %d got %d messages, want %d", id, got[id], want)
		}
	}
	if st := r.stats(t); st.Sent != users-int64(len(blocked)) || st.Dropped != int64(len(blocked)) || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	for id := range blocked {
		if u, err := r.st.GetUser(t.Context(), id); err != nil || u.Reachable {
			t.Fatalf("blocked user %d: %+v %v", id, u, err)
		}
	}

	// The next fan-out skips the unreachable users without asking Telegram.
	calls := len(r.fake.Calls())
	next := ids[:1200]
	if n := r.enqueue(t, "alert:2", next); n != len(next)-3 {
		t.Fatalf("second fan-out queued %d, want %d", n, len(next)-3)
	}
	waitFor(t, time.Minute, "the second fan-out", func() bool { return r.stats(t).Queued == 0 })
	for _, c := range r.fake.Calls()[calls:] {
		if blocked[c.ChatID()] {
			t.Fatalf("an unreachable user was sent to: %v", c)
		}
	}
	if limited := r.fake.RateLimited(); len(limited) > 0 {
		t.Fatalf("%d calls refused for rate", len(limited))
	}
}

func TestOutboxRestartResumes(t *testing.T) {
	r := newOutboxRig(t, 200)
	ids := make([]int64, 600)
	for i := range ids {
		ids[i] = int64(5000 + i)
		r.fake.KnowChat(tgfake.Chat{ID: ids[i]})
	}
	r.enqueue(t, "alert:3", ids)
	stop := r.start(t)
	waitFor(t, time.Minute, "a third of the fan-out", func() bool { return r.stats(t).Sent >= 200 })
	stop()
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
	mid := r.delivered()
	r.open(t)
	st := r.stats(t)
	if st.Queued == 0 || int(st.Sent) != len(mid) {
		t.Fatalf("after the restart: %+v, Telegram has %d", st, len(mid))
	}
	r.start(t)
	waitFor(t, time.Minute, "the rest of the fan-out", func() bool { return r.stats(t).Queued == 0 })
	got := r.delivered()
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("chat %d got %d messages, want exactly 1", id, got[id])
		}
	}
	if limited := r.fake.RateLimited(); len(limited) > 0 {
		t.Fatalf("%d calls refused for rate", len(limited))
	}
}

func TestOutboxFailuresAndMigration(t *testing.T) {
	r := newOutboxRig(t, 100)
	r.extra = func(c *bot.OutboxConfig) { c.MaxAttempts = 3 }
	const (
		flaky    = 801 // 5xx for ever: fails after MaxAttempts
		refused  = 802 // 400: fails at once
		group    = -300
		super    = -1003000
		chatty   = 803 // three messages: one a second
		userGone = 804 // 403 for a user the store does not know
	)
	for _, id := range []int64{flaky, refused, chatty, userGone} {
		r.fake.KnowChat(tgfake.Chat{ID: id})
	}
	r.fake.KnowChat(tgfake.Chat{ID: group, Type: "group", Title: "G"})
	r.fake.KnowChat(tgfake.Chat{ID: super, Type: "supergroup", Title: "G"})
	r.fake.Inject(tgfake.Fault{ChatID: flaky, Code: 500, Times: -1})
	r.fake.Inject(tgfake.Fault{ChatID: refused, Code: 400, Description: "Bad Request: message text is empty"})
	r.fake.Inject(tgfake.Fault{ChatID: group, Code: 400, MigrateToChatID: super})
	r.fake.Inject(tgfake.Fault{ChatID: userGone, Code: 403})
	msgs := []affiliate.OutboxMessage{
		{Key: "f", UserID: flaky, ChatID: flaky, Text: "f"},
		{Key: "r", UserID: refused, ChatID: refused, Text: "r"},
		{Key: "g", ChatID: group, Group: true, Text: "g", Buttons: [][]affiliate.Button{{{Text: "OK", Data: "x:1"}}}},
		{Key: "c1", UserID: chatty, ChatID: chatty, Text: "c1"},
		{Key: "c2", UserID: chatty, ChatID: chatty, Text: "c2"},
		{Key: "c3", UserID: chatty, ChatID: chatty, Text: "c3"},
		{Key: "u", UserID: userGone, ChatID: userGone, Text: "u"},
	}
	if _, err := r.st.Enqueue(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	waitFor(t, 30*time.Second, "every message to finish", func() bool { return r.stats(t).Queued == 0 })
	if st := r.stats(t); st != (affiliate.OutboxStats{Sent: 4, Failed: 2, Dropped: 1}) {
		t.Fatalf("stats %+v", st)
	}
	due, _ := r.st.DueMessages(t.Context(), time.Now().Add(time.Hour), 10)
	if len(due) != 0 {
		t.Fatalf("still due: %+v", due)
	}
	got := r.delivered()
	if got[super] != 1 || got[chatty] != 3 || got[flaky] != 0 {
		t.Fatalf("delivered %v", got)
	}
	if n := len(r.fake.CallsTo("sendMessage")); n != 3+1+2+3+1 { // flaky 3 tries, refused 1, group 2, chatty 3, gone 1
		t.Fatalf("%d sendMessage calls", n)
	}
	sent := r.fake.Sent(super)
	if len(sent) != 1 || len(sent[0].Buttons()) != 1 {
		t.Fatalf("supergroup got %+v", sent)
	}
	if limited := r.fake.RateLimited(); len(limited) > 0 {
		t.Fatalf("refused for rate: %v", limited)
	}
}

package scheduler

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// clock is an injected clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// notices records what the reminder job sends; fail makes the next notice to a user fail once.
type notices struct {
	mu   sync.Mutex
	sent map[int64][]affiliate.Notice
	fail map[int64]bool
}

func (n *notices) Notify(_ context.Context, userID int64, notice affiliate.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail[userID] {
		delete(n.fail, userID)
		return errors.New("telegram is down")
	}
	n.sent[userID] = append(n.sent[userID], notice)
	return nil
}

func (n *notices) count(userID int64) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.sent[userID])
}

type pruned struct {
	mu     sync.Mutex
	before time.Time
}

func (p *pruned) PruneVisitors(_ context.Context, before time.Time) (int, error) {
	p.mu.Lock()
	p.before = before
	p.mu.Unlock()
	return 0, nil
}

func (p *pruned) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	return p.PruneVisitors(ctx, before)
}

func (p *pruned) PruneClicks(ctx context.Context, before time.Time) (int, error) {
	return p.PruneVisitors(ctx, before)
}

func TestRemindRateCuts(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const sellerID = 10
	for _, id := range []int64{sellerID, 21, 22, 23, 24, 25} {
		if _, _, err := st.RegisterUser(ctx, affiliate.User{ID: id, ChatID: id, FirstName: "U", Lang: affiliate.LangID,
			TimeZone: "Asia/Jakarta", Reachable: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplySeller(ctx, sellerID, "Toko"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.DecideApplication(ctx, sellerID, true, 1); err != nil {
		t.Fatal(err)
	}
	product := func(name string, affiliates ...int64) affiliate.Product {
		p, err := st.CreateProduct(ctx, affiliate.Product{SellerID: sellerID, Name: name, Price: 100000, Rate: 2000,
			URL: "https://toko.example.com/" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range affiliates {
			if _, _, err := st.JoinProduct(ctx, a, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	setRate := func(p affiliate.Product, at time.Time, rate affiliate.BasisPoints) {
		clk.set(at)
		if _, _, err := st.UpdateProduct(ctx, p.ID, sellerID, func(p *affiliate.Product) error { p.Rate = rate; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	a := product("a", 21, 25) // cut at t0: kept until t0+30d
	b := product("b", 22)     // cut at t0+5d: kept until t0+35d
	c := product("c", 23)     // cut at t0, raised above the kept rate a day later
	product("d", 24)          // never cut
	setRate(a, t0, 1000)
	setRate(b, t0.Add(5*24*time.Hour), 1000)
	setRate(c, t0, 1000)
	setRate(c, t0.Add(24*time.Hour), 2500)

	n := &notices{sent: map[int64][]affiliate.Notice{}, fail: map[int64]bool{25: true}}
	s := New(time.UTC, zerolog.Nop(), nil)
	if err := s.AddJobs(Jobs{Visitors: &pruned{}, Clicks: &pruned{}, Reminders: st, Notifier: n,
		AttributionWindow: 7 * 24 * time.Hour, Now: clk.now}); err != nil {
		t.Fatal(err)
	}
	run := func(at time.Time) {
		t.Helper()
		clk.set(at)
		if err := s.RunNow(ctx, JobRemindRateCuts); err != nil {
			t.Fatal(err)
		}
	}
	want := func(when string, counts map[int64]int) {
		t.Helper()
		for id, c := range counts {
			if got := n.count(id); got != c {
				t.Errorf("%s: affiliate %d got %d reminders, want %d", when, id, got, c)
			}
		}
	}

	day := 24 * time.Hour
	run(t0.Add(27 * day)) // three days before a's end: too early for everyone
	want("day 27", map[int64]int{21: 0, 22: 0, 23: 0, 24: 0, 25: 0})

	run(t0.Add(29 * day)) // a ends in 24h: 21 is reminded; 25's send fails and is retried next run
	want("day 29", map[int64]int{21: 1, 22: 0, 23: 0, 24: 0, 25: 0})
	if got := n.sent[21][0]; got.Key != "rate_reminder" || len(got.Args) != 4 || got.Args[0] != "a" ||
		got.Args[1] != affiliate.BasisPoints(2000) || got.Args[2] != affiliate.BasisPoints(1000) ||
		!got.Args[3].(time.Time).Equal(t0.Add(30*day)) {
		t.Errorf("reminder notice = %+v", got)
	}

	run(t0.Add(29*day + time.Hour)) // not twice; the failed one goes out now
	want("day 29, again", map[int64]int{21: 1, 22: 0, 23: 0, 25: 1})

	run(t0.Add(31 * day)) // a's kept rate has ended: nothing more
	want("day 31", map[int64]int{21: 1, 22: 0, 23: 0, 25: 1})

	run(t0.Add(33*day + 12*time.Hour)) // b ends in 36h
	run(t0.Add(34 * day))
	want("day 34", map[int64]int{21: 1, 22: 1, 23: 0, 24: 0, 25: 1})
}

func TestPruneJobs(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	visitors, clicks, outbox := &pruned{}, &pruned{}, &pruned{}
	s := New(time.UTC, zerolog.Nop(), nil)
	if err := s.AddJobs(Jobs{Visitors: visitors, Clicks: clicks, Outbox: outbox, Reminders: nil, Notifier: nil,
		AttributionWindow: 7 * 24 * time.Hour, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow(t.Context(), JobPruneVisitors); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow(t.Context(), JobPruneClicks); err != nil {
		t.Fatal(err)
	}
	if err := s.RunNow(t.Context(), JobPruneOutbox); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-OutboxRetention); !outbox.before.Equal(want) {
		t.Errorf("outbox pruned before %v, want %v", outbox.before, want)
	}
	if want := now.Add(-affiliate.UniqueWindow); !visitors.before.Equal(want) {
		t.Errorf("visitors pruned before %v, want %v", visitors.before, want)
	}
	if want := now.Add(-8 * 24 * time.Hour); !clicks.before.Equal(want) {
		t.Errorf("clicks pruned before %v, want %v (window + 1 day)", clicks.before, want)
	}
	if err := PruneClicks(clicks, 0, time.Now)(t.Context()); err == nil {
		t.Error("pruning with no attribution window must refuse rather than delete every click")
	}
}

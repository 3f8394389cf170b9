package postgres

import (
	"sync"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/storetest"
)

// openShared opens n stores on one schema, as n instances of keranjang sharing a database.
func openShared(t *testing.T, n int) []*Store {
	t.Helper()
	url := pgtest.URL(t)
	clock := storetest.NewClock()
	var out []*Store
	for range n {
		s, err := Open(t.Context(), url, store.Options{Now: clock.Now})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	return out
}

// TestTargetStalenessBounded: an instance's cached target does not see another instance's URL edit
// until targetTTL has passed since it read the database, and then does; its own edits show at once.
func TestTargetStalenessBounded(t *testing.T) {
	ss := openShared(t, 2)
	a, b := ss[0], ss[1]
	storetest.Seller(t, a, 10, "Toko")
	storetest.User(t, a, 20, "A")
	p := storetest.Product(t, a, 10, "Kopi", 1000)
	l := storetest.Join(t, a, 20, p.ID)

	var (
		mu      sync.Mutex
		elapsed time.Duration
	)
	a.targets.since = func(time.Time) time.Duration { mu.Lock(); defer mu.Unlock(); return elapsed }
	if got, err := a.Target(t.Context(), l.Code); err != nil || got.URL != p.URL {
		t.Fatalf("target %+v %v", got, err)
	}
	const edited = "https://shop.example.com/edited"
	if _, _, err := b.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.URL = edited; return nil }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	elapsed = targetTTL - time.Millisecond
	mu.Unlock()
	if got, _ := a.Target(t.Context(), l.Code); got.URL != p.URL {
		t.Fatalf("cached target %q, want the cached %q", got.URL, p.URL)
	}
	mu.Lock()
	elapsed = targetTTL
	mu.Unlock()
	if got, _ := a.Target(t.Context(), l.Code); got.URL != edited {
		t.Fatalf("target %q after targetTTL, want %q", got.URL, edited)
	}
	mu.Lock()
	elapsed = 0
	mu.Unlock()
	const own = "https://shop.example.com/own"
	if _, _, err := a.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.URL = own; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Target(t.Context(), l.Code); got.URL != own {
		t.Fatalf("target %q after this instance's edit, want %q", got.URL, own)
	}
}

// TestTargetCacheNoStaleFill: an answer read before an invalidation is not cached.
func TestTargetCacheNoStaleFill(t *testing.T) {
	var c targetCache
	gen := c.generation()
	c.invalidate([]string{"AAAAAAAA"})
	c.put(gen, time.Now(), affiliate.Target{Code: "AAAAAAAA", URL: "https://old.example.com"})
	if _, ok := c.get("AAAAAAAA"); ok {
		t.Fatal("an answer read before the invalidation was cached")
	}
	c.put(c.generation(), time.Now(), affiliate.Target{Code: "AAAAAAAA", URL: "https://new.example.com"})
	if got, ok := c.get("AAAAAAAA"); !ok || got.URL != "https://new.example.com" {
		t.Fatalf("cache %+v %v", got, ok)
	}
}

// TestSharedInstancesJoinAndKeys: instances sharing the database make one link for concurrent joins
// of one pair, and agree on one API key for concurrent first requests.
func TestSharedInstancesJoinAndKeys(t *testing.T) {
	ss := openShared(t, 3)
	storetest.Seller(t, ss[0], 10, "Toko")
	storetest.User(t, ss[0], 20, "A")
	p := storetest.Product(t, ss[0], 10, "Kopi", 1000)

	const per = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[string]bool{}
		keys    = map[string]bool{}
		created int
	)
	for _, s := range ss {
		for range per {
			wg.Go(func() {
				l, c, err := s.JoinProduct(t.Context(), 20, p.ID)
				if err != nil {
					t.Error(err)
					return
				}
				key, err := s.APIKey(t.Context(), 10)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				codes[l.Code], keys[key] = true, true
				if c {
					created++
				}
			})
		}
	}
	wg.Wait()
	if len(codes) != 1 || created != 1 {
		t.Fatalf("%d codes, %d created", len(codes), created)
	}
	if len(keys) != 1 {
		t.Fatalf("%d different API keys", len(keys))
	}
	if links, _ := ss[1].ProductLinks(t.Context(), p.ID); len(links) != 1 {
		t.Fatalf("%d links", len(links))
	}
}

// TestUserColumnsInStep: the users columns that the digest schedule and the counts read follow doc,
// and a digest turned off forgets its handled date.
func TestUserColumnsInStep(t *testing.T) {
	s := openShared(t, 1)[0]
	storetest.User(t, s, 20, "A")
	if _, err := s.pool.Exec(t.Context(), `UPDATE users SET digest_handled = '2024-03-10' WHERE id = 20`); err != nil {
		t.Fatal(err)
	}
	type cols struct {
		seller, reachable bool
		zone              string
		minute            int
		handled           string
	}
	read := func() cols {
		t.Helper()
		var c cols
		err := s.pool.QueryRow(t.Context(), `SELECT seller, reachable, time_zone, digest_minute, digest_handled FROM users WHERE id = 20`).
			Scan(&c.seller, &c.reachable, &c.zone, &c.minute, &c.handled)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	update := func(fn func(u *affiliate.User)) {
		t.Helper()
		if _, err := s.UpdateUser(t.Context(), 20, func(u *affiliate.User) error { fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Moving the digest keeps the handled date (no second digest the same day).
	update(func(u *affiliate.User) { u.DigestMinute, u.TimeZone = 600, "Asia/Makassar" })
	if c := read(); c != (cols{false, true, "Asia/Makassar", 600, "2024-03-10"}) {
		t.Fatalf("after a move: %+v", c)
	}
	update(func(u *affiliate.User) { u.DigestMinute, u.Reachable, u.Seller = -1, false, true })
	if c := read(); c != (cols{true, false, "Asia/Makassar", -1, ""}) {
		t.Fatalf("after turning the digest off: %+v", c)
	}
	update(func(u *affiliate.User) { u.DigestMinute = affiliate.MinutesPerDay })
	if c := read(); c.minute != -1 {
		t.Fatalf("a minute outside the day: %+v", c)
	}
	update(func(u *affiliate.User) { u.DigestMinute = 0 })
	if c := read(); c.minute != 0 || c.handled != "" {
		t.Fatalf("turned on again: %+v", c)
	}
}

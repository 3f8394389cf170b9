package scheduler

import (
	"crypto/rand"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// TestDigest runs the digest job on a real store with an injected clock, triggered by hand: affiliates
// in WIB, WITA and WIT get their digest at their own local hour, covering the previous day before noon
// and the day so far after it; a second run, a restart and a run after /digestnow send nothing twice;
// idle users and users with the digest off get nothing; a failed send is tried again; and a digest
// missed between runs goes out at the next one.
func TestDigest(t *testing.T) {
	ctx := t.Context()
	utc := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	clk := &clock{t: utc(1, 0, 0)}
	path := filepath.Join(t.TempDir(), "k.db")
	st, err := store.Open(path, store.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()

	const sellerID = 10
	users := []struct {
		id     int64
		zone   string
		minute int
	}{
		{sellerID, "Asia/Jakarta", -1},
		{1, "Asia/Jakarta", 21 * 60},    // WIB 21:00 = 14:00 UTC
		{2, "Asia/Makassar", 21 * 60},   // WITA 21:00 = 13:00 UTC
		{3, "Asia/Jayapura", 21 * 60},   // WIT 21:00 = 12:00 UTC
		{4, "Asia/Jakarta", 8 * 60},     // WIB 08:00 = 01:00 UTC: yesterday's digest
		{5, "Asia/Jakarta", 21 * 60},    // no activity
		{6, "Asia/Jakarta", -1},         // digest off
		{7, "Asia/Jakarta", 23 * 60},    // reached by /digestnow before their time
		{8, "Asia/Jakarta", 20*60 + 30}, // between two runs of the same hour
	}
	for _, u := range users {
		if _, _, err := st.RegisterUser(ctx, affiliate.User{ID: u.id, ChatID: u.id, FirstName: "U", Lang: affiliate.LangID,
			TimeZone: u.zone, DigestMinute: u.minute, Reachable: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplySeller(ctx, sellerID, "Toko"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.DecideApplication(ctx, sellerID, true, 1); err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProduct(ctx, affiliate.Product{SellerID: sellerID, Name: "Kopi", Price: 100000, Rate: 1000,
		URL: "https://toko.example.com/kopi"})
	if err != nil {
		t.Fatal(err)
	}
	links := map[int64]affiliate.Link{}
	for _, id := range []int64{1, 2, 3, 4, 5, 6, 7, 8} {
		l, _, err := st.JoinProduct(ctx, id, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		links[id] = l
	}
	n := 0
	click := func(id int64, at time.Time) {
		t.Helper()
		n++
		l := links[id]
		cid, err := affiliate.NewClickID(at, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		c := affiliate.Click{ID: cid, Code: l.Code, ProductID: l.ProductID,
			AffiliateID: id, SellerID: sellerID, At: at, Visitor: uint64(n)}
		if _, err := st.RecordClicks(ctx, []affiliate.Click{c}); err != nil {
			t.Fatal(err)
		}
	}
	click(4, utc(1, 5, 0))  // WIB 1 March 12:00: in user 4's morning digest of 2 March
	click(4, utc(2, 0, 30)) // WIB 2 March 07:30: not in it
	for _, id := range []int64{1, 2, 3, 6, 7, 8} {
		click(id, utc(2, 3, 0)) // WIB 10:00, WITA 11:00, WIT 12:00 on 2 March
	}
	click(1, utc(1, 16, 0)) // WIB 1 March 23:00: the day before, not in user 1's digest
	click(1, utc(2, 10, 0)) // WIB 2 March 17:00
	clk.set(utc(2, 11, 30))
	if _, _, err := st.RecordOrder(ctx, affiliate.OrderReport{SellerID: sellerID, OrderID: "o1", LinkCode: links[1].Code,
		Amount: 150000, Status: affiliate.OrderPending, OccurredAt: utc(2, 11, 0)}); err != nil {
		t.Fatal(err)
	}

	sent := &notices{sent: map[int64][]affiliate.Notice{}, fail: map[int64]bool{}}
	var s *Scheduler
	var d *Digests
	start := func() {
		s = New(time.UTC, zerolog.Nop(), nil)
		d = NewDigests(st, sent, time.UTC, clk.now)
		if err := s.AddJobs(Jobs{Visitors: &pruned{}, Clicks: &pruned{}, Reminders: st, Notifier: sent, Digests: d,
			AttributionWindow: 7 * 24 * time.Hour, Now: clk.now}); err != nil {
			t.Fatal(err)
		}
	}
	start()
	run := func(at time.Time) {
		t.Helper()
		clk.set(at)
		if err := s.RunNow(ctx, JobDigest); err != nil {
			t.Fatal(err)
		}
	}
	want := func(when string, counts map[int64]int) {
		t.Helper()
		for id := int64(1); id <= 8; id++ {
			if got := sent.count(id); got != counts[id] {
				t.Errorf("%s: user %d got %d digests, want %d", when, id, got, counts[id])
			}
		}
	}
	last := func(id int64) affiliate.Notice {
		sent.mu.Lock()
		defer sent.mu.Unlock()
		l := sent.sent[id]
		return l[len(l)-1]
	}
	check := func(id int64, key, date string, day time.Time, clicks, orders int64) {
		t.Helper()
		got := last(id)
		if got.Key != key || got.Kind != "digest" || got.ID != "digest:"+strconv.FormatInt(id, 10)+":"+date {
			t.Errorf("user %d: notice %s kind %s id %s, want %s digest:%d:%s", id, got.Key, got.Kind, got.ID, key, id, date)
		}
		if len(got.Args) != 17 || !time.Time(got.Args[0].(affiliate.CalendarDay)).Equal(day) ||
			got.Args[1] != clicks || got.Args[3] != orders {
			t.Errorf("user %d: args %v, want day %v, %d clicks, %d orders", id, got.Args, day, clicks, orders)
		}
	}
	wib, _ := time.LoadLocation("Asia/Jakarta")
	wita, _ := time.LoadLocation("Asia/Makassar")
	wit, _ := time.LoadLocation("Asia/Jayapura")

	run(utc(2, 0, 59)) // WIB 07:59: nobody yet
	want("07:59 WIB", nil)
	run(utc(2, 1, 0)) // WIB 08:00: user 4, the previous day
	want("08:00 WIB", map[int64]int{4: 1})
	check(4, "digest.yesterday", "2026-03-02", time.Date(2026, 3, 1, 0, 0, 0, 0, wib), 1, 0)

	run(utc(2, 12, 0)) // WIT 21:00
	want("21:00 WIT", map[int64]int{4: 1, 3: 1})
	check(3, "digest.today", "2026-03-02", time.Date(2026, 3, 2, 0, 0, 0, 0, wit), 1, 0)

	sent.mu.Lock()
	sent.fail[2] = true // Telegram is down for user 2's first try
	sent.mu.Unlock()
	run(utc(2, 13, 0)) // WITA 21:00
	want("21:00 WITA, failed", map[int64]int{4: 1, 3: 1})
	run(utc(2, 13, 10)) // tried again; WIB 20:10 is nobody's time
	want("21:10 WITA", map[int64]int{4: 1, 3: 1, 2: 1})
	check(2, "digest.today", "2026-03-02", time.Date(2026, 3, 2, 0, 0, 0, 0, wita), 1, 0)

	run(utc(2, 13, 40)) // WIB 20:40: user 8's 20:30 came between two runs of the hour
	want("20:40 WIB", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1})

	run(utc(2, 14, 0)) // WIB 21:00: user 1 with an order; 5 is idle, 6 is off
	want("21:00 WIB", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1, 1: 1})
	check(1, "digest.today", "2026-03-02", time.Date(2026, 3, 2, 0, 0, 0, 0, wib), 2, 1)
	if got := last(1); got.Args[5] != affiliate.Rupiah(150000) || got.Args[6] != affiliate.Rupiah(15000) || got.Args[9] != "Kopi" {
		t.Errorf("user 1: GMV, commission or best product wrong: %v", got.Args)
	}

	run(utc(2, 14, 5)) // the same day again: nothing
	want("21:05 WIB", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1, 1: 1})

	// A restart: the store reopened, the job's memory gone; still nothing twice.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = store.Open(path, store.Options{Now: clk.now}); err != nil {
		t.Fatal(err)
	}
	start()
	run(utc(2, 14, 10))
	want("after a restart", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1, 1: 1})

	// /digestnow: everyone with the digest on who has not had today's, whatever their time: user 7 only.
	r, err := d.RunAll(ctx)
	if err != nil || r.Queued != 1 {
		t.Fatalf("run all: %+v %v", r, err)
	}
	want("/digestnow", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1, 1: 1, 7: 1})
	if r, err = d.RunAll(ctx); err != nil || r.Queued != 0 {
		t.Fatalf("run all again: %+v %v", r, err)
	}
	run(utc(2, 16, 0)) // user 7's own time: already had it
	want("23:00 WIB", map[int64]int{4: 1, 3: 1, 2: 1, 8: 1, 1: 1, 7: 1})

	// The next local day (WIB 3 March 08:00): user 4's digest of 2 March, with its one click.
	run(utc(3, 1, 0))
	want("08:00 WIB next day", map[int64]int{4: 2, 3: 1, 2: 1, 8: 1, 1: 1, 7: 1})
	check(4, "digest.yesterday", "2026-03-03", time.Date(2026, 3, 2, 0, 0, 0, 0, wib), 1, 0)
}

package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/store/storetest"
)

// instanceWork is what the instances of TestInstancesShareOneDatabase do: per instance, batches of
// clicks and runs of order reports.
type instanceWork struct {
	batches [][][]affiliate.Click         // instance → batch → clicks
	orders  [][][]affiliate.OrderReport   // instance → run (one ImportOrders, or RecordOrder each) → reports
	imports [][]bool                      // instance → run: through ImportOrders
	links   []affiliate.Link              // the links the work is about
	now     time.Time                     // the clock of every store
	seller  int64                         // the seller of every product
	visits  map[[2]string]map[string]bool // (code, visitor) → click ids of non-bot clicks
}

// TestInstancesShareOneDatabase runs several instances of keranjang on one database: each goroutine has
// its own Store (its own pool), and all of them record overlapping batches of clicks of the same visitors
// and links (the same click ids in several instances' batches, as when a batch is retried elsewhere)
// and reports of the same orders (first reports, settlements and refunds of every order from every
// instance, by RecordOrder and by ImportOrders) at once. The work is chosen so that its outcome does not
// depend on the order the instances' transactions take: every (link, visitor) clicks within one hour
// (exactly one of its clicks is unique, whichever comes first), and every order ends refunded with the
// largest refund reported. Then every aggregate, counter, visitor mark and order must be what one
// instance recording the same batches one after another makes: nothing lost, nothing counted twice.
func TestInstancesShareOneDatabase(t *testing.T) {
	pgtest.Base(t)
	const instances = 4
	work := newInstanceWork(instances)

	// One instance, one batch after another.
	seqURL := pgtest.URL(t)
	seq := openInstance(t, seqURL, work.now, 1)
	setupInstanceFixtures(t, seq, work)
	for i := range instances {
		for _, b := range work.batches[i] {
			storetest.Record(t, seq, b...)
		}
	}
	for i := range instances {
		for r := range work.orders[i] {
			if err := sendOrders(t.Context(), seq, work, i, r); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Several instances at once.
	url := pgtest.URL(t)
	first := openInstance(t, url, work.now, 1)
	setupInstanceFixtures(t, first, work)
	var wg sync.WaitGroup
	errs := make(chan error, 2*instances)
	for i := range instances {
		s := openInstance(t, url, work.now, uint64(10+i))
		wg.Go(func() {
			for _, b := range work.batches[i] {
				if _, err := s.RecordClicks(t.Context(), b); err != nil {
					errs <- fmt.Errorf("instance %d: record clicks: %w", i, err)
					return
				}
			}
		})
		s2 := openInstance(t, url, work.now, uint64(20+i))
		wg.Go(func() {
			for r := range work.orders[i] {
				if err := sendOrders(t.Context(), s2, work, i, r); err != nil {
					errs <- fmt.Errorf("instance %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	want, got := dumpCounts(t, seq), dumpCounts(t, first)
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s after concurrent instances:\n%s\nwant (one instance):\n%s", name, got[name], want[name])
		}
	}
	// Exactly one click of every (link, visitor) is unique, and the stored flags agree with the counts.
	rows, err := first.Pool().Query(t.Context(), `SELECT code, visitor, count(*) FILTER (WHERE is_unique), count(*) FROM clicks GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var code string
	var visitor, uniques, clicks int64
	groups := 0
	_, err = pgx.ForEachRow(rows, []any{&code, &visitor, &uniques, &clicks}, func() error {
		groups++
		if uniques != 1 {
			t.Errorf("link %s visitor %d: %d unique clicks of %d", code, visitor, uniques, clicks)
		}
		if want := len(work.visits[[2]string{code, fmt.Sprint(uint64(visitor))}]); int64(want) != clicks {
			t.Errorf("link %s visitor %d: %d clicks logged, want %d", code, visitor, clicks, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if groups != len(work.visits) {
		t.Errorf("%d (link, visitor) pairs logged, want %d", groups, len(work.visits))
	}
}

// newInstanceWork makes the work of TestInstancesShareOneDatabase; the links are filled in by
// setupInstanceFixtures.
func newInstanceWork(instances int) *instanceWork {
	w := &instanceWork{now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC), seller: 10}
	w.batches = make([][][]affiliate.Click, instances)
	w.orders = make([][][]affiliate.OrderReport, instances)
	w.imports = make([][]bool, instances)
	return w
}

// setupInstanceFixtures creates the seller, products, affiliates and links on s (the same codes on
// every database, since s's randomness is seeded) and, the first time, the work on them.
func setupInstanceFixtures(t *testing.T, s storetest.Backend, w *instanceWork) {
	t.Helper()
	storetest.Seller(t, s, w.seller, "Toko")
	var links []affiliate.Link
	for p := range 3 {
		prod := storetest.Product(t, s, w.seller, fmt.Sprint("P", p), affiliate.BasisPoints(500*(p+1)))
		for a := range 2 {
			aff := int64(20 + 10*p + a)
			storetest.User(t, s, aff, fmt.Sprint("A", aff))
			links = append(links, storetest.Join(t, s, aff, prod.ID))
		}
	}
	if w.links != nil {
		for i := range links {
			if links[i].Code != w.links[i].Code {
				t.Fatalf("link %d has code %s here, %s on the other database", i, links[i].Code, w.links[i].Code)
			}
		}
		return
	}
	w.links = links
	rng := rand.New(rand.NewPCG(21, 22))

	// A pool of clicks: every (link, visitor) clicks a few times within one hour of its own.
	w.visits = map[[2]string]map[string]bool{}
	var pool []affiliate.Click
	n := 0
	for li, l := range links {
		for v := range 12 {
			hour := w.now.Add(-time.Duration(li*12+v) * time.Hour).Truncate(time.Hour)
			for range 1 + rng.IntN(4) {
				n++
				at := hour.Add(time.Duration(rng.Int64N(int64(time.Hour))))
				c := storetest.Click(l, fmt.Sprintf("c%06d", n), at, uint64(1000+v))
				pool = append(pool, c)
				key := [2]string{l.Code, fmt.Sprint(c.Visitor)}
				if w.visits[key] == nil {
					w.visits[key] = map[string]bool{}
				}
				w.visits[key][c.ID] = true
			}
		}
	}
	// Each instance records batches drawn from the pool (so the same clicks go to several instances at
	// once), plus bot visits, and a batch it retried at once.
	for i := range w.batches {
		for b := range 25 {
			batch := make([]affiliate.Click, 0, 40)
			for range 5 + rng.IntN(35) {
				batch = append(batch, pool[rng.IntN(len(pool))])
			}
			for range rng.IntN(3) {
				bot := storetest.Click(links[rng.IntN(len(links))], "", w.now.Add(-time.Duration(rng.IntN(50))*time.Hour), 7)
				bot.Bot = true
				batch = append(batch, bot)
			}
			rng.Shuffle(len(batch), func(x, y int) { batch[x], batch[y] = batch[y], batch[x] })
			w.batches[i] = append(w.batches[i], batch)
			if b%8 == 0 {
				w.batches[i] = append(w.batches[i], batch)
			}
		}
	}
	// The whole pool once, so that every pair has its clicks logged whatever the draws were.
	for i := 0; i < len(pool); i += 100 {
		w.batches[i/100%len(w.batches)] = append(w.batches[i/100%len(w.batches)], pool[i:min(i+100, len(pool))])
	}

	// Orders: each instance reports every order: the first report, the settlement and a refund of its
	// own size, in runs of a few orders, by RecordOrder or by ImportOrders.
	const orders = 24
	for i := range w.orders {
		perm := rng.Perm(orders)
		for start := 0; start < orders; start += 4 {
			var run []affiliate.OrderReport
			for _, o := range perm[start : start+4] {
				id := fmt.Sprintf("o%02d", o)
				l := links[o%len(links)]
				amount := affiliate.Rupiah(10000 * (o + 1))
				at := w.now.Add(-time.Duration(o) * time.Hour)
				run = append(run,
					affiliate.OrderReport{SellerID: w.seller, OrderID: id, LinkCode: l.Code, Amount: amount, Status: affiliate.OrderPending, OccurredAt: at},
					affiliate.OrderReport{SellerID: w.seller, OrderID: id, Status: affiliate.OrderSettled},
					affiliate.OrderReport{SellerID: w.seller, OrderID: id, Status: affiliate.OrderRefunded, RefundedAmount: amount / 10 * affiliate.Rupiah(1+i)})
			}
			w.orders[i] = append(w.orders[i], run)
			w.imports[i] = append(w.imports[i], rng.IntN(2) == 0)
		}
	}
}

// sendOrders sends run r of instance i to s. Conflicts (a settlement after a refund, a smaller refund
// after a larger one) are expected: which of them happen depends on the order of the instances.
func sendOrders(ctx context.Context, s storetest.Backend, w *instanceWork, i, r int) error {
	run := w.orders[i][r]
	if w.imports[i][r] {
		res, err := s.ImportOrders(ctx, w.seller, run)
		if err != nil {
			return fmt.Errorf("import orders: %w", err)
		}
		for _, x := range res {
			if x.Err != nil && affiliate.ErrorCode(x.Err) != affiliate.EConflict {
				return fmt.Errorf("import row %d: %w", x.Row, x.Err)
			}
		}
		return nil
	}
	for _, rep := range run {
		if _, _, err := s.RecordOrder(ctx, rep); err != nil && affiliate.ErrorCode(err) != affiliate.EConflict {
			return fmt.Errorf("record order %+v: %w", rep, err)
		}
	}
	return nil
}

// openInstance opens a store on url with a fixed clock and randomness seeded with seed.
func openInstance(t testing.TB, url string, now time.Time, seed uint64) *postgres.Store {
	t.Helper()
	var key [32]byte
	key[0] = byte(seed)
	s, err := postgres.Open(t.Context(), url, store.Options{Now: func() time.Time { return now }, Rand: rand.NewChaCha8(key)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dumpCounts renders every table of counts of s's database (and the orders and the click log without
// its unique flags), each in key order.
func dumpCounts(t *testing.T, s *postgres.Store) map[string]string {
	t.Helper()
	queries := map[string]string{
		"agg_link":       `SELECT * FROM agg_link ORDER BY code, hour`,
		"agg_affiliate":  `SELECT * FROM agg_affiliate ORDER BY affiliate_id, hour`,
		"agg_product":    `SELECT * FROM agg_product ORDER BY product_id, hour`,
		"agg_seller":     `SELECT * FROM agg_seller ORDER BY seller_id, hour`,
		"link_totals":    `SELECT * FROM link_totals ORDER BY code`,
		"click_counters": `SELECT sum(n_clicks), sum(n_bots), sum(n_orphans) FROM click_counters`,
		"click_visitors": `SELECT code, visitor, last_ns FROM click_visitors ORDER BY code, visitor`,
		"clicks":         `SELECT id, code, product_id, affiliate_id, seller_id, at_ns, visitor FROM clicks ORDER BY id`,
		"orders":         `SELECT seller_id, order_id, occurred_sec, occurred_at, doc FROM orders ORDER BY seller_id, order_id`,
	}
	out := map[string]string{}
	for name, q := range queries {
		rows, err := s.Pool().Query(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b strings.Builder
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Len() == 0 {
			t.Fatalf("%s is empty: the test checks nothing", name)
		}
		out[name] = b.String()
	}
	return out
}

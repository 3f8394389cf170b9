package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// BenchmarkRecordOrderParallel records new orders from 32 goroutines, each durable before its call
// returns: group_commit is RecordOrder (DB.Batch shares one commit and fsync among concurrent calls),
// fsync_per_order the same work in a plain db.Update per order, one fsync each, as the baseline.
//
//	go test -run '^$' -bench RecordOrderParallel -benchtime 5s ./store/
func BenchmarkRecordOrderParallel(b *testing.B) {
	const senders = 32
	run := func(b *testing.B, record func(s *Store, r affiliate.OrderReport) error) {
		f, links := benchLinks(b, 100)
		var seq atomic.Int64
		now := f.clock.Now()
		b.SetParallelism(max(1, senders/runtime.GOMAXPROCS(0)))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := seq.Add(1)
				r := affiliate.OrderReport{SellerID: 1, OrderID: "ORD-" + strconv.FormatInt(n, 10), LinkCode: links[n%int64(len(links))].Code,
					Amount: affiliate.Rupiah(10000 + n%1000*100), Status: affiliate.OrderPending, OccurredAt: now}
				if err := record(f.s, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	}
	b.Run("group_commit", func(b *testing.B) {
		run(b, func(s *Store, r affiliate.OrderReport) error {
			_, _, err := s.RecordOrder(b.Context(), r)
			return err
		})
	})
	b.Run("fsync_per_order", func(b *testing.B) {
		run(b, func(s *Store, r affiliate.OrderReport) error {
			now := s.now()
			if err := affiliate.ValidateOrderReport(r, now); err != nil {
				return err
			}
			return s.db.Update(func(tx *bolt.Tx) error {
				_, _, err := s.applyOrder(tx, r, now)
				return err
			})
		})
	})
}

// The order fixture: one seller with 10 products, 10,000 affiliates with one link each, active three
// hours a day (clicks every time, orders in the same hours) over the 30 days before reportEnd, and n
// orders: settled, pending, partly refunded and cancelled. It is written directly in large transactions
// (orders in id order, which is also time order, so every bucket is appended to) and kept in
// os.TempDir under a name with orderFixtureVersion, so later runs reuse it; change the version when the
// layout or the fixture changes.
var orderFixtureVersion = fmt.Sprintf("v1-schema%d", SchemaLatest)

const orderFixtureAffiliates = 10_000

func orderFixturePath(n int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("keranjang-bench-orders-%s-%d.db", orderFixtureVersion, n))
}

// openOrderFixture opens the fixture with n orders, building it first if it is not cached.
func openOrderFixture(b *testing.B, n int) *Store {
	b.Helper()
	path := orderFixturePath(n)
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		if err := buildOrderFixture(path, n, orderFixtureAffiliates); err != nil {
			b.Fatalf("build fixture: %v", err)
		}
		b.Logf("fixture with %d orders built in %v: %s", n, time.Since(start).Round(time.Millisecond), path)
	}
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

type benchOrder struct {
	at     time.Time
	aff    int
	amount affiliate.Rupiah
	status affiliate.OrderStatus
	refund affiliate.Rupiah
}

func buildOrderFixture(path string, n, affiliates int) error {
	tmp := path + ".building"
	_ = os.Remove(tmp)
	s, err := Open(tmp, Options{})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close(); _ = os.Remove(tmp) }()
	created := reportEnd.AddDate(0, 0, -60)
	first := hourOf(reportEnd.AddDate(0, 0, -reportDays))
	activeHours := [3]uint32{3, 11, 14}
	code, affID, productOf := reportCode, reportAffiliate, reportProductOf

	err = s.db.Update(func(tx *bolt.Tx) error { return writeReportCatalogue(tx, affiliates, created) })
	if err != nil {
		return err
	}

	// The orders, in time order, and every aggregate they and the clicks make.
	rng := rand.New(rand.NewPCG(7, 8))
	orders := make([]benchOrder, n)
	for i := range orders {
		h := first + uint32(rng.IntN(reportDays)*24) + activeHours[rng.IntN(len(activeHours))]
		o := benchOrder{
			at:     time.Unix(int64(h)*3600+rng.Int64N(3600), 0).UTC(),
			aff:    rng.IntN(affiliates),
			amount: affiliate.Rupiah(10_000 + rng.IntN(490)*1000),
		}
		switch k := rng.IntN(20); {
		case k < 12:
			o.status = affiliate.OrderSettled
		case k < 18:
			o.status = affiliate.OrderPending
		case k < 19:
			o.status, o.refund = affiliate.OrderRefunded, o.amount/3
		default:
			o.status = affiliate.OrderCancelled
		}
		orders[i] = o
	}
	slices.SortFunc(orders, func(x, y benchOrder) int { return x.at.Compare(y.at) })

	aggLink := map[string]affiliate.Counts{}
	aggAff := map[string]affiliate.Counts{}
	aggProduct := map[string]affiliate.Counts{}
	aggSeller := map[string]affiliate.Counts{}
	totals := map[string]affiliate.Counts{}
	addAll := func(i int, hour uint32, c affiliate.Counts) {
		lk := string(binary.BigEndian.AppendUint32([]byte(code(i)), hour))
		ak := idHourKey(uint64(affID(i)), hour)
		pk := idHourKey(productOf(i), hour)
		sk := idHourKey(reportSeller, hour)
		add(aggLink, lk, c)
		add(aggAff, string(ak[:]), c)
		add(aggProduct, string(pk[:]), c)
		add(aggSeller, string(sk[:]), c)
		add(totals, code(i), c)
	}
	for i := range affiliates {
		for d := range reportDays {
			for _, h := range activeHours {
				c := int64(rng.IntN(20) + 1)
				addAll(i, first+uint32(d*24)+h, affiliate.Counts{Clicks: c, UniqueClicks: c / 2, BotVisits: 1})
			}
		}
	}
	const perTx = 100_000
	for start := 0; start < len(orders); start += perTx {
		err := s.db.Update(func(tx *bolt.Tx) error {
			ob, ib := tx.Bucket(bOrders), tx.Bucket(bSellerOrders)
			ob.FillPercent, ib.FillPercent = 1, 1
			for j := start; j < min(start+perTx, len(orders)); j++ {
				bo := orders[j]
				o := affiliate.Order{SellerID: reportSeller, OrderID: fmt.Sprintf("ORD%08d", j), LinkCode: code(bo.aff), ProductID: productOf(bo.aff),
					AffiliateID: affID(bo.aff), Amount: bo.amount, Status: bo.status, Rate: 1000, Commission: affiliate.Commission(bo.amount, 1000),
					OccurredAt: bo.at, CreatedAt: bo.at, UpdatedAt: bo.at}
				if bo.status == affiliate.OrderRefunded {
					o.RefundedAmount = bo.refund
					o.Reversed = affiliate.Reversal(o.Commission, bo.refund, bo.amount)
				}
				if err := putJSON(ob, orderKey(o.SellerID, o.OrderID), o); err != nil {
					return err
				}
				if err := ib.Put(sellerOrderKey(o.SellerID, o.OccurredAt, o.OrderID), nil); err != nil {
					return err
				}
				addAll(bo.aff, hourOf(bo.at), affiliate.Counts{OrderCounts: o.Counts()})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, agg := range []struct {
		bucket []byte
		m      map[string]affiliate.Counts
	}{{bAggLink, aggLink}, {bAggAff, aggAff}, {bAggProduct, aggProduct}, {bAggSeller, aggSeller}, {bTotals, totals}} {
		if err := writeSorted(s.db, agg.bucket, agg.m); err != nil {
			return err
		}
	}
	if err := s.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSorted writes count records in key order, 200,000 a transaction, with full pages.
func writeSorted(db *bolt.DB, bucket []byte, m map[string]affiliate.Counts) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(x, y) })
	const perTx = 200_000
	for start := 0; start < len(keys); start += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			b.FillPercent = 1
			for _, k := range keys[start:min(start+perTx, len(keys))] {
				if err := b.Put([]byte(k), appendCounts(nil, m[k])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var orderFixtureSizes = []int{100_000, 1_000_000}

// BenchmarkEarningsMonth is /earnings month: one affiliate's counts from the first of the month to the
// end of the fixture, with 100,000 and with 1,000,000 orders in the database.
//
//	go test -run '^$' -bench 'EarningsMonth|SellerReport30d' ./store/
func BenchmarkEarningsMonth(b *testing.B) {
	for _, n := range orderFixtureSizes {
		b.Run("orders="+strconv.Itoa(n), func(b *testing.B) {
			s := openOrderFixture(b, n)
			from := time.Date(reportEnd.Year(), reportEnd.Month()-1, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c, err := s.AffiliateCounts(b.Context(), int64(1000+i%orderFixtureAffiliates), from, reportEnd)
				if err != nil {
					b.Fatal(err)
				}
				if c.Clicks == 0 {
					b.Fatalf("no clicks: %+v", c)
				}
			}
		})
	}
}

// BenchmarkSellerReport30d is the seller's 30-day report (AffiliateReport over all products: 10,000
// rows), with 100,000 and with 1,000,000 orders in the database.
func BenchmarkSellerReport30d(b *testing.B) {
	for _, n := range orderFixtureSizes {
		b.Run("orders="+strconv.Itoa(n), func(b *testing.B) {
			s := openOrderFixture(b, n)
			from := reportEnd.AddDate(0, 0, -reportDays)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rows, err := s.AffiliateReport(b.Context(), reportSeller, 0, from, reportEnd)
				if err != nil {
					b.Fatal(err)
				}
				if len(rows) != orderFixtureAffiliates {
					b.Fatalf("%d rows", len(rows))
				}
			}
		})
	}
}

// TestOrderFixtureConsistent builds a small order fixture the way the benchmarks do and checks that its
// aggregates are what RecordOrder's would be: the sum over stored orders, per seller.
func TestOrderFixtureConsistent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	if err := buildOrderFixture(path, 2000, 50); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var want affiliate.OrderCounts
	var after affiliate.OrderCursor
	n := 0
	for {
		page, err := s.SellerOrders(t.Context(), reportSeller, time.Time{}, time.Time{}, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			want.Add(o.Counts())
			n++
		}
		if len(page) < 500 {
			break
		}
		after = affiliate.OrderCursor{At: page[len(page)-1].OccurredAt, OrderID: page[len(page)-1].OrderID}
	}
	got, err := s.SellerCounts(t.Context(), reportSeller, time.Time{}, time.Time{})
	if err != nil || n != 2000 || got.OrderCounts != want {
		t.Fatalf("%d orders; seller counts %+v %v, want %+v", n, got.OrderCounts, err, want)
	}
	if st, err := s.Stats(t.Context()); err != nil || st.Orders != 2000 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/store/storetest"
)

// The digest fixture, the same as the bbolt backend's (store/digest_bench_test.go): 100,000 affiliates
// in WIB with the digest at 21:00, each with two links among 10 products of one seller, and clicks on
// digestDay spread over its hours, clicksPer per affiliate. Users, products, links and the digest
// schedule are loaded by Import from a dump made here (COPY); clicks go through RecordClicks in batches of
// 10,000, as the bbolt fixture's do. The schema is the benchmark's own (pgtest.URL) and is dropped at its
// end.
const digestAffiliates = 100_000

var digestDay = time.Date(2024, 3, 20, 0, 0, 0, 0, time.FixedZone("WIB", 7*3600)) // local midnight

func openDigestFixture(b *testing.B, clicksPer int) *postgres.Store {
	b.Helper()
	s, err := postgres.Open(b.Context(), pgtest.URL(b), store.Options{Now: func() time.Time { return digestDay.Add(23 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	start := time.Now()
	if err := buildDigestFixture(b.Context(), s, clicksPer); err != nil {
		b.Fatalf("build fixture: %v", err)
	}
	b.Logf("fixture with %d clicks built in %v", digestAffiliates*clicksPer, time.Since(start).Round(time.Millisecond))
	return s
}

func buildDigestFixture(ctx context.Context, s *postgres.Store, clicksPer int) error {
	const products = 10
	created := digestDay.AddDate(0, 0, -30).UTC()
	affID := func(i int) int64 { return int64(1000 + i) }
	code := func(i, j int) string { return fmt.Sprintf("D%06d%d", i, j) }
	productOf := func(i, j int) uint64 { return uint64((i+j*3)%products + 1) }

	var buf bytes.Buffer
	w, err := dump.NewWriter(&buf, dump.Header{Source: "bench"})
	if err != nil {
		return err
	}
	items := []dump.Item{dump.Meta{Salt: bytes.Repeat([]byte{7}, 32)}}
	for _, name := range dump.Sequences() {
		next := uint64(1)
		if name == dump.SeqProducts {
			next = products + 1
		}
		items = append(items, dump.Sequence{Name: name, Next: next})
	}
	items = append(items,
		dump.User{User: affiliate.User{ID: 1, ChatID: 1, FirstName: "Seller", Lang: affiliate.LangID, Seller: true, ShopName: "Toko",
			DigestMinute: -1, CreatedAt: created, UpdatedAt: created}})
	for i := range digestAffiliates {
		items = append(items, dump.User{User: affiliate.User{ID: affID(i), ChatID: affID(i), FirstName: "A", Lang: affiliate.LangID,
			TimeZone: "Asia/Jakarta", DigestMinute: affiliate.DefaultDigestMinute, Reachable: true, CreatedAt: created, UpdatedAt: created}})
	}
	for i := range digestAffiliates {
		items = append(items, dump.Digest{Zone: "Asia/Jakarta", Minute: affiliate.DefaultDigestMinute, UserID: affID(i)})
	}
	for i := range products {
		items = append(items, dump.Product{Product: affiliate.Product{ID: uint64(i + 1), SellerID: 1, Name: fmt.Sprintf("Produk %d", i),
			Price: 100000, Rate: 1000, URL: "https://shop.example.com/p", Status: affiliate.ProductActive, CreatedAt: created, UpdatedAt: created}})
	}
	for i := range digestAffiliates {
		for j := range 2 {
			items = append(items, dump.Link{Link: affiliate.Link{Code: code(i, j), AffiliateID: affID(i), ProductID: productOf(i, j),
				SellerID: 1, CreatedAt: created}})
		}
	}
	for _, it := range items {
		if err := w.Write(it); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	r, err := dump.NewReader(&buf)
	if err != nil {
		return err
	}
	if _, err := s.Import(ctx, r); err != nil {
		return err
	}

	batch := make([]affiliate.Click, 0, 10_000)
	flush := func() error {
		_, err := s.RecordClicks(ctx, batch)
		batch = batch[:0]
		return err
	}
	n := 0
	for i := range digestAffiliates {
		for k := range clicksPer {
			n++
			j := k % 2
			at := digestDay.Add(time.Duration(n%(20*3600)) * time.Second).UTC()
			batch = append(batch, affiliate.Click{ID: fmt.Sprintf("%016d", n), Code: code(i, j), ProductID: productOf(i, j),
				AffiliateID: affID(i), SellerID: 1, At: at, Visitor: uint64(n)})
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	// Statistics for the planner, as autovacuum would gather them soon after such a load.
	_, err = s.Pool().Exec(ctx, `ANALYZE`)
	return err
}

// BenchmarkDigestRun times one full digest run at 21:00 WIB over 100,000 affiliates who all have
// activity, as the bbolt backend's BenchmarkDigestRun does: every one is due, read from the schedule,
// built from aggregates and handed to a notifier that only counts; the handled marks are cleared before
// each iteration (untimed), so every user is due again.
//
//	KERANJANG_TEST_POSTGRES=... go test -run '^$' -bench DigestRun -benchtime 3x ./store/ ./store/postgres/
func BenchmarkDigestRun(b *testing.B) {
	for _, clicksPer := range []int{3, 30} {
		b.Run(fmt.Sprintf("clicks=%d", digestAffiliates*clicksPer), func(b *testing.B) {
			s := openDigestFixture(b, clicksPer)
			storetest.BenchDigestRun(b, s, digestDay.Add(21*time.Hour), digestAffiliates, func() error {
				_, err := s.Pool().Exec(b.Context(), `UPDATE users SET digest_handled = '' WHERE digest_handled <> ''`)
				return err
			})
		})
	}
}

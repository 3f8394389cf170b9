package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

// The digest fixture: 100,000 affiliates in WIB with the digest at 21:00, each with two links among 10
// products of one seller, and clicks on digestDay spread over its hours, clicksPer per affiliate. Users,
// products and links are written directly in large transactions; clicks go through RecordClicks in
// batches of 10,000. Kept in os.TempDir (name with digestFixtureVersion), so later runs reuse it.
const (
	digestAffiliates     = 100_000
	digestFixtureVersion = "v1"
)

var digestDay = time.Date(2024, 3, 20, 0, 0, 0, 0, time.FixedZone("WIB", 7*3600)) // local midnight

func openDigestFixture(b *testing.B, clicksPer int) *Store {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("keranjang-bench-digest-%s-schema%d-%d.db", digestFixtureVersion, SchemaLatest, clicksPer))
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		if err := buildDigestFixture(path, clicksPer); err != nil {
			b.Fatalf("build fixture: %v", err)
		}
		b.Logf("fixture with %d clicks built in %v: %s", digestAffiliates*clicksPer, time.Since(start).Round(time.Millisecond), path)
	}
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func buildDigestFixture(path string, clicksPer int) error {
	tmp := path + ".building"
	_ = os.Remove(tmp)
	s, err := Open(tmp, Options{Now: func() time.Time { return digestDay.Add(23 * time.Hour) }})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close(); _ = os.Remove(tmp) }()
	const products = 10
	created := digestDay.AddDate(0, 0, -30).UTC()
	affID := func(i int) int64 { return int64(1000 + i) }
	code := func(i, j int) string { return fmt.Sprintf("D%06d%d", i, j) }
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := writeUser(tx, affiliate.User{ID: 1, FirstName: "Seller", Seller: true, ShopName: "Toko", DigestMinute: -1, CreatedAt: created}); err != nil {
			return err
		}
		for i := range products {
			id, _ := tx.Bucket(bProducts).NextSequence()
			p := affiliate.Product{ID: id, SellerID: 1, Name: fmt.Sprintf("Produk %d", i), Price: 100000, Rate: 1000,
				URL: "https://shop.example.com/p", Status: affiliate.ProductActive, CreatedAt: created}
			if err := putJSON(tx.Bucket(bProducts), u64(id), p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for lo := 0; lo < digestAffiliates; lo += 10_000 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := lo; i < lo+10_000; i++ {
				u := affiliate.User{ID: affID(i), ChatID: affID(i), FirstName: "A", Lang: affiliate.LangID, TimeZone: "Asia/Jakarta",
					DigestMinute: affiliate.DefaultDigestMinute, Reachable: true, CreatedAt: created}
				if err := writeUser(tx, u); err != nil {
					return err
				}
				for j := range 2 {
					pid := uint64((i+j*3)%products + 1)
					l := affiliate.Link{Code: code(i, j), AffiliateID: u.ID, ProductID: pid, SellerID: 1, CreatedAt: created}
					if err := putJSON(tx.Bucket(bLinks), []byte(l.Code), l); err != nil {
						return err
					}
					if err := tx.Bucket(bAffLinks).Put(key2(uint64(u.ID), pid), []byte(l.Code)); err != nil {
						return err
					}
					if err := tx.Bucket(bProductLinks).Put(append(u64(pid), l.Code...), nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	batch := make([]affiliate.Click, 0, 10_000)
	flush := func() error {
		_, err := s.RecordClicks(context.Background(), batch)
		batch = batch[:0]
		return err
	}
	n := 0
	for i := range digestAffiliates {
		for k := range clicksPer {
			n++
			j := k % 2
			at := digestDay.Add(time.Duration(n%(20*3600)) * time.Second).UTC()
			batch = append(batch, affiliate.Click{ID: fmt.Sprintf("%016d", n), Code: code(i, j),
				ProductID: uint64((i+j*3)%products + 1), AffiliateID: affID(i), SellerID: 1, At: at, Visitor: uint64(n)})
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// BenchmarkDigestRun times one full digest run at 21:00 WIB over 100,000 affiliates who all have
// activity: every one is due, read from the schedule, built from aggregates and handed to a notifier
// that only counts; the handled marks are cleared before each iteration (untimed), so every user is due again.
func BenchmarkDigestRun(b *testing.B) {
	for _, clicksPer := range []int{3, 30} {
		b.Run(fmt.Sprintf("clicks=%d", digestAffiliates*clicksPer), func(b *testing.B) {
			s := openDigestFixture(b, clicksPer)
			storetest.BenchDigestRun(b, s, digestDay.Add(21*time.Hour), digestAffiliates, func() error { return resetDigestMarks(s) })
		})
	}
}

// resetDigestMarks forgets every handled date, as a new day would.
func resetDigestMarks(s *Store) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		zb := tx.Bucket(bDigestDue).Bucket([]byte("Asia/Jakarta"))
		c := zb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) > 0 {
				if err := zb.Put(k, []byte{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

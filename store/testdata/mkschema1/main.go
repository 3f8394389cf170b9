// Command mkschema1 writes store/testdata/schema1.db (committed gzipped, as schema1.db.gz) and
// schema1.json: a small database in the schema-1 layout (fixed 24-byte count records) and the counts and
// reports it holds, as the code of that layout read them. It must be run on the code of that layout, commit 2a2614f, not on the current code:
//
//	git worktree add /tmp/k-schema1 2a2614f
//	mkdir -p /tmp/k-schema1/store/testdata/mkschema1
//	cp store/testdata/mkschema1/main.go /tmp/k-schema1/store/testdata/mkschema1/
//	(cd /tmp/k-schema1 && go run ./store/testdata/mkschema1 "$OLDPWD/store/testdata")
//	git worktree remove --force /tmp/k-schema1
//	gzip -9 -n store/testdata/schema1.db
//
// The schema-2 fixture (schema2.db.gz, schema2.json) was made by the same program on the code of schema 2,
// commit e9c31ee, and its two outputs renamed: the program uses only the store's API, so it writes
// whatever layout the code it runs on has.
//
// Everything it writes is deterministic except the bbolt file's free pages; the clock and the random
// source are fixed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// Expect is what the test compares the migrated database with.
type Expect struct {
	Schema    int                              `json:"schema"`
	Codes     []string                         `json:"codes"`
	Totals    map[string]affiliate.Counts      `json:"totals"`
	Hours     map[string][]HourCount           `json:"hours"`
	Affiliate map[int64]affiliate.Counts       `json:"affiliate"`
	Reports   map[string][]affiliate.ReportRow `json:"reports"`
	Stats     affiliate.Stats                  `json:"stats"`
}

// HourCount is a link's counts in one hour that starts at From.
type HourCount struct {
	From   time.Time        `json:"from"`
	Counts affiliate.Counts `json:"counts"`
}

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func main() {
	dir := os.Args[1]
	path := filepath.Join(dir, "schema1.db")
	_ = os.Remove(path)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s, err := store.Open(path, store.Options{Now: func() time.Time { return now }, Rand: seeded{rand.NewChaCha8([32]byte{1})}})
	check(err)
	ctx := context.Background()
	reg := func(id int64, name string) {
		_, _, err := s.RegisterUser(ctx, affiliate.User{ID: id, ChatID: id, FirstName: name, Lang: affiliate.LangID, TimeZone: "Asia/Jakarta"})
		check(err)
	}
	var links []affiliate.Link
	for _, seller := range []int64{10, 11} {
		reg(seller, fmt.Sprintf("Seller %d", seller))
		_, err := s.ApplySeller(ctx, seller, fmt.Sprintf("Toko %d", seller))
		check(err)
		_, _, err = s.DecideApplication(ctx, seller, true, 1)
		check(err)
		for i := range 2 {
			p, err := s.CreateProduct(ctx, affiliate.Product{SellerID: seller, Name: fmt.Sprintf("Produk %d-%d", seller, i), Price: 100000, Rate: 1000, URL: "https://shop.example.com/p"})
			check(err)
			for aff := int64(20); aff < 24; aff++ {
				reg(aff, fmt.Sprintf("Affiliate %d", aff))
				l, _, err := s.JoinProduct(ctx, aff, p.ID)
				check(err)
				links = append(links, l)
			}
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for range 16 {
		batch := make([]affiliate.Click, 40)
		for i := range batch {
			at = at.Add(time.Duration(rng.Int64N(int64(12 * time.Minute))))
			l := links[rng.IntN(len(links))]
			batch[i] = affiliate.Click{Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: rng.Uint64N(30), Bot: rng.IntN(15) == 0}
		}
		_, err := s.RecordClicks(ctx, batch)
		check(err)
	}
	check(s.AddOrphans(ctx, 7))

	exp := Expect{Totals: map[string]affiliate.Counts{}, Hours: map[string][]HourCount{}, Affiliate: map[int64]affiliate.Counts{}, Reports: map[string][]affiliate.ReportRow{}}
	exp.Schema, err = s.SchemaVersion(ctx)
	check(err)
	first := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, l := range links {
		exp.Codes = append(exp.Codes, l.Code)
		exp.Totals[l.Code], err = s.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
		check(err)
		for h := first; h.Before(at.Add(time.Hour)); h = h.Add(time.Hour) {
			c, err := s.LinkCounts(ctx, l.Code, h, h.Add(time.Hour))
			check(err)
			if c != (affiliate.Counts{}) {
				exp.Hours[l.Code] = append(exp.Hours[l.Code], HourCount{From: h, Counts: c})
			}
		}
	}
	for aff := int64(20); aff < 24; aff++ {
		exp.Affiliate[aff], err = s.AffiliateCounts(ctx, aff, time.Time{}, time.Time{})
		check(err)
	}
	jkt, err := time.LoadLocation("Asia/Jakarta")
	check(err)
	for _, seller := range []int64{10, 11} {
		for d := first; d.Before(at); d = d.AddDate(0, 0, 2) {
			from := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, jkt)
			rows, err := s.AffiliateReport(ctx, seller, 0, from, from.AddDate(0, 0, 2))
			check(err)
			exp.Reports[fmt.Sprintf("%d/%s", seller, from.Format(time.RFC3339))] = rows
		}
	}
	exp.Stats, err = s.Stats(ctx)
	check(err)
	check(s.Close())
	data, err := json.Marshal(exp)
	check(err)
	check(os.WriteFile(filepath.Join(dir, "schema1.json"), append(data, '\n'), 0o644))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

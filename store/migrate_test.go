package store

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// schema1Expect is testdata/schema1.json: what the code of schema 1 read from testdata/schema1.db.gz
// (see testdata/mkschema1 for how both were made); and the same for schema 2 (schema2.json and
// schema2.db.gz, made by the same program on the code of schema 2).
type schema1Expect struct {
	Schema int                         `json:"schema"`
	Codes  []string                    `json:"codes"`
	Totals map[string]affiliate.Counts `json:"totals"`
	Hours  map[string][]struct {
		From   time.Time        `json:"from"`
		Counts affiliate.Counts `json:"counts"`
	} `json:"hours"`
	Affiliate map[int64]affiliate.Counts       `json:"affiliate"`
	Reports   map[string][]affiliate.ReportRow `json:"reports"`
	Stats     affiliate.Stats                  `json:"stats"`
	// Clicks is not in the JSON: schema1Copy reads the file's one-record-per-click log before any
	// migration runs.
	Clicks map[string]affiliate.Click `json:"-"`
}

// schema1Copy writes the schema-1 fixture database into a temp dir and returns its path and what it holds.
func schema1Copy(t *testing.T) (string, schema1Expect) { return schemaCopy(t, 1) }

// schemaCopy writes the fixture database of schema version into a temp dir and returns its path and what
// it holds.
func schemaCopy(t *testing.T, version int) (string, schema1Expect) {
	t.Helper()
	in, err := os.Open(fmt.Sprintf("testdata/schema%d.db.gz", version))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "k.db")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(fmt.Sprintf("testdata/schema%d.json", version))
	if err != nil {
		t.Fatal(err)
	}
	var want schema1Expect
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if want.Schema != version || len(want.Codes) == 0 || want.Stats.Clicks == 0 {
		t.Fatalf("fixture expectations look empty: %+v", want.Stats)
	}
	want.Clicks = schema1Clicks(t, path)
	if int64(len(want.Clicks)) != want.Stats.Clicks {
		t.Fatalf("fixture logs %d clicks, counts %d", len(want.Clicks), want.Stats.Clicks)
	}
	return path, want
}

// checkSchema1Data opens path with this binary and checks that every count and report is what the
// fixture's code read, that the schema is the latest and that no schema-1 count record is left; and that
// the per-product and per-seller aggregates migration 4 filled hold the sums of their links' counts, all
// time and hour by hour.
func checkSchema1Data(t *testing.T, path string, want schema1Expect) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaLatest || SchemaLatest < 5 {
		t.Fatalf("schema version %d, %v (latest %d); want the latest, at least 5", v, err, SchemaLatest)
	}
	checkDigestIndex(t, s)
	productSum := map[uint64]affiliate.Counts{}
	sellerSum := map[int64]affiliate.Counts{}
	type hourKey struct {
		id   int64
		from time.Time
	}
	productHours := map[hourKey]affiliate.Counts{}
	sellerHours := map[hourKey]affiliate.Counts{}
	for _, code := range want.Codes {
		l, err := s.GetLink(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		add(productSum, l.ProductID, want.Totals[code])
		add(sellerSum, l.SellerID, want.Totals[code])
		for _, h := range want.Hours[code] {
			add(productHours, hourKey{int64(l.ProductID), h.From}, h.Counts)
			add(sellerHours, hourKey{l.SellerID, h.From}, h.Counts)
		}
	}
	for id, c := range productSum {
		if got, err := s.ProductCounts(ctx, id, time.Time{}, time.Time{}); err != nil || got != c {
			t.Fatalf("product %d: %+v %v, want %+v", id, got, err, c)
		}
	}
	for id, c := range sellerSum {
		if got, err := s.SellerCounts(ctx, id, time.Time{}, time.Time{}); err != nil || got != c {
			t.Fatalf("seller %d: %+v %v, want %+v", id, got, err, c)
		}
	}
	for k, c := range productHours {
		if got, err := s.ProductCounts(ctx, uint64(k.id), k.from, k.from.Add(time.Hour)); err != nil || got != c {
			t.Fatalf("product %d at %v: %+v %v, want %+v", k.id, k.from, got, err, c)
		}
	}
	for k, c := range sellerHours {
		if got, err := s.SellerCounts(ctx, k.id, k.from, k.from.Add(time.Hour)); err != nil || got != c {
			t.Fatalf("seller %d at %v: %+v %v, want %+v", k.id, k.from, got, err, c)
		}
	}
	for _, code := range want.Codes {
		if got, err := s.LinkCounts(ctx, code, time.Time{}, time.Time{}); err != nil || got != want.Totals[code] {
			t.Fatalf("link %s total %+v %v, want %+v", code, got, err, want.Totals[code])
		}
		for _, h := range want.Hours[code] {
			if got, err := s.LinkCounts(ctx, code, h.From, h.From.Add(time.Hour)); err != nil || got != h.Counts {
				t.Fatalf("link %s hour %v: %+v %v, want %+v", code, h.From, got, err, h.Counts)
			}
		}
	}
	for aff, c := range want.Affiliate {
		if got, err := s.AffiliateCounts(ctx, aff, time.Time{}, time.Time{}); err != nil || got != c {
			t.Fatalf("affiliate %d: %+v %v, want %+v", aff, got, err, c)
		}
	}
	for k, rows := range want.Reports {
		sellerText, fromText, _ := strings.Cut(k, "/")
		seller, _ := strconv.ParseInt(sellerText, 10, 64)
		from, err := time.Parse(time.RFC3339, fromText)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AffiliateReport(ctx, seller, 0, from, from.AddDate(0, 0, 2))
		if err != nil || !reflect.DeepEqual(got, rows) {
			t.Fatalf("report %s: %+v %v, want %+v", k, got, err, rows)
		}
	}
	if len(productSum) < 2 || len(sellerSum) < 2 {
		t.Fatalf("fixture spans %d products and %d sellers", len(productSum), len(sellerSum))
	}
	if got, err := s.Stats(ctx); err != nil || got != want.Stats {
		t.Fatalf("stats %+v %v, want %+v", got, err, want.Stats)
	}
	for id, c := range want.Clicks {
		if got, err := s.GetClick(ctx, id); err != nil || got != c {
			t.Fatalf("click %s: %+v %v, want %+v", id, got, err, c)
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		n := 0
		var prevLast []byte
		err := tx.Bucket(bClicks).ForEach(func(k, v []byte) error {
			count, _, err := clickRecHeader(v)
			if err != nil {
				return fmt.Errorf("click record %s: %w", k, err)
			}
			clicks, err := recordClicks(v)
			if err != nil || len(clicks) != count || clicks[0].ID != string(k) {
				return fmt.Errorf("click record %s: %d clicks of %d, %v", k, len(clicks), count, err)
			}
			if prevLast != nil && string(prevLast) >= string(k) {
				return fmt.Errorf("click record %s overlaps the one before (up to %s)", k, prevLast)
			}
			prevLast = []byte(clicks[len(clicks)-1].ID)
			n += count
			return nil
		})
		if err != nil {
			return err
		}
		if n != len(want.Clicks) {
			return fmt.Errorf("%d clicks in the log, want %d", n, len(want.Clicks))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, name := range countBuckets {
			n := 0
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				n++
				if len(v) == 0 || v[0] != countsFormat {
					return fmt.Errorf("%s %x: record %x is not in the current format", name, k, v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%s is empty", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// schema1Clicks reads the click log of a database of schema 1 or 2 (one record per click).
func schema1Clicks(t *testing.T, path string) map[string]affiliate.Click {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clicks := map[string]affiliate.Click{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bClicks).ForEach(func(k, v []byte) error {
			c, err := decodeClick1(string(k), v)
			clicks[c.ID] = c
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return clicks
}

func TestMigrateSchema1(t *testing.T) {
	for _, chunk := range []int{migrateChunk, 7} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			defer func(old int) { migrateChunk = old }(migrateChunk)
			migrateChunk = chunk
			path, want := schema1Copy(t)
			checkSchema1Data(t, path, want)
		})
	}
}

// TestMigrateSchema2 opens a file written by the code of schema 2 (testdata/schema2.db.gz): migration 4
// adds the order buckets and the per-product and per-seller aggregates, and every count and report
// reads as that code read it.
func TestMigrateSchema2(t *testing.T) {
	for _, chunk := range []int{migrateChunk, 7} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			defer func(old int) { migrateChunk = old }(migrateChunk)
			migrateChunk = chunk
			path, want := schemaCopy(t, 2)
			checkSchema1Data(t, path, want)
		})
	}
}

// TestMigrateOrderBucketsInterrupted runs migration 4 for a few chunks, as a crash would leave it, and
// opens the file: the migration starts again from the beginning and counts nothing twice.
func TestMigrateOrderBucketsInterrupted(t *testing.T) {
	defer func(old int) { migrateChunk = old }(migrateChunk)
	migrateChunk = 20
	path, want := schemaCopy(t, 2)
	runChunks(t, path, 3, migrateOrderBuckets)
	checkSchema1Data(t, path, want)
}

// runChunks runs n chunks of one migration step on the file at path, each in its own transaction, as a
// migration that a crash interrupted leaves the file; every chunk must leave work for the next.
func runChunks(t *testing.T, path string, n int, step func(*bolt.Tx, []byte) ([]byte, error)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var pos []byte
	for range n {
		err := db.Update(func(tx *bolt.Tx) error {
			var err error
			pos, err = step(tx, pos)
			return err
		})
		if err != nil || pos == nil {
			t.Fatalf("chunk: next %x, %v", pos, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateSchema1Interrupted stops migration 2 after its first chunks, as a crash would, and opens
// the half-migrated file: the migration starts again and finishes.
func TestMigrateSchema1Interrupted(t *testing.T) {
	defer func(old int) { migrateChunk = old }(migrateChunk)
	migrateChunk = 50
	path, want := schema1Copy(t)
	runChunks(t, path, 3, migrateCountRecords)
	checkSchema1Data(t, path, want)
}

// TestMigrateClicksInterrupted converts part of the fixture's click log to records of many clicks, as
// an interrupted migration 3 leaves it, before migration 2 has run, and opens the file: the migrations
// start again and finish, and every click is found once.
func TestMigrateClicksInterrupted(t *testing.T) {
	defer func(old int) { migrateChunk = old }(migrateChunk)
	migrateChunk = 5
	path, want := schema1Copy(t)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pos := []byte(nil)
	for i := range 3 {
		err := db.Update(func(tx *bolt.Tx) error {
			var err error
			pos, err = migrateClickRecords(tx, pos)
			return err
		})
		if err != nil || pos == nil {
			t.Fatalf("chunk %d: next %x, %v", i, pos, err)
		}
		if i == 1 {
			// Skip ahead, so that old records are left between new ones.
			err := db.View(func(tx *bolt.Tx) error {
				c := tx.Bucket(bClicks).Cursor()
				c.Seek(pos)
				for range 3 {
					c.Next()
				}
				k, _ := c.Next()
				pos = bytes.Clone(k)
				return nil
			})
			if err != nil || pos == nil {
				t.Fatalf("skip: %x %v", pos, err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	migrateChunk = 7
	checkSchema1Data(t, path, want)
}

func TestCountRecords(t *testing.T) {
	tests := []struct {
		name string
		rec  []byte
		want affiliate.Counts
	}{
		{"all fields", []byte{1, 5, 3, 2}, affiliate.Counts{Clicks: 5, UniqueClicks: 3, BotVisits: 2}},
		{"missing fields are zero", []byte{1, 0x80, 0x01}, affiliate.Counts{Clicks: 128}},
		{"a record without order fields has zero orders", []byte{1, 5, 3, 2}, affiliate.Counts{Clicks: 5, UniqueClicks: 3, BotVisits: 2}},
		{"order fields", []byte{1, 0, 0, 0, 2, 0x90, 0x4e, 0xe8, 0x07, 10, 20, 30}, affiliate.Counts{OrderCounts: affiliate.OrderCounts{Orders: 2, GMV: 10000, Refunded: 1000, CommissionPending: 10, CommissionSettled: 20, CommissionReversed: 30}}},
		{"fields after the known ones are skipped", []byte{1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 9, 0x80, 0x80, 0x01}, affiliate.Counts{Clicks: 1, UniqueClicks: 1, BotVisits: 1, OrderCounts: affiliate.OrderCounts{Orders: 1, GMV: 2, Refunded: 3, CommissionPending: 4, CommissionSettled: 5, CommissionReversed: 6}}},
		{"empty", nil, affiliate.Counts{}},
		{"unknown format", []byte{2, 1, 1, 1}, affiliate.Counts{}},
		{"cut short in a field", []byte{1, 4, 0x80}, affiliate.Counts{Clicks: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeCounts(tt.rec); got != tt.want {
				t.Fatalf("decode %x = %+v, want %+v", tt.rec, got, tt.want)
			}
		})
	}
	for _, c := range []affiliate.Counts{{}, {Clicks: 1}, {Clicks: 300, UniqueClicks: 200}, {BotVisits: 1}, {Clicks: 1 << 62, UniqueClicks: 1 << 40, BotVisits: 7}} {
		rec := appendCounts(nil, c)
		if got := decodeCounts(rec); got != c || len(rec) > maxCountsLen || rec[0] != countsFormat {
			t.Fatalf("round trip of %+v: %x → %+v", c, rec, got)
		}
	}
	if rec := appendCounts(nil, affiliate.Counts{Clicks: 2}); !bytes.Equal(rec, []byte{1, 2}) {
		t.Fatalf("trailing zero fields written: %x", rec)
	}
	full := affiliate.Counts{Clicks: 1, OrderCounts: affiliate.OrderCounts{Orders: 3, GMV: affiliate.MaxOrderAmount * 3, Refunded: 5, CommissionPending: 1 << 50, CommissionSettled: 7, CommissionReversed: 8}}
	if rec := appendCounts(nil, full); decodeCounts(rec) != full || len(rec) > maxCountsLen {
		t.Fatalf("round trip of %+v: %x", full, rec)
	}
	legacy := make([]byte, schema1CountsLen)
	legacy[7], legacy[15], legacy[23] = 9, 4, 1
	if !isSchema1Counts(legacy) || isSchema1Counts(appendCounts(nil, affiliate.Counts{Clicks: 1})) {
		t.Fatal("schema-1 records not told apart")
	}
	if got := decodeSchema1Counts(legacy); got != (affiliate.Counts{Clicks: 9, UniqueClicks: 4, BotVisits: 1}) {
		t.Fatalf("schema-1 record %+v", got)
	}
}

func TestAddCountsChecked(t *testing.T) {
	oc := func(pending, settled affiliate.Rupiah) affiliate.Counts {
		return affiliate.Counts{OrderCounts: affiliate.OrderCounts{CommissionPending: pending, CommissionSettled: settled}}
	}
	tests := []struct {
		name    string
		sum, d  affiliate.Counts
		want    affiliate.Counts
		wantErr bool
	}{
		{"positive", oc(5, 0), oc(3, 2), oc(8, 2), false},
		{"negative to zero", oc(5, 0), oc(-5, 5), oc(0, 5), false},
		{"below zero", oc(5, 0), oc(-6, 6), oc(5, 0), true},
		{"overflow", oc(math.MaxInt64, 0), oc(1, 0), oc(math.MaxInt64, 0), true},
		{"clicks untouched", affiliate.Counts{Clicks: 4}, oc(1, 0), affiliate.Counts{Clicks: 4, OrderCounts: affiliate.OrderCounts{CommissionPending: 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := addCountsChecked(tt.sum, tt.d)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("%+v + %+v = %+v, %v; want %+v (error %v)", tt.sum, tt.d, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errCountBelowZero) {
				t.Fatalf("error %v does not wrap errCountBelowZero", err)
			}
		})
	}
}

// checkDigestIndex checks that every stored user with the digest on, and no one else, is in the digest
// schedule of their zone at their minute (migration 6 builds it for users written before it).
func checkDigestIndex(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	want := map[affiliate.DigestEntry]bool{}
	users, err := s.ListUsers(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.DigestMinute >= 0 {
			want[affiliate.DigestEntry{Minute: u.DigestMinute, UserID: u.ID}] = true
		}
	}
	zones, err := s.DigestZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, z := range zones {
		due, err := s.DigestDue(ctx, z, 0, affiliate.MinutesPerDay-1, "", affiliate.DigestEntry{}, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range due {
			if !want[affiliate.DigestEntry{Minute: e.Minute, UserID: e.UserID}] {
				t.Errorf("digest schedule of %q has %+v, which is no user's", z, e)
			}
			got++
		}
	}
	if got != len(want) || len(want) == 0 {
		t.Errorf("digest schedule has %d entries, want %d (users with the digest on)", got, len(want))
	}
}

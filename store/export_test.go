package store_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/dump/dumptest"
)

// TestExport fills a store through its methods, exports it and checks the dump item by item against
// what the store's read methods say.
func TestExport(t *testing.T) {
	clock := dumptest.NewClock()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := store.Open(path, store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fx := dumptest.Fill(t, s, clock)
	dumptest.Compare(t, fx, s, s) // the fixture asks only what a store can answer

	var buf bytes.Buffer
	w, err := dump.NewWriter(&buf, dump.Header{Source: "bbolt", Schema: store.SchemaLatest})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Export(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := dump.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	items := map[dump.Kind][]dump.Item{}
	for {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		items[dump.KindOf(it)] = append(items[dump.KindOf(it)], it)
	}
	t.Logf("counts %v", r.Counts())
	if !r.Counts().Equal(w.Counts()) {
		t.Fatalf("read %v, wrote %v", r.Counts(), w.Counts())
	}
	for _, k := range dump.Kinds() {
		if len(items[k]) == 0 {
			t.Errorf("no %s item: the fixture should have some of everything", k)
		}
	}

	ctx := t.Context()
	meta := items[dump.KindMeta][0].(dump.Meta)
	st, _ := s.Stats(ctx)
	ob, _ := s.OutboxStats(ctx)
	if !bytes.Equal(meta.Salt, s.VisitorSalt()) || meta.Clicks != st.Clicks || meta.Bots != st.Bots || meta.Orphans != st.Orphans || meta.Outbox != ob {
		t.Errorf("meta %+v; stats %+v, outbox %+v", meta, st, ob)
	}
	users, _ := s.ListUsers(ctx, 0, 1000)
	for i, it := range items[dump.KindUser] {
		if u := it.(dump.User).User; i >= len(users) || u != users[i] {
			t.Errorf("user item %d: %+v", i, u)
		}
	}
	if len(items[dump.KindUser]) != len(users) || int64(len(users)) != st.Users {
		t.Errorf("%d user items, %d users", len(items[dump.KindUser]), len(users))
	}
	for _, it := range items[dump.KindAPIKey] {
		k := it.(dump.APIKey)
		if id, err := s.SellerByAPIKey(ctx, k.Key); err != nil || id != k.SellerID {
			t.Errorf("api key item %+v: seller %d %v", k, id, err)
		}
	}
	links, _ := s.ListLinks(ctx, "", 1000)
	if len(items[dump.KindLink]) != len(links) || int64(len(links)) != st.Links || len(items[dump.KindTotal]) != len(links) {
		t.Errorf("%d link items, %d totals, %d links", len(items[dump.KindLink]), len(items[dump.KindTotal]), len(links))
	}
	if len(items[dump.KindClick]) != len(fx.Clicks) {
		t.Errorf("%d click items, %d clicks logged", len(items[dump.KindClick]), len(fx.Clicks))
	}
	for i, it := range items[dump.KindClick] {
		c := it.(dump.Click).Click
		got, err := s.GetClick(ctx, c.ID)
		if err != nil || got != c {
			t.Errorf("click item %+v: stored %+v %v", c, got, err)
		}
		if prev := items[dump.KindClick][max(i-1, 0)].(dump.Click); i > 0 && prev.ID >= c.ID {
			t.Errorf("click items out of id order: %s then %s", prev.ID, c.ID)
		}
	}
	for _, it := range items[dump.KindAggregate] {
		a := it.(dump.Aggregate)
		var got affiliate.Counts
		var err error
		at := unixHour(a.Hour)
		switch a.Of {
		case dump.AggLink:
			got, err = s.LinkCounts(ctx, a.Code, at, at.Add(time.Hour))
		case dump.AggAffiliate:
			got, err = s.AffiliateCounts(ctx, a.ID, at, at.Add(time.Hour))
		case dump.AggProduct:
			got, err = s.ProductCounts(ctx, uint64(a.ID), at, at.Add(time.Hour))
		case dump.AggSeller:
			got, err = s.SellerCounts(ctx, a.ID, at, at.Add(time.Hour))
		}
		if err != nil || got != a.Counts {
			t.Errorf("aggregate %+v: store says %+v %v", a, got, err)
		}
	}
	for _, it := range items[dump.KindTotal] {
		tot := it.(dump.Total)
		if got, err := s.LinkCounts(ctx, tot.Code, zeroTime, zeroTime); err != nil || got != tot.Counts {
			t.Errorf("total %+v: store says %+v %v", tot, got, err)
		}
	}
	if int64(len(items[dump.KindOrder])) != st.Orders {
		t.Errorf("%d order items, %d orders", len(items[dump.KindOrder]), st.Orders)
	}
	for _, it := range items[dump.KindOutbox] {
		m := it.(dump.OutboxMessage).OutboxMessage
		if got, err := s.GetOutboxMessage(ctx, m.ID); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("outbox item %+v: stored %+v %v", m, got, err)
		}
	}
	for _, it := range items[dump.KindAlert] {
		a := it.(dump.Alert)
		p, _ := s.AlertProgress(ctx, a.ID)
		if got, err := s.GetAlert(ctx, a.ID); err != nil || got != a.Alert || p != a.Progress {
			t.Errorf("alert item %+v: stored %+v %+v %v", a, got, p, err)
		}
	}
	for _, it := range items[dump.KindDigest] {
		d := it.(dump.Digest)
		due, err := s.DigestDue(ctx, d.Zone, d.Minute, d.Minute, "", affiliate.DigestEntry{}, 1000)
		found := false
		for _, e := range due {
			found = found || e == affiliate.DigestEntry{Minute: d.Minute, UserID: d.UserID, Handled: d.Handled}
		}
		if err != nil || !found {
			t.Errorf("digest item %+v not in the schedule %+v %v", d, due, err)
		}
	}
	for _, it := range items[dump.KindFeedItem] {
		fi := it.(dump.FeedItem)
		if seen, _, err := s.FeedItems(ctx, fi.FeedURL); err != nil || !seen[fi.ItemID] {
			t.Errorf("feed item %+v not seen %v", fi, err)
		}
	}
	seqs := map[string]uint64{}
	for _, it := range items[dump.KindSequence] {
		seqs[it.(dump.Sequence).Name] = it.(dump.Sequence).Next
	}
	if len(seqs) != len(dump.Sequences()) || seqs[dump.SeqOutbox] != fx.MaxOutbox+1 || seqs[dump.SeqAlerts] != fx.MaxAlert+1 ||
		seqs[dump.SeqBroadcasts] != 2 || seqs[dump.SeqProducts] != uint64(len(fx.Products))+1 || seqs[dump.SeqFeedback] != 4 {
		t.Errorf("sequences %v", seqs)
	}
	b, _ := s.LastBroadcast(ctx, 10)
	if bc := items[dump.KindBroadcast]; len(bc) != 1 || bc[0].(dump.Broadcast) != (dump.Broadcast{SellerID: 10, Last: b}) {
		t.Errorf("broadcast items %+v, last broadcast %v", bc, b)
	}
}

// TestExportCancelled: a cancelled context fails before anything is read.
func TestExportCancelled(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, _ := dump.NewWriter(io.Discard, dump.Header{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Export(ctx, w); !errors.Is(err, context.Canceled) {
		t.Fatalf("export: %v", err)
	}
	if w.Counts()[dump.KindMeta] != 0 {
		t.Fatal("a cancelled export wrote")
	}
}

// TestExportRefusesOlderSchema: a read-only store does not migrate, and an older file's records are not
// in this binary's formats.
func TestExportRefusesOlderSchema(t *testing.T) {
	path := schemaFile(t, 1)
	s, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, _ := dump.NewWriter(io.Discard, dump.Header{})
	if err := s.Export(t.Context(), w); err == nil || !strings.Contains(err.Error(), "schema 1") {
		t.Fatalf("export of schema 1: %v", err)
	}
}

var zeroTime time.Time

func unixHour(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// schemaFile writes testdata/schema<version>.db.gz into a temp dir and returns its path.
func schemaFile(t *testing.T, version int) string {
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
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "k.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

package dump_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/dump"
)

var at = time.Date(2024, 3, 10, 5, 6, 7, 123456789, time.UTC)

// sample has one item of every kind, in dump order, with every field set that the kind has.
func sample() []dump.Item {
	return []dump.Item{
		dump.Meta{Salt: []byte("0123456789abcdef0123456789abcdef"), Clicks: 10, Bots: 2, Orphans: 3,
			Outbox: affiliate.OutboxStats{Queued: 1, Sent: 2, Failed: 3, Dropped: 4}},
		dump.Sequence{Name: dump.SeqProducts, Next: 8},
		dump.Sequence{Name: dump.SeqBroadcasts, Next: 3},
		dump.User{User: affiliate.User{ID: 20, ChatID: 20, FirstName: "Ani", LastName: "S", Username: "ani", Lang: affiliate.LangID,
			TimeZone: "Asia/Jakarta", Seller: true, ShopName: "Toko", DigestMinute: 1260, AlertsOn: true, Reachable: true,
			CreatedAt: at, UpdatedAt: at.Add(time.Second)}},
		dump.APIKey{SellerID: 20, Key: "ksk_0123456789abcdefghijABCDEFGHIJ01"},
		dump.Application{Application: affiliate.Application{UserID: 20, ShopName: "Toko", Status: affiliate.AppApproved,
			CreatedAt: at, DecidedAt: at.Add(time.Minute), DecidedBy: 1}},
		dump.Flow{Flow: affiliate.Flow{UserID: 20, Name: "addproduct", Step: "price", Data: map[string]string{"name": "Kopi <b>"}, UpdatedAt: at}},
		dump.Digest{Zone: "", Minute: 1260, UserID: 20, Handled: "2024-03-09"},
		dump.Product{Product: affiliate.Product{ID: 7, SellerID: 20, Name: "Kopi", Description: "enak & murah", Price: 150000,
			Rate: 1000, URL: "https://shop.example.com/p/kopi", PhotoFileID: "ph", Status: affiliate.ProductActive, CreatedAt: at, UpdatedAt: at}},
		dump.Link{Link: affiliate.Link{Code: "Ab3dEf7h", AffiliateID: 20, ProductID: 7, SellerID: 20, KeptRate: 1500,
			KeptUntil: at.Add(time.Hour), Reminded: true, CreatedAt: at}},
		dump.Click{Click: affiliate.Click{ID: "c1", Code: "Ab3dEf7h", ProductID: 7, AffiliateID: 20, SellerID: 20, At: at,
			Visitor: 1<<64 - 1, Unique: true}},
		dump.Visitor{Code: "Ab3dEf7h", Visitor: 1<<63 + 5, Last: at},
		dump.Aggregate{Of: dump.AggLink, Code: "Ab3dEf7h", Hour: at.Unix() / 3600, Counts: affiliate.Counts{Clicks: 1, UniqueClicks: 1,
			BotVisits: 2, OrderCounts: affiliate.OrderCounts{Orders: 1, GMV: 5, Refunded: 1, CommissionPending: 2, CommissionSettled: 3, CommissionReversed: 4}}},
		dump.Aggregate{Of: dump.AggSeller, ID: 20, Hour: at.Unix() / 3600, Counts: affiliate.Counts{Clicks: 1}},
		dump.Total{Code: "Ab3dEf7h", Counts: affiliate.Counts{Clicks: 1}},
		dump.Order{Order: affiliate.Order{SellerID: 20, OrderID: "INV-1", ClickID: "c1", LinkCode: "Ab3dEf7h", ProductID: 7,
			AffiliateID: 20, Amount: 150000, RefundedAmount: 50000, Status: affiliate.OrderRefunded, Rate: 1000, Commission: 15000,
			Reversed: 5000, OccurredAt: at, CreatedAt: at, UpdatedAt: at}},
		dump.Feedback{Feedback: affiliate.Feedback{ID: 1, ProductID: 7, SellerID: 20, AffiliateID: 20, Text: "bagus", At: at}},
		dump.Alert{Alert: affiliate.Alert{ID: 2, Title: "Aturan", Body: "baru", URL: "https://x.example/a", Audience: affiliate.AudienceAll,
			Source: "api", CreatedAt: at, FannedOut: false}, Progress: affiliate.AlertProgress{Cursor: 20}},
		dump.AlertCounts{AlertID: 2, Counts: affiliate.AlertCounts{Queued: 1, Delivered: 2, Unreachable: 3, Failed: 4, Skipped: 5}},
		dump.OutboxMessage{OutboxMessage: affiliate.OutboxMessage{ID: 3, Key: "alert:2:20", Kind: "alert", AlertID: 2, UserID: 20,
			ChatID: 20, Group: true, Text: "<b>Aturan</b>", Buttons: [][]affiliate.Button{{{Text: "OK", Data: "ok"}}},
			Status: affiliate.OutboxSent, Attempts: 2, NextAt: at, LastError: "x", CreatedAt: at, SentAt: at.Add(time.Second)}},
		dump.Feed{URL: "https://feed.example/rss", FirstPolled: at, LastPolled: at.Add(time.Hour)},
		dump.FeedItem{FeedURL: "https://feed.example/rss", ItemID: "g:1", AlertID: 2},
		dump.Broadcast{SellerID: 20, Last: at},
	}
}

func write(t *testing.T, items []dump.Item) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dump.NewWriter(&buf, dump.Header{Source: "test", Schema: 7, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := w.Write(it); err != nil {
			t.Fatalf("write %T: %v", it, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(data []byte) ([]dump.Item, *dump.Reader, error) {
	r, err := dump.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var out []dump.Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		out = append(out, it)
	}
}

// TestRoundTrip writes one item of every kind and reads back the same values, the header and the
// counts.
func TestRoundTrip(t *testing.T) {
	items := sample()
	seen := map[dump.Kind]bool{}
	for _, it := range items {
		seen[dump.KindOf(it)] = true
	}
	for _, k := range dump.Kinds() {
		if !seen[k] {
			t.Fatalf("the sample has no %s item", k)
		}
	}
	data := write(t, items)
	got, r, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, items) {
		for i := range items {
			if i >= len(got) || !reflect.DeepEqual(got[i], items[i]) {
				t.Fatalf("item %d: got\n%#v\nwant\n%#v", i, got[min(i, len(got)-1)], items[i])
			}
		}
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	h := r.Header()
	if h.Format != dump.Format || h.Version != dump.Version || h.Source != "test" || h.Schema != 7 || !h.CreatedAt.Equal(at) {
		t.Fatalf("header %+v", h)
	}
	want := dump.Counts{}
	for _, it := range items {
		want[dump.KindOf(it)]++
	}
	if c := r.Counts(); !c.Equal(want) || c[dump.KindAggregate] != 2 {
		t.Fatalf("counts %v, want %v", c, want)
	}
	// A second Next after the end stays at the end.
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("next after the end: %v", err)
	}
}

// TestEmptyDump is a database with nothing but its meta record.
func TestEmptyDump(t *testing.T) {
	got, r, err := readAll(write(t, []dump.Item{dump.Meta{Salt: []byte("s")}}))
	if err != nil || len(got) != 1 || r.Counts()[dump.KindMeta] != 1 {
		t.Fatalf("%v %v %v", got, err, r.Counts())
	}
}

// TestWriterRefusesDisorder: kinds must come in dump order, one meta item, and Close needs it.
func TestWriterRefusesDisorder(t *testing.T) {
	w, _ := dump.NewWriter(io.Discard, dump.Header{})
	if err := w.Write(dump.Link{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(dump.Link{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(dump.User{}); err == nil || !strings.Contains(err.Error(), "order") {
		t.Fatalf("a user after links: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("a dump without meta closed")
	}

	w, _ = dump.NewWriter(io.Discard, dump.Header{})
	_ = w.Write(dump.Meta{})
	if err := w.Write(dump.Meta{}); err == nil {
		t.Fatal("a second meta item written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(dump.User{}); err == nil {
		t.Fatal("write after close")
	}
}

// TestReaderRefusesDamage: whatever is wrong with a stream, reading it fails instead of giving fewer
// items.
func TestReaderRefusesDamage(t *testing.T) {
	good := write(t, sample())
	plain := func(lines ...string) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		_, _ = io.WriteString(gz, strings.Join(lines, "\n")+"\n")
		_ = gz.Close()
		return buf.Bytes()
	}
	header := `{"format":"keranjang-dump","version":1}`
	meta := `{"k":"meta","v":{"salt":"c2FsdA=="}}`
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("hello"), "not a keranjang dump"},
		{"not a dump", plain(`{"hello":1}`), "not a keranjang dump"},
		{"newer version", plain(`{"format":"keranjang-dump","version":2}`), "version 2"},
		{"cut short", good[:len(good)*2/3], ""},
		{"no trailer", plain(header, meta), "trailer is missing"},
		{"trailer disagrees", plain(header, meta, `{"k":"end","v":{"counts":{"meta":1,"user":1}}}`), "trailer counts"},
		{"no meta", plain(header, `{"k":"end","v":{"counts":{}}}`), "no meta"},
		{"two metas", plain(header, meta, meta), "second meta"},
		{"disorder", plain(header, meta, `{"k":"link","v":{}}`, `{"k":"user","v":{}}`), "after link"},
		{"unknown kind", plain(header, meta, `{"k":"gadget","v":{}}`), "unknown kind"},
		{"bad record", plain(header, meta, `{"k":"user","v":{"id":"x"}}`), "user"},
		{"bad aggregate", plain(header, meta, `{"k":"aggregate","v":{"of":"planet","id":1}}`), "unknown aggregate"},
		{"bad sequence", plain(header, meta, `{"k":"sequence","v":{"name":"x","next":1}}`), "unknown sequence"},
		{"after trailer", plain(header, meta, `{"k":"end","v":{"counts":{"meta":1}}}`, `{"k":"user","v":{}}`), "after the trailer"},
	}
	// A flipped byte in the compressed data fails the stream's checksum or its decoding.
	bad := bytes.Clone(good)
	bad[len(bad)-12] ^= 0xff
	cases = append(cases, struct {
		name string
		data []byte
		want string
	}{"corrupt", bad, ""})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(tc.data)
			if err == nil {
				t.Fatal("read without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
			if strings.HasPrefix(tc.name, "not") && !errors.Is(err, dump.ErrNotDump) {
				t.Fatalf("error %v is not ErrNotDump", err)
			}
		})
	}
}

// TestReaderErrorIsFinal: after a failure, Next keeps failing.
func TestReaderErrorIsFinal(t *testing.T) {
	good := write(t, sample())
	r, err := dump.NewReader(bytes.NewReader(good[:len(good)-20]))
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for first == nil {
		_, first = r.Next()
	}
	if first == io.EOF {
		t.Fatal("a cut dump read to the end")
	}
	if _, err := r.Next(); err == nil || err == io.EOF {
		t.Fatalf("next after an error: %v", err)
	}
}

// FuzzReader: whatever the lines of a dump say, reading it ends in items, an error or the end, never a
// panic; and a dump that reads to its end has the counts its trailer claims.
func FuzzReader(f *testing.F) {
	f.Add(`{"format":"keranjang-dump","version":1}
{"k":"meta","v":{"salt":"c2FsdA=="}}
{"k":"user","v":{"id":20,"first_name":"Ani"}}
{"k":"aggregate","v":{"of":"link","code":"Ab3dEf7h","hour":1,"counts":{"clicks":1}}}
{"k":"end","v":{"counts":{"meta":1,"user":1,"aggregate":1}}}
`)
	f.Add(`{"format":"keranjang-dump","version":1}
{"k":"end","v":{"counts":{}}}
`)
	f.Fuzz(func(t *testing.T, text string) {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		_, _ = io.WriteString(gz, text)
		_ = gz.Close()
		r, err := dump.NewReader(&buf)
		if err != nil {
			return
		}
		n := dump.Counts{}
		for {
			it, err := r.Next()
			if err == io.EOF {
				if !n.Equal(r.Counts()) || n[dump.KindMeta] != 1 {
					t.Fatalf("read %v, reader counts %v", n, r.Counts())
				}
				return
			}
			if err != nil {
				return
			}
			n[dump.KindOf(it)]++
		}
	})
}

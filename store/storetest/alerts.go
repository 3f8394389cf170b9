package storetest

import (
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// testAlerts checks an alert's life in the store: created pending with an id, its fan-out cursor moving
// only forward from where it stands (so that a page is never counted twice), skipped users counted in
// AlertCounts, and the pending list emptied by MarkFannedOut, across a restart.
func testAlerts(t *testing.T, open Open) {
	f := newFixture(t, open)
	ctx := t.Context()
	if _, err := f.s.GetAlert(ctx, 1); affiliate.ErrorCode(err) != affiliate.ENotFound {
		t.Fatalf("get missing alert: %v", err)
	}
	a1, err := f.s.CreateAlert(ctx, affiliate.Alert{Title: "Aturan baru", Body: "Isi", Audience: affiliate.AudienceAll, Source: "api", FannedOut: true})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := f.s.CreateAlert(ctx, affiliate.Alert{Title: "Kedua", Audience: affiliate.AudienceSellers, Source: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID == 0 || a2.ID <= a1.ID || a1.FannedOut || !a1.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("created %+v and %+v", a1, a2)
	}
	if got, err := f.s.GetAlert(ctx, a1.ID); err != nil || got.Title != "Aturan baru" || got.Body != "Isi" || got.Audience != affiliate.AudienceAll {
		t.Fatalf("get alert: %+v %v", got, err)
	}
	if p, err := f.s.PendingAlerts(ctx); err != nil || len(p) != 2 || p[0].ID != a1.ID || p[1].ID != a2.ID {
		t.Fatalf("pending %+v %v", p, err)
	}

	if ok, err := f.s.AdvanceFanout(ctx, a1.ID, 0, 100, 3); err != nil || !ok {
		t.Fatalf("advance 0→100: %v %v", ok, err)
	}
	// A run that read the cursor before the first one moved it changes nothing.
	if ok, err := f.s.AdvanceFanout(ctx, a1.ID, 0, 100, 3); err != nil || ok {
		t.Fatalf("advance 0→100 again: %v %v", ok, err)
	}
	if ok, err := f.s.AdvanceFanout(ctx, a1.ID, 100, 50, 0); err != nil || ok {
		t.Fatalf("advance backwards: %v %v", ok, err)
	}
	if _, err := f.s.AdvanceFanout(ctx, 999, 0, 1, 0); affiliate.ErrorCode(err) != affiliate.ENotFound {
		t.Fatalf("advance missing alert: %v", err)
	}
	f.restart(t)
	if p, err := f.s.AlertProgress(ctx, a1.ID); err != nil || p.Cursor != 100 {
		t.Fatalf("progress %+v %v", p, err)
	}
	if c, err := f.s.AlertCounts(ctx, a1.ID); err != nil || c.Skipped != 3 {
		t.Fatalf("counts %+v %v", c, err)
	}
	if ok, err := f.s.AdvanceFanout(ctx, a1.ID, 100, 250, 2); err != nil || !ok {
		t.Fatalf("advance 100→250: %v %v", ok, err)
	}
	if c, err := f.s.AlertCounts(ctx, a1.ID); err != nil || c.Skipped != 5 {
		t.Fatalf("counts %+v %v", c, err)
	}
	for range 2 {
		if err := f.s.MarkFannedOut(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := f.s.GetAlert(ctx, a1.ID); err != nil || !got.FannedOut {
		t.Fatalf("after MarkFannedOut: %+v %v", got, err)
	}
	f.restart(t)
	if p, err := f.s.PendingAlerts(ctx); err != nil || len(p) != 1 || p[0].ID != a2.ID {
		t.Fatalf("pending after fan-out %+v %v", p, err)
	}
	// The id sequence survives a restart.
	a3, err := f.s.CreateAlert(ctx, affiliate.Alert{Title: "Ketiga", Audience: affiliate.AudienceAll})
	if err != nil || a3.ID <= a2.ID {
		t.Fatalf("third alert %+v %v", a3, err)
	}
}

// testFeedItems checks the feed state: a feed's first read only remembers its items, a later read makes
// one alert of each new item in the same call, and the same items read again, also after a restart,
// make nothing.
func testFeedItems(t *testing.T, open Open) {
	f := newFixture(t, open)
	ctx := t.Context()
	const feed, other = "https://policy.example.com/rss", "https://policy.example.com/atom"
	item := func(id, title string) affiliate.FeedItem {
		return affiliate.FeedItem{ID: id, Alert: affiliate.Alert{Title: title, Audience: affiliate.AudienceAll, Source: "feed:" + feed}}
	}
	if seen, polled, err := f.s.FeedItems(ctx, feed); err != nil || polled || len(seen) != 0 {
		t.Fatalf("new feed: %v %v %v", seen, polled, err)
	}
	created, err := f.s.RecordFeedItems(ctx, feed, []affiliate.FeedItem{item("g:1", "Satu"), item("g:2", "Dua"), item("", "Tanpa id")})
	if err != nil || len(created) != 0 {
		t.Fatalf("first read created %+v %v", created, err)
	}
	if p, _ := f.s.PendingAlerts(ctx); len(p) != 0 {
		t.Fatalf("first read left alerts %+v", p)
	}
	seen, polled, err := f.s.FeedItems(ctx, feed)
	if err != nil || !polled || len(seen) != 2 || !seen["g:1"] || !seen["g:2"] {
		t.Fatalf("after first read: %v %v %v", seen, polled, err)
	}
	if _, polled, _ := f.s.FeedItems(ctx, other); polled {
		t.Fatal("another feed counts as read")
	}
	f.restart(t)
	created, err = f.s.RecordFeedItems(ctx, feed, []affiliate.FeedItem{item("g:1", "Satu"), item("g:3", "Tiga"), item("g:3", "Tiga lagi")})
	if err != nil || len(created) != 1 || created[0].Title != "Tiga" || created[0].ID == 0 {
		t.Fatalf("second read created %+v %v", created, err)
	}
	if p, err := f.s.PendingAlerts(ctx); err != nil || len(p) != 1 || p[0].ID != created[0].ID || p[0].Source != "feed:"+feed {
		t.Fatalf("pending %+v %v", p, err)
	}
	f.restart(t)
	if again, err := f.s.RecordFeedItems(ctx, feed, []affiliate.FeedItem{item("g:3", "Tiga"), item("g:2", "Dua")}); err != nil || len(again) != 0 {
		t.Fatalf("repeated read created %+v %v", again, err)
	}
	// The same item ids in another feed are that feed's own (and its first read is silent).
	if c, err := f.s.RecordFeedItems(ctx, other, []affiliate.FeedItem{item("g:3", "Tiga")}); err != nil || len(c) != 0 {
		t.Fatalf("other feed first read %+v %v", c, err)
	}
	if c, err := f.s.RecordFeedItems(ctx, other, []affiliate.FeedItem{item("g:4", "Empat")}); err != nil || len(c) != 1 {
		t.Fatalf("other feed second read %+v %v", c, err)
	}
}

// testBroadcasts checks the broadcast limit: one per seller per affiliate.BroadcastInterval, checked and
// recorded at once, with increasing ids.
func testBroadcasts(t *testing.T, open Open) {
	f := newFixture(t, open)
	ctx := t.Context()
	now := f.clock.Now()
	if last, err := f.s.LastBroadcast(ctx, 10); err != nil || !last.IsZero() {
		t.Fatalf("last broadcast of a new seller: %v %v", last, err)
	}
	id1, err := f.s.BeginBroadcast(ctx, 10, now)
	if err != nil || id1 == 0 {
		t.Fatalf("first broadcast: %v %v", id1, err)
	}
	if _, err := f.s.BeginBroadcast(ctx, 10, now.Add(59*time.Minute)); affiliate.ErrorReason(err) != "broadcast_too_soon" {
		t.Fatalf("second broadcast within the hour: %v", err)
	}
	id2, err := f.s.BeginBroadcast(ctx, 11, now)
	if err != nil || id2 == id1 {
		t.Fatalf("another seller's broadcast: %v %v", id2, err)
	}
	f.restart(t)
	if last, err := f.s.LastBroadcast(ctx, 10); err != nil || !last.Equal(now) {
		t.Fatalf("last broadcast %v %v, want %v", last, err, now)
	}
	id3, err := f.s.BeginBroadcast(ctx, 10, now.Add(time.Hour))
	if err != nil || id3 <= id2 {
		t.Fatalf("broadcast an hour later: %v %v", id3, err)
	}
}

package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// clickSetup is a seller (10) with two products and an affiliate (20) with a link to each, and a second
// affiliate (21) with a link to the first.
func clickSetup(t *testing.T, open Open) (f *fixture, l1, l2, l3 affiliate.Link) {
	f = newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "Ani")
	f.user(t, 21, "Budi")
	p := f.product(t, 10, "Kopi", 1000)
	q := f.product(t, 10, "Teh", 1000)
	return f, f.join(t, 20, p.ID), f.join(t, 20, q.ID), f.join(t, 21, p.ID)
}

func testUniqueClicks(t *testing.T, open Open) {
	f, l1, l2, _ := clickSetup(t, open)
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name    string
		click   affiliate.Click
		unique  bool
		logged  bool
		clicks  int64
		uniques int64
	}{
		{"first click", click(l1, "a1", t0, 1), true, true, 1, 1},
		{"repeat an hour later", click(l1, "a2", t0.Add(time.Hour), 1), false, true, 2, 1},
		{"other visitor", click(l1, "a3", t0.Add(time.Hour), 2), true, true, 3, 2},
		{"same visitor, other link", click(l2, "a4", t0.Add(time.Hour), 1), true, true, 3, 2},
		{"just under 24h after the last click", click(l1, "a5", t0.Add(25*time.Hour-time.Nanosecond), 1), false, true, 4, 2},
		{"exactly 24h after the last click", click(l1, "a6", t0.Add(49*time.Hour-time.Nanosecond), 1), true, true, 5, 3},
		{"bot", affiliate.Click{Code: l1.Code, AffiliateID: 20, ProductID: l1.ProductID, SellerID: 10, At: t0.Add(50 * time.Hour), Visitor: 9, Bot: true}, false, false, 5, 3},
		{"retried click id", click(l1, "a1", t0.Add(51*time.Hour), 7), false, true, 5, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out := f.record(t, st.click)
			if len(out) != 1 || out[0].Unique != st.unique {
				t.Fatalf("unique = %v, want %v", out[0].Unique, st.unique)
			}
			if _, err := f.s.GetClick(t.Context(), out[0].ID); (err == nil) != st.logged {
				t.Fatalf("logged: %v, want %v", err, st.logged)
			}
			c, err := f.s.LinkCounts(t.Context(), l1.Code, time.Time{}, time.Time{})
			if err != nil || c.Clicks != st.clicks || c.UniqueClicks != st.uniques {
				t.Fatalf("counts %+v %v, want %d/%d", c, err, st.clicks, st.uniques)
			}
		})
	}
	if c, _ := f.s.LinkCounts(t.Context(), l1.Code, time.Time{}, time.Time{}); c.BotVisits != 1 {
		t.Fatalf("bot visits %+v", c)
	}
	got, err := f.s.GetClick(t.Context(), "a3")
	want := click(l1, "a3", t0.Add(time.Hour), 2)
	want.Unique = true
	if err != nil || got != want {
		t.Fatalf("click %+v %v, want %+v", got, err, want)
	}
	_, err = f.s.GetClick(t.Context(), "missing")
	wantErr(t, err, affiliate.ErrClickNotFound)
}

func testRecordClicksBatch(t *testing.T, open Open) {
	f, l1, _, l3 := clickSetup(t, open)
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	batch := []affiliate.Click{
		click(l1, "b1", t0, 1),
		click(l1, "b2", t0.Add(time.Minute), 1),
		click(l3, "b3", t0.Add(time.Minute), 1),
		click(l1, "", t0.Add(2*time.Minute), 2),
		click(l1, "b1", t0.Add(3*time.Minute), 3), // same id within the batch
	}
	out := f.record(t, batch...)
	wantUnique := []bool{true, false, true, true, false}
	for i, c := range out {
		if c.Unique != wantUnique[i] {
			t.Fatalf("click %d unique %v", i, c.Unique)
		}
	}
	if out[3].ID == "" || len(out[3].ID) != affiliate.ClickIDLen {
		t.Fatalf("generated id %q", out[3].ID)
	}
	if batch[0].Unique {
		t.Fatal("input slice modified")
	}
	if c, _ := f.s.LinkCounts(t.Context(), l1.Code, time.Time{}, time.Time{}); c != (affiliate.Counts{Clicks: 3, UniqueClicks: 2}) {
		t.Fatalf("link counts %+v", c)
	}
	if st, _ := f.s.Stats(t.Context()); st.Clicks != 4 {
		t.Fatalf("stats clicks %d", st.Clicks)
	}
	bad := click(l1, "b9", t0, 1)
	bad.Code = "bad"
	if _, err := f.s.RecordClicks(t.Context(), []affiliate.Click{click(l1, "b8", t0, 1), bad}); affiliate.ErrorCode(err) != affiliate.EInvalid {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := f.s.GetClick(t.Context(), "b8"); err == nil {
		t.Fatal("part of a refused batch was written")
	}
	if out, err := f.s.RecordClicks(t.Context(), nil); err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %v %v", out, err)
	}
}

func testHourlyAggregation(t *testing.T, open Open) {
	f, l1, l2, l3 := clickSetup(t, open)
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	f.record(t,
		click(l1, "h1", at("2024-03-09T16:59:59Z"), 1), // 23:59:59 WIB on 9 March
		click(l1, "h2", at("2024-03-09T17:00:00Z"), 2), // 00:00 WIB on 10 March
		click(l2, "h3", at("2024-03-09T23:59:59Z"), 3), // end of the UTC day
		click(l1, "h4", at("2024-03-10T00:00:00Z"), 4), // next UTC day
		click(l3, "h5", at("2024-03-10T16:59:59Z"), 5), // last second of 10 March WIB, other affiliate
		click(l1, "h6", at("2024-03-10T17:00:00Z"), 6), // 11 March WIB
	)
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	day := func(loc *time.Location, d int) (time.Time, time.Time) {
		from := time.Date(2024, 3, d, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 0, 1)
	}
	jFrom, jTo := day(jkt, 10)
	uFrom, uTo := day(time.UTC, 9)
	tests := []struct {
		name     string
		code     string
		aff      int64
		from, to time.Time
		link     int64
		affCount int64
	}{
		{"jakarta 10 march, link", l1.Code, 20, jFrom, jTo, 2, 3},
		{"utc 9 march", l1.Code, 20, uFrom, uTo, 2, 3},
		{"one hour across midnight UTC", l1.Code, 20, at("2024-03-09T23:00:00Z"), at("2024-03-10T01:00:00Z"), 1, 2},
		{"hour boundary excludes the next hour", l1.Code, 20, at("2024-03-09T16:00:00Z"), at("2024-03-09T17:00:00Z"), 1, 1},
		{"partial hour counts whole", l1.Code, 20, at("2024-03-09T16:30:00Z"), at("2024-03-09T17:00:01Z"), 2, 2},
		{"open start", l1.Code, 20, time.Time{}, at("2024-03-10T00:00:00Z"), 2, 3},
		{"open end", l1.Code, 20, at("2024-03-10T00:00:00Z"), time.Time{}, 2, 2},
		{"all time", l1.Code, 20, time.Time{}, time.Time{}, 4, 5},
		{"other affiliate jakarta", l3.Code, 21, jFrom, jTo, 1, 1},
		{"empty range", l1.Code, 20, jTo, jFrom, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.s.LinkCounts(t.Context(), tt.code, tt.from, tt.to)
			if err != nil || c.Clicks != tt.link {
				t.Fatalf("link counts %+v %v, want %d", c, err, tt.link)
			}
			a, err := f.s.AffiliateCounts(t.Context(), tt.aff, tt.from, tt.to)
			if err != nil || a.Clicks != tt.affCount {
				t.Fatalf("affiliate counts %+v %v, want %d", a, err, tt.affCount)
			}
		})
	}
	_, err = f.s.LinkCounts(t.Context(), "ZZZZZZZZ", time.Time{}, time.Time{})
	wantErr(t, err, affiliate.ErrLinkNotFound)
	if a, _ := f.s.AffiliateCounts(t.Context(), 999, time.Time{}, time.Time{}); a != (affiliate.Counts{}) {
		t.Fatalf("unknown affiliate %+v", a)
	}
}

func testAffiliateReport(t *testing.T, open Open) {
	f, l1, l2, l3 := clickSetup(t, open)
	f.seller(t, 11, "Lain")
	f.user(t, 22, "Citra")
	other := f.product(t, 11, "Lain", 1000)
	lOther := f.join(t, 20, other.ID)
	l4 := f.join(t, 22, l1.ProductID) // enrolled, never clicked
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	f.record(t,
		click(l3, "r1", t0, 1), click(l3, "r2", t0, 2), click(l3, "r3", t0, 2),
		click(l1, "r4", t0, 1), click(l1, "r5", t0, 3),
		click(l2, "r6", t0, 1),
		click(lOther, "r7", t0, 1),
		click(l1, "r8", t0.Add(48*time.Hour), 1), // outside the range
	)
	from, to := t0.Add(-time.Hour), t0.Add(time.Hour)
	rows, err := f.s.AffiliateReport(t.Context(), 10, 0, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []affiliate.ReportRow{
		{AffiliateID: 21, AffiliateName: "Budi", ProductID: l3.ProductID, ProductName: "Kopi", Code: l3.Code, Counts: affiliate.Counts{Clicks: 3, UniqueClicks: 2}},
		{AffiliateID: 20, AffiliateName: "Ani", ProductID: l1.ProductID, ProductName: "Kopi", Code: l1.Code, Counts: affiliate.Counts{Clicks: 2, UniqueClicks: 2}},
		{AffiliateID: 20, AffiliateName: "Ani", ProductID: l2.ProductID, ProductName: "Teh", Code: l2.Code, Counts: affiliate.Counts{Clicks: 1, UniqueClicks: 1}},
		{AffiliateID: 22, AffiliateName: "Citra", ProductID: l4.ProductID, ProductName: "Kopi", Code: l4.Code},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Fatalf("row %d: %+v, want %+v", i, rows[i], want[i])
		}
	}
	rows, err = f.s.AffiliateReport(t.Context(), 10, l2.ProductID, from, to)
	if err != nil || len(rows) != 1 || rows[0].Code != l2.Code {
		t.Fatalf("one product: %+v %v", rows, err)
	}
	_, err = f.s.AffiliateReport(t.Context(), 10, other.ID, from, to)
	wantErr(t, err, affiliate.ErrProductNotFound)
	if rows, _ := f.s.AffiliateReport(t.Context(), 99, 0, from, to); len(rows) != 0 {
		t.Fatalf("seller without products: %+v", rows)
	}
}

func testPruneVisitors(t *testing.T, open Open) {
	f, l1, l2, _ := clickSetup(t, open)
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	f.record(t, click(l1, "p1", t0, 1), click(l2, "p2", t0.Add(2*time.Hour), 1), click(l1, "p3", t0.Add(3*time.Hour), 2))
	n, err := f.s.PruneVisitors(t.Context(), t0.Add(2*time.Hour+time.Second))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	// A pruned visitor counts as unique again; a kept one does not.
	out := f.record(t, click(l1, "p4", t0.Add(4*time.Hour), 1), click(l1, "p5", t0.Add(4*time.Hour), 2))
	if !out[0].Unique || out[1].Unique {
		t.Fatalf("after prune: %v %v", out[0].Unique, out[1].Unique)
	}
}

// testRecordClicksMatchesModel records random batches (repeat visitors around the 24-hour window, bot
// visits, ids repeated within a batch and across batches, generated ids, ids out of time order) and
// checks every decision and count against a direct implementation of the rules.
func testRecordClicksMatchesModel(t *testing.T, open Open) {
	f, l1, l2, l3 := clickSetup(t, open)
	links := []affiliate.Link{l1, l2, l3}
	rng := rand.New(rand.NewPCG(7, 8))
	type vk struct {
		code    string
		visitor uint64
	}
	last := map[vk]time.Time{}
	logged := map[string]affiliate.Click{}
	linkCounts := map[string]affiliate.Counts{}
	affCounts := map[int64]affiliate.Counts{}
	hourCounts := map[string]map[int64]affiliate.Counts{} // code → unix hour → counts
	var nClicks int64
	at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	var history []string
	apply := func(batchNo int, out []affiliate.Click) {
		for i, c := range out {
			var d affiliate.Counts
			want := false
			if c.Bot {
				d.BotVisits = 1
			} else {
				if _, ok := logged[c.ID]; ok {
					if c.Unique {
						t.Fatalf("batch %d click %d: repeated id %q counted unique", batchNo, i, c.ID)
					}
					continue
				}
				k := vk{c.Code, c.Visitor}
				prev, ok := last[k]
				want = !ok || c.At.Sub(prev) >= affiliate.UniqueWindow
				if !ok || c.At.After(prev) {
					last[k] = c.At
				}
				logged[c.ID] = affiliate.Click{ID: c.ID, Code: c.Code, ProductID: c.ProductID, AffiliateID: c.AffiliateID,
					SellerID: c.SellerID, At: c.At, Visitor: c.Visitor, Unique: want}
				d.Clicks = 1
				if want {
					d.UniqueClicks = 1
				}
				nClicks++
			}
			if c.Unique != want {
				t.Fatalf("batch %d click %d (%+v): unique %v, want %v", batchNo, i, c, c.Unique, want)
			}
			lc := linkCounts[c.Code]
			lc.Add(d)
			linkCounts[c.Code] = lc
			ac := affCounts[c.AffiliateID]
			ac.Add(d)
			affCounts[c.AffiliateID] = ac
			if hourCounts[c.Code] == nil {
				hourCounts[c.Code] = map[int64]affiliate.Counts{}
			}
			hc := hourCounts[c.Code][c.At.Unix()/3600]
			hc.Add(d)
			hourCounts[c.Code][c.At.Unix()/3600] = hc
		}
	}
	for batchNo := range 60 {
		batch := make([]affiliate.Click, 1+rng.IntN(40))
		for i := range batch {
			at = at.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
			l := links[rng.IntN(len(links))]
			var id string
			switch r := rng.IntN(10); {
			case r == 0 && len(history) > 0:
				id = history[rng.IntN(len(history))] // already logged (or earlier in this batch)
			case r == 1:
				id = "" // the store makes one up
			case r == 2:
				id = fmt.Sprintf("x%06d", rng.IntN(1000)) // not time-ordered, sometimes repeated
			default:
				var b [affiliate.ClickIDLen]byte
				affiliate.PutClickTime(b[:], at)
				for j := affiliate.ClickIDTimeLen; j < affiliate.ClickIDLen; j++ {
					b[j] = affiliate.Alphabet[rng.IntN(len(affiliate.Alphabet))]
				}
				id = string(b[:])
			}
			batch[i] = click(l, id, at, uint64(rng.IntN(4)))
			batch[i].Bot = rng.IntN(12) == 0
			if id != "" {
				history = append(history, id)
			}
		}
		calls := 1
		if batchNo%7 == 3 {
			calls = 2 // a retried batch: the same clicks again, right after
		}
		for call := range calls {
			out := f.record(t, batch...)
			for i, c := range out {
				if c.ID == "" && !c.Bot {
					t.Fatalf("batch %d click %d has no id", batchNo, i)
				}
				if batch[i].ID == "" && !c.Bot {
					var p [affiliate.ClickIDTimeLen]byte
					affiliate.PutClickTime(p[:], c.At)
					if len(c.ID) != affiliate.ClickIDLen || c.ID[:affiliate.ClickIDTimeLen] != string(p[:]) {
						t.Fatalf("generated id %q for a click at %v", c.ID, c.At)
					}
				}
				if call == 1 && c.Unique {
					t.Fatalf("retried batch %d: %+v counted unique", batchNo, c)
				}
			}
			apply(batchNo, out)
		}
	}
	for id, want := range logged {
		got, err := f.s.GetClick(t.Context(), id)
		if err != nil || got != want {
			t.Fatalf("GetClick(%q) = %+v, %v; want %+v", id, got, err, want)
		}
	}
	for _, l := range links {
		if got, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); err != nil || got != linkCounts[l.Code] {
			t.Fatalf("link %s: %+v %v, want %+v", l.Code, got, err, linkCounts[l.Code])
		}
		for h, want := range hourCounts[l.Code] {
			from := time.Unix(h*3600, 0)
			if got, err := f.s.LinkCounts(t.Context(), l.Code, from, from.Add(time.Hour)); err != nil || got != want {
				t.Fatalf("link %s hour %v: %+v %v, want %+v", l.Code, from, got, err, want)
			}
		}
	}
	for aff, want := range affCounts {
		if got, err := f.s.AffiliateCounts(t.Context(), aff, time.Time{}, time.Time{}); err != nil || got != want {
			t.Fatalf("affiliate %d: %+v %v, want %+v", aff, got, err, want)
		}
	}
	if st, err := f.s.Stats(t.Context()); err != nil || st.Clicks != nClicks {
		t.Fatalf("stats %+v %v, want %d clicks", st, err, nClicks)
	}
}

func testPruneClicksKeepsAggregates(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Shop")
	p := f.product(t, 10, "Batik", 1000)
	f.user(t, 20, "A")
	l := f.join(t, 20, p.ID)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var clicks []affiliate.Click
	for i := range 12 {
		at := base.Add(time.Duration(i) * time.Hour)
		id := make([]byte, affiliate.ClickIDLen)
		affiliate.PutClickTime(id, at)
		copy(id[affiliate.ClickIDTimeLen:], fmt.Sprintf("%09d", i))
		clicks = append(clicks, click(l, string(id), at, uint64(i)))
	}
	// One batch a click: a backend may keep a whole batch while any of its clicks is at or after the
	// limit (see testPruneClicksAcrossBatches).
	for _, c := range clicks {
		f.record(t, c)
	}
	before, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{})
	if err != nil || before.Clicks != 12 {
		t.Fatalf("counts before: %+v %v", before, err)
	}
	n, err := f.s.PruneClicks(t.Context(), base.Add(5*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	if _, err := f.s.GetClick(t.Context(), clicks[4].ID); !errors.Is(err, affiliate.ErrClickNotFound) {
		t.Fatalf("click before the limit still there: %v", err)
	}
	if _, err := f.s.GetClick(t.Context(), clicks[5].ID); err != nil {
		t.Fatalf("click at the limit pruned: %v", err)
	}
	after, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{})
	if err != nil || after != before {
		t.Fatalf("counts changed by pruning: %+v → %+v (%v)", before, after, err)
	}
	if n, err := f.s.PruneClicks(t.Context(), base.Add(5*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
}

// redirectID is a click id of the redirect's layout for a click at at, ending in n.
func redirectID(at time.Time, n int) string {
	id := make([]byte, affiliate.ClickIDLen)
	affiliate.PutClickTime(id, at)
	copy(id[affiliate.ClickIDTimeLen:], fmt.Sprintf("%09d", n))
	return string(id)
}

// testPruneClicksAcrossBatches prunes a log of several batches with a limit inside one of them: every
// click at or after the limit stays, batches wholly before it go, and clicks of the batch that spans the
// limit may stay (PruneClicks deletes at least what is wholly older, never anything newer).
func testPruneClicksAcrossBatches(t *testing.T, open Open) {
	f, l1, l2, _ := clickSetup(t, open)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var all []affiliate.Click
	for b := range 4 { // batches of 3 clicks, an hour apart within a batch, 10 hours between batches
		var batch []affiliate.Click
		for i := range 3 {
			at := base.Add(time.Duration(10*b+i) * time.Hour)
			l := l1
			if i == 1 {
				l = l2
			}
			batch = append(batch, click(l, redirectID(at, 3*b+i), at, uint64(i)))
		}
		all = append(all, f.record(t, batch...)...)
	}
	limit := base.Add(21 * time.Hour) // inside the third batch (20 h, 21 h, 22 h)
	n, err := f.s.PruneClicks(t.Context(), limit)
	if err != nil || n < 6 || n > 7 {
		t.Fatalf("pruned %d, %v; want the 6 clicks of the first two batches (7 with the third's first)", n, err)
	}
	gone := 0
	for _, c := range all {
		got, err := f.s.GetClick(t.Context(), c.ID)
		switch {
		case err == nil && got != c:
			t.Fatalf("click %s = %+v, want %+v", c.ID, got, c)
		case err != nil && !errors.Is(err, affiliate.ErrClickNotFound):
			t.Fatal(err)
		case err != nil && !c.At.Before(limit):
			t.Fatalf("click %s at %v pruned with limit %v", c.ID, c.At, limit)
		case err != nil:
			gone++
		case c.At.Before(base.Add(20 * time.Hour)):
			t.Fatalf("click %s of a batch wholly before the limit kept", c.ID)
		}
	}
	if gone != n {
		t.Fatalf("%d clicks gone, PruneClicks said %d", gone, n)
	}
	if st, err := f.s.Stats(t.Context()); err != nil || st.Clicks != 12 {
		t.Fatalf("stats after prune %+v %v", st, err)
	}
	if n, err := f.s.PruneClicks(t.Context(), base.Add(100*time.Hour)); err != nil || n != 12-gone {
		t.Fatalf("pruning everything: %d %v, want %d", n, err, 12-gone)
	}
	// An empty log takes new clicks, and a retried batch is still not counted twice.
	late := []affiliate.Click{click(l1, redirectID(base.Add(200*time.Hour), 1), base.Add(200*time.Hour), 1)}
	f.record(t, late...)
	if out := f.record(t, late...); out[0].Unique {
		t.Fatal("retried click counted unique after prune")
	}
	if c, _ := f.s.LinkCounts(t.Context(), l1.Code, base.Add(200*time.Hour), base.Add(201*time.Hour)); c.Clicks != 1 {
		t.Fatalf("retried click counted again: %+v", c)
	}
}

// testClicksAcrossBatches records batches whose ids interleave (ids out of time order, as clicks given
// their own ids may be) and checks that every click is found, that no id is logged twice, and that a
// retried batch and single repeated ids are not counted again.
func testClicksAcrossBatches(t *testing.T, open Open) {
	f, l1, l2, _ := clickSetup(t, open)
	t0 := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	want := map[string]affiliate.Click{}
	var clicks int64
	rec := func(ids ...string) []affiliate.Click {
		t.Helper()
		batch := make([]affiliate.Click, len(ids))
		for i, id := range ids {
			l := l1
			if i%2 == 1 {
				l = l2
			}
			batch[i] = click(l, id, t0.Add(time.Duration(len(want)+i)*time.Minute), uint64(100+len(want)+i))
		}
		out := f.record(t, batch...)
		for _, c := range out {
			if _, ok := want[c.ID]; !ok {
				want[c.ID] = c
				clicks++
			}
		}
		return out
	}
	rec("m10", "m20", "m30")        // the first record: m10…m30
	rec("m40", "z90")               // above it
	rec("m15", "m25", "a00", "m35") // inside the first record, before it, and between the two
	rec("m50", "z99", "m36")        // inside the second record, after it, between
	if out := rec("m15", "z99", "m10", "a00"); slices.ContainsFunc(out, func(c affiliate.Click) bool { return c.Unique }) {
		t.Fatal("repeated ids counted unique")
	}
	if out := rec("m50", "z99", "m36"); slices.ContainsFunc(out, func(c affiliate.Click) bool { return c.Unique }) {
		t.Fatal("retried batch counted unique")
	}
	rec("m12", "m11", "z95", "a01", "m37")
	for id, c := range want {
		got, err := f.s.GetClick(t.Context(), id)
		if err != nil || got != c {
			t.Fatalf("GetClick(%q) = %+v, %v; want %+v", id, got, err, c)
		}
	}
	for _, id := range []string{"m", "m1", "m100", "m21", "a", "z", "z999", "zz", "0", "m38"} {
		if _, err := f.s.GetClick(t.Context(), id); !errors.Is(err, affiliate.ErrClickNotFound) {
			t.Fatalf("GetClick(%q): %v, want not found", id, err)
		}
	}
	if st, err := f.s.Stats(t.Context()); err != nil || st.Clicks != clicks {
		t.Fatalf("stats %+v %v, want %d clicks", st, err, clicks)
	}
	c1, _ := f.s.LinkCounts(t.Context(), l1.Code, time.Time{}, time.Time{})
	c2, _ := f.s.LinkCounts(t.Context(), l2.Code, time.Time{}, time.Time{})
	if c1.Clicks+c2.Clicks != clicks {
		t.Fatalf("link counts %+v + %+v, want %d clicks", c1, c2, clicks)
	}
}

// testClicksOneMillisecond records batches whose ids all share one time prefix, so that every batch's
// ids fall among the ones logged before (as with a clock that stands still), retries one, and checks
// that every click is found once and counted once.
func testClicksOneMillisecond(t *testing.T, open Open) {
	f, l1, _, _ := clickSetup(t, open)
	at := time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(13, 14))
	want := map[string]affiliate.Click{}
	var batches [][]affiliate.Click
	for b := range 6 {
		batch := make([]affiliate.Click, 700)
		for i := range batch {
			var id [affiliate.ClickIDLen]byte
			affiliate.PutClickTime(id[:], at)
			for j := affiliate.ClickIDTimeLen; j < affiliate.ClickIDLen; j++ {
				id[j] = affiliate.Alphabet[rng.IntN(len(affiliate.Alphabet))]
			}
			batch[i] = click(l1, string(id[:]), at, uint64(b*1000+i))
		}
		for _, c := range f.record(t, batch...) {
			want[c.ID] = c
		}
		batches = append(batches, batch)
	}
	for _, c := range f.record(t, batches[2]...) {
		if c.Unique {
			t.Fatalf("retried click %s counted unique", c.ID)
		}
	}
	for id, c := range want {
		if got, err := f.s.GetClick(t.Context(), id); err != nil || got != c {
			t.Fatalf("GetClick(%q) = %+v, %v; want %+v", id, got, err, c)
		}
	}
	if c, err := f.s.LinkCounts(t.Context(), l1.Code, time.Time{}, time.Time{}); err != nil || c.Clicks != int64(len(want)) {
		t.Fatalf("counts %+v %v, want %d clicks", c, err, len(want))
	}
}

package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// dueIDs lists the user ids DigestDue returns for a zone and minute range, read in pages of two so that
// keyset paging is exercised.
func dueIDs(t *testing.T, s Backend, zone string, from, to int, skip string) []int64 {
	t.Helper()
	var ids []int64
	var after affiliate.DigestEntry
	for {
		page, err := s.DigestDue(t.Context(), zone, from, to, skip, after, 2)
		if err != nil {
			t.Fatalf("digest due %q [%d, %d]: %v", zone, from, to, err)
		}
		if len(page) == 0 {
			return ids
		}
		for _, e := range page {
			ids = append(ids, e.UserID)
		}
		after = page[len(page)-1]
	}
}

// testDigestSchedule checks that the digest schedule follows every user write: registration, a new
// digest time or zone, the digest turned off and on, erasure; that a range finds exactly the users whose
// minute is in it, in minute order; that the handled date survives a move and a restart and leaves
// entries out; and that DigestZones names the zones in use.
func testDigestSchedule(t *testing.T, open Open) {
	f := newFixture(t, open)
	ctx := t.Context()
	set := func(id int64, zone string, minute int) {
		t.Helper()
		if _, err := f.s.UpdateUser(ctx, id, func(u *affiliate.User) error { u.TimeZone, u.DigestMinute = zone, minute; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(1); id <= 6; id++ {
		f.user(t, id, fmt.Sprint("U", id)) // Asia/Jakarta, 21:00
	}
	set(2, "Asia/Jakarta", 8*60)
	set(3, "Asia/Makassar", 21*60)
	set(4, "Asia/Jayapura", 7*60+30)
	set(5, "Asia/Jakarta", -1)

	zones, err := f.s.DigestZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(zones)
	if want := []string{"Asia/Jakarta", "Asia/Jayapura", "Asia/Makassar"}; !slices.Equal(zones, want) {
		t.Fatalf("zones %v, want %v", zones, want)
	}
	check := func(zone string, from, to int, skip string, want ...int64) {
		t.Helper()
		if got := dueIDs(t, f.s, zone, from, to, skip); !slices.Equal(got, want) {
			t.Fatalf("due %q [%d, %d] skip %q: %v, want %v", zone, from, to, skip, got, want)
		}
	}
	check("Asia/Jakarta", 0, 1439, "", 2, 1, 6) // 08:00 first, then 21:00 by id; 5 is off
	check("Asia/Jakarta", 0, 21*60-1, "", 2)
	check("Asia/Jakarta", 21*60, 21*60, "", 1, 6)
	check("Asia/Makassar", 0, 1439, "", 3)
	check("Asia/Jayapura", 7*60+31, 1439, "")
	check("Europe/Paris", 0, 1439, "")
	check("Asia/Jakarta", 100, 50, "")

	// Handled dates: marked entries are left out of that date only, and a move keeps the date.
	due, err := f.s.DigestDue(ctx, "Asia/Jakarta", 0, 1439, "", affiliate.DigestEntry{}, 10)
	if err != nil || len(due) != 3 || due[0] != (affiliate.DigestEntry{Minute: 8 * 60, UserID: 2}) {
		t.Fatalf("entries %+v %v", due, err)
	}
	stale := affiliate.DigestEntry{Minute: 9 * 60, UserID: 6} // not where user 6 sits: not created
	if err := f.s.MarkDigests(ctx, "Asia/Jakarta", []affiliate.DigestEntry{due[0], due[1], stale}, "2024-03-10"); err != nil {
		t.Fatal(err)
	}
	check("Asia/Jakarta", 0, 1439, "2024-03-10", 6)
	check("Asia/Jakarta", 0, 1439, "2024-03-11", 2, 1, 6)
	set(1, "Asia/Jakarta", 22*60)
	set(2, "Asia/Makassar", 8*60)
	f.restart(t)
	check("Asia/Jakarta", 0, 1439, "2024-03-10", 6)
	check("Asia/Makassar", 0, 1439, "2024-03-10", 3)
	got, err := f.s.DigestDue(ctx, "Asia/Makassar", 0, 1439, "", affiliate.DigestEntry{}, 10)
	if err != nil || len(got) != 2 || got[0] != (affiliate.DigestEntry{Minute: 8 * 60, UserID: 2, Handled: "2024-03-10"}) {
		t.Fatalf("moved entry %+v %v", got, err)
	}

	// Off, on, re-registration and erasure.
	set(6, "Asia/Jakarta", -1)
	set(5, "Asia/Jakarta", 6*60)
	f.user(t, 5, "U5 again") // a refresh keeps the settings
	check("Asia/Jakarta", 0, 1439, "", 5, 1)
	if err := f.s.DeleteUserData(ctx, 1); err != nil {
		t.Fatal(err)
	}
	check("Asia/Jakarta", 0, 1439, "", 5)
	if err := f.s.DeleteUserData(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if zones, err = f.s.DigestZones(ctx); err != nil || slices.Contains(zones, "Asia/Jayapura") {
		t.Fatalf("zones after the last Jayapura user left: %v %v", zones, err)
	}
	if got, err := f.s.DigestDue(ctx, "Asia/Jakarta", 0, 1439, "", affiliate.DigestEntry{}, 0); err != nil || len(got) != 0 {
		t.Fatalf("limit 0: %v %v", got, err)
	}
}

// testAffiliateDigest checks the digest's counts: the period's, the month to date and the best product
// by commission, then clicks; and nothing beyond the period's counts for an idle affiliate.
func testAffiliateDigest(t *testing.T, open Open) {
	f := newOrderFixture(t, open) // affiliate 20 on Kopi (10%) through l
	ctx := t.Context()
	now := f.clock.Now() // 2024-03-10 05:00 UTC
	teh := f.product(t, 10, "Susu", 2000)
	l2 := f.join(t, 20, teh.ID)
	gula := f.product(t, 10, "Gula", 500)
	l3 := f.join(t, 20, gula.ID)
	day := now.Truncate(24 * time.Hour)
	f.record(t,
		click(f.l, cid("k1"), day.Add(time.Hour), 1), click(f.l, cid("k2"), day.Add(2*time.Hour), 2),
		click(f.l, cid("k3"), day.Add(3*time.Hour), 3), click(f.l, cid("k4"), day.Add(3*time.Hour+10*time.Minute), 5),
		click(l3, cid("g2"), day.Add(3*time.Hour), 6),
		click(l2, cid("t1"), day.Add(time.Hour), 1),
		click(l3, cid("g1"), day.Add(time.Hour), 4), click(l3, cid("g0"), day.Add(-48*time.Hour), 4), // earlier this month
	)
	// Teh earns the most commission although Kopi has more clicks.
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "o1", ClickID: cid("t1"), Amount: 100000, Status: affiliate.OrderPending, OccurredAt: day.Add(90 * time.Minute)})
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "o2", ClickID: cid("k1"), Amount: 100000, Status: affiliate.OrderSettled, OccurredAt: day.Add(2 * time.Hour)})

	monthFrom := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	d, err := f.s.AffiliateDigest(ctx, 20, day, day.Add(24*time.Hour), monthFrom)
	if err != nil {
		t.Fatal(err)
	}
	if d.Day.Clicks != 7 || d.Day.Orders != 2 || d.Day.GMV != 200000 || d.Day.CommissionPending != 20000 || d.Day.CommissionSettled != 10000 {
		t.Fatalf("day %+v", d.Day)
	}
	if d.Month.Clicks != 8 || d.Month.Orders != 2 {
		t.Fatalf("month %+v", d.Month)
	}
	if d.Best.ProductID != teh.ID || d.Best.Name != "Susu" || d.Best.Rate != 2000 || d.Best.Counts.Commission() != 20000 || d.Best.Counts.Clicks != 1 {
		t.Fatalf("best %+v", d.Best)
	}
	// Without orders the best is the product with the most clicks.
	d, err = f.s.AffiliateDigest(ctx, 20, day.Add(3*time.Hour), day.Add(24*time.Hour), monthFrom)
	if err != nil || d.Best.ProductID != f.p.ID || d.Best.Counts.Clicks != 2 || d.Day.Clicks != 3 {
		t.Fatalf("afternoon %+v %v", d, err)
	}
	// An idle period reads nothing more.
	d, err = f.s.AffiliateDigest(ctx, 20, day.Add(-24*time.Hour), day, monthFrom)
	if err != nil || d.Active() || d.Best != (affiliate.BestProduct{}) || d.Month != (affiliate.Counts{}) {
		t.Fatalf("idle %+v %v", d, err)
	}
	if d, err := f.s.AffiliateDigest(ctx, 99, day, day.Add(24*time.Hour), monthFrom); err != nil || d.Active() {
		t.Fatalf("unknown affiliate %+v %v", d, err)
	}
}

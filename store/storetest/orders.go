package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// orderFixture is a seller 10 with product Kopi at 10% joined by affiliate 20 (link l), and a seller 11
// with product Teh at 5% joined by affiliate 21 (link other).
type orderFixture struct {
	*fixture
	p, q     affiliate.Product
	l, other affiliate.Link
}

func newOrderFixture(t *testing.T, open Open) *orderFixture {
	t.Helper()
	f := &orderFixture{fixture: newFixture(t, open)}
	f.seller(t, 10, "Toko")
	f.seller(t, 11, "Lain")
	f.user(t, 20, "Ani")
	f.user(t, 21, "Budi")
	f.p = f.product(t, 10, "Kopi", 1000)
	f.q = f.product(t, 11, "Teh", 500)
	f.l = f.join(t, 20, f.p.ID)
	f.other = f.join(t, 21, f.q.ID)
	return f
}

// order records r and fails the test on an error.
func (f *orderFixture) order(t *testing.T, r affiliate.OrderReport) (affiliate.Order, bool) {
	t.Helper()
	o, changed, err := f.s.RecordOrder(t.Context(), r)
	if err != nil {
		t.Fatalf("record order %+v: %v", r, err)
	}
	return o, changed
}

// cid makes a click id of the valid form (affiliate.ValidClickID) from a short name.
func cid(name string) string {
	return (name + strings.Repeat("0", affiliate.ClickIDLen))[:affiliate.ClickIDLen]
}

func orderCounts(orders int64, gmv, refunded, pending, settled, reversed affiliate.Rupiah) affiliate.OrderCounts {
	return affiliate.OrderCounts{Orders: orders, GMV: gmv, Refunded: refunded, CommissionPending: pending, CommissionSettled: settled, CommissionReversed: reversed}
}

// wantOrderCounts checks the order columns of every aggregate the orders of link l move: the link's
// totals and hours, the affiliate's, the product's and the seller's, and the seller's report row.
func (f *orderFixture) wantOrderCounts(t *testing.T, l affiliate.Link, want affiliate.OrderCounts) {
	t.Helper()
	ctx := t.Context()
	day := f.clock.Now().Add(-48 * time.Hour)
	end := f.clock.Now().Add(48 * time.Hour)
	check := func(what string, c affiliate.Counts, err error) {
		t.Helper()
		if err != nil || c.OrderCounts != want {
			t.Fatalf("%s: %+v %v, want %+v", what, c.OrderCounts, err, want)
		}
	}
	c, err := f.s.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
	check("link totals", c, err)
	c, err = f.s.LinkCounts(ctx, l.Code, day, end)
	check("link hours", c, err)
	c, err = f.s.AffiliateCounts(ctx, l.AffiliateID, day, end)
	check("affiliate", c, err)
	c, err = f.s.ProductCounts(ctx, l.ProductID, time.Time{}, time.Time{})
	check("product", c, err)
	c, err = f.s.SellerCounts(ctx, l.SellerID, day, end)
	check("seller", c, err)
	rows, err := f.s.AffiliateReport(ctx, l.SellerID, l.ProductID, day, end)
	if err != nil || len(rows) != 1 {
		t.Fatalf("report %+v %v", rows, err)
	}
	check("report row", rows[0].Counts, nil)
}

func testRecordOrderLifecycle(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	now := f.clock.Now()
	f.record(t, click(f.l, cid("c1"), now.Add(-time.Hour), 1))
	new := affiliate.OrderReport{SellerID: 10, OrderID: "A-1", ClickID: cid("c1"), Amount: 100000, Status: affiliate.OrderPending, OccurredAt: now.Add(-time.Minute)}

	o, changed := f.order(t, new)
	if !changed || o.Commission != 10000 || o.Rate != 1000 || o.AffiliateID != 20 || o.LinkCode != f.l.Code ||
		o.ProductID != f.p.ID || o.SellerID != 10 || o.ClickID != cid("c1") || o.Status != affiliate.OrderPending {
		t.Fatalf("new order %+v changed %v", o, changed)
	}
	if got, err := f.s.GetOrder(ctx, 10, "A-1"); err != nil || !got.OccurredAt.Equal(o.OccurredAt) || got.Commission != o.Commission || got.Status != o.Status {
		t.Fatalf("stored %+v %v, want %+v", got, err, o)
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 0, 10000, 0, 0))
	if c, _ := f.s.LinkCounts(ctx, f.l.Code, time.Time{}, time.Time{}); c.Clicks != 1 {
		t.Fatalf("the order moved the clicks: %+v", c)
	}

	// The same report again changes nothing.
	if again, changed := f.order(t, new); changed || again.Commission != o.Commission || !again.UpdatedAt.Equal(o.UpdatedAt) {
		t.Fatalf("repeat: %+v changed %v", again, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 0, 10000, 0, 0))

	// Settled: the commission moves from pending to settled.
	f.clock.Advance(time.Hour)
	status := func(s affiliate.OrderStatus, refunded affiliate.Rupiah) affiliate.OrderReport {
		return affiliate.OrderReport{SellerID: 10, OrderID: "A-1", Status: s, RefundedAmount: refunded}
	}
	if o, changed = f.order(t, status(affiliate.OrderSettled, 0)); !changed || o.Status != affiliate.OrderSettled {
		t.Fatalf("settle: %+v %v", o, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 0, 0, 10000, 0))
	if _, changed = f.order(t, status(affiliate.OrderSettled, 0)); changed {
		t.Fatal("settling twice changed the order")
	}

	// A partial refund reverses its share of the commission; GMV stays gross.
	if o, changed = f.order(t, status(affiliate.OrderRefunded, 25000)); !changed || o.Reversed != 2500 || o.RefundedAmount != 25000 {
		t.Fatalf("partial refund: %+v %v", o, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 25000, 0, 10000, 2500))
	if _, changed = f.order(t, status(affiliate.OrderRefunded, 25000)); changed {
		t.Fatal("the same refund twice changed the order")
	}

	// Impossible transitions are refused and change nothing.
	for _, r := range []affiliate.OrderReport{status(affiliate.OrderPending, 0), status(affiliate.OrderSettled, 0), status(affiliate.OrderCancelled, 0), status(affiliate.OrderRefunded, 10000)} {
		_, _, err := f.s.RecordOrder(ctx, r)
		if affiliate.ErrorCode(err) != affiliate.EConflict {
			t.Fatalf("%s after a refund: %v, want a conflict", r.Status, err)
		}
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 25000, 0, 10000, 2500))

	// The rest of the refund reverses the rest.
	if o, changed = f.order(t, status(affiliate.OrderRefunded, 100000)); !changed || o.Reversed != 10000 {
		t.Fatalf("full refund: %+v %v", o, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(1, 100000, 100000, 0, 10000, 10000))

	// A cancelled order counts as an order and nothing else.
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "A-2", LinkCode: f.l.Code, Amount: 50000, Status: affiliate.OrderPending, OccurredAt: now})
	f.wantOrderCounts(t, f.l, orderCounts(2, 150000, 100000, 5000, 10000, 10000))
	if o, changed = f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "A-2", Status: affiliate.OrderCancelled}); !changed || o.Status != affiliate.OrderCancelled {
		t.Fatalf("cancel: %+v %v", o, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(2, 100000, 100000, 0, 10000, 10000))

	// Order ids are unique per seller, not across sellers.
	if o, changed = f.order(t, affiliate.OrderReport{SellerID: 11, OrderID: "A-1", LinkCode: f.other.Code, Amount: 20000, Status: affiliate.OrderPending, OccurredAt: now}); !changed || o.Commission != 1000 {
		t.Fatalf("another seller's A-1: %+v %v", o, changed)
	}
	f.wantOrderCounts(t, f.l, orderCounts(2, 100000, 100000, 0, 10000, 10000))
	f.wantOrderCounts(t, f.other, orderCounts(1, 20000, 0, 1000, 0, 0))
	if st, err := f.s.Stats(ctx); err != nil || st.Orders != 3 {
		t.Fatalf("stats %+v %v, want 3 orders", st, err)
	}

	// Everything is there after a restart.
	f.restart(t)
	f.wantOrderCounts(t, f.l, orderCounts(2, 100000, 100000, 0, 10000, 10000))
	if got, err := f.s.GetOrder(t.Context(), 10, "A-1"); err != nil || got.Reversed != 10000 || got.Status != affiliate.OrderRefunded {
		t.Fatalf("after restart %+v %v", got, err)
	}
	_, err := f.s.GetOrder(t.Context(), 10, "nope")
	wantErr(t, err, affiliate.ErrOrderNotFound)
}

func testOrderAttribution(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	now := f.clock.Now()
	window := affiliate.DefaultAttributionWindow
	f.record(t,
		click(f.l, cid("old"), now.Add(-window-time.Minute), 1),
		click(f.l, cid("edge"), now.Add(-window+time.Minute), 2),
		click(f.l, cid("late"), now.Add(-time.Minute), 3),
		click(f.other, cid("theirs"), now.Add(-time.Hour), 4),
	)
	rep := func(id, clickID, code string, at time.Time) affiliate.OrderReport {
		return affiliate.OrderReport{SellerID: 10, OrderID: id, ClickID: clickID, LinkCode: code, Amount: 10000, Status: affiliate.OrderPending, OccurredAt: at}
	}
	refused := []struct {
		name   string
		r      affiliate.OrderReport
		code   affiliate.Code
		reason string
	}{
		{"outside the window", rep("o1", cid("old"), "", now), affiliate.EUnprocessable, "outside_window"},
		{"before its click", rep("o2", cid("late"), "", now.Add(-time.Hour)), affiliate.EUnprocessable, "order_before_click"},
		{"unknown click", rep("o3", cid("nosuchclick"), "", now), affiliate.ENotFound, ""},
		{"unknown link code", rep("o4", "", "ZZZZZZZZ", now), affiliate.ENotFound, ""},
		{"another seller's link", rep("o5", "", f.other.Code, now), affiliate.ENotFound, ""},
		{"another seller's click", rep("o6", cid("theirs"), "", now), affiliate.ENotFound, ""},
		{"a change of an unknown order", affiliate.OrderReport{SellerID: 10, OrderID: "o7", Status: affiliate.OrderSettled}, affiliate.ENotFound, "order_not_found"},
		{"no order id", rep("", "", f.l.Code, now), affiliate.EInvalid, ""},
		{"in the future", rep("o8", "", f.l.Code, now.Add(time.Hour)), affiliate.EInvalid, ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.s.RecordOrder(ctx, tt.r)
			if affiliate.ErrorCode(err) != tt.code || (tt.reason != "" && affiliate.ErrorReason(err) != tt.reason) {
				t.Fatalf("error %v, want %s %s", err, tt.code, tt.reason)
			}
			if tt.r.OrderID != "" {
				_, err = f.s.GetOrder(ctx, tt.r.SellerID, tt.r.OrderID)
				wantErr(t, err, affiliate.ErrOrderNotFound)
			}
		})
	}
	f.wantOrderCounts(t, f.l, affiliate.OrderCounts{})
	f.wantOrderCounts(t, f.other, affiliate.OrderCounts{})
	if st, err := f.s.Stats(ctx); err != nil || st.Orders != 0 {
		t.Fatalf("stats %+v %v, want no orders", st, err)
	}

	// Inside the window by a minute; a link code has no window at all.
	if o, _ := f.order(t, rep("in", cid("edge"), "", now)); o.ClickID != cid("edge") || o.AffiliateID != 20 {
		t.Fatalf("in the window: %+v", o)
	}
	if o, _ := f.order(t, rep("code", "", f.l.Code, now)); o.ClickID != "" || o.LinkCode != f.l.Code {
		t.Fatalf("by link code: %+v", o)
	}
	f.wantOrderCounts(t, f.l, orderCounts(2, 20000, 0, 2000, 0, 0))
}

// testOrderRateAtOrderTime checks that an order earns the affiliate's rate when it came in: a later rate
// change moves neither its commission nor the aggregates.
func testOrderRateAtOrderTime(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	now := f.clock.Now()
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "before", LinkCode: f.l.Code, Amount: 100000, Status: affiliate.OrderPending, OccurredAt: now})
	if _, _, err := f.s.UpdateProduct(t.Context(), f.p.ID, 10, func(p *affiliate.Product) error { p.Rate = 2000; return nil }); err != nil {
		t.Fatal(err)
	}
	o, _ := f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "after", LinkCode: f.l.Code, Amount: 100000, Status: affiliate.OrderPending, OccurredAt: now})
	if o.Rate != 2000 || o.Commission != 20000 {
		t.Fatalf("after the raise: %+v", o)
	}
	first, err := f.s.GetOrder(t.Context(), 10, "before")
	if err != nil || first.Commission != 10000 {
		t.Fatalf("the earlier order: %+v %v", first, err)
	}
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "before", Status: affiliate.OrderSettled})
	f.wantOrderCounts(t, f.l, orderCounts(2, 200000, 0, 20000, 10000, 0))
}

func testImportOrders(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	now := f.clock.Now()
	f.record(t, click(f.l, cid("c1"), now.Add(-time.Hour), 1))
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "known", LinkCode: f.l.Code, Amount: 30000, Status: affiliate.OrderPending, OccurredAt: now})
	rows := []affiliate.OrderReport{
		{OrderID: "i1", LinkCode: f.l.Code, Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now},      // 1 imported
		{OrderID: "", LinkCode: f.l.Code, Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now},        // 2 invalid
		{OrderID: "i3", ClickID: cid("nosuch"), Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now},  // 3 unknown click
		{OrderID: "i1", LinkCode: f.l.Code, Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now},      // 4 unchanged
		{OrderID: "i1", Status: affiliate.OrderSettled},                                                          // 5 imported
		{SellerID: 11, OrderID: "i6", LinkCode: f.other.Code, Amount: 1, Status: affiliate.OrderPending},         // 6 another seller's link, whatever SellerID says
		{OrderID: "known", Status: affiliate.OrderSettled},                                                       // 7 imported
		{OrderID: "i8", ClickID: cid("c1"), Amount: 20000, Status: affiliate.OrderPending, OccurredAt: now},      // 8 imported
		{OrderID: "i1", Status: affiliate.OrderPending},                                                          // 9 transition
		{OrderID: "i10", LinkCode: f.other.Code, Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now}, // 10 other's link
	}
	want := []affiliate.OrderOutcome{
		affiliate.OutcomeImported, affiliate.OutcomeRejected, affiliate.OutcomeRejected, affiliate.OutcomeUnchanged,
		affiliate.OutcomeImported, affiliate.OutcomeRejected, affiliate.OutcomeImported, affiliate.OutcomeImported,
		affiliate.OutcomeRejected, affiliate.OutcomeRejected,
	}
	res, err := f.s.ImportOrders(ctx, 10, rows)
	if err != nil || len(res) != len(rows) {
		t.Fatalf("import: %d results, %v", len(res), err)
	}
	for i, r := range res {
		if r.Row != i+1 || r.Outcome != want[i] || (r.Err != nil) != (want[i] == affiliate.OutcomeRejected) {
			t.Errorf("row %d: %+v, want %s", i+1, r, want[i])
		}
		if r.Outcome != affiliate.OutcomeRejected && r.Order.OrderID != rows[i].OrderID {
			t.Errorf("row %d: order %+v", i+1, r.Order)
		}
	}
	if code := affiliate.ErrorCode(res[1].Err); code != affiliate.EInvalid {
		t.Errorf("row 2: %v", res[1].Err)
	}
	if code := affiliate.ErrorCode(res[8].Err); code != affiliate.EConflict {
		t.Errorf("row 9: %v", res[8].Err)
	}
	// known settled (3000), i1 settled (1000), i8 pending (2000).
	f.wantOrderCounts(t, f.l, orderCounts(3, 60000, 0, 2000, 4000, 0))
	f.wantOrderCounts(t, f.other, affiliate.OrderCounts{})

	// A row that says what is stored changes nothing.
	again, err := f.s.ImportOrders(ctx, 10, rows[4:5])
	if err != nil || again[0].Outcome != affiliate.OutcomeUnchanged {
		t.Fatalf("again: %+v %v", again, err)
	}
	if res, err := f.s.ImportOrders(ctx, 10, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty import: %+v %v", res, err)
	}
	f.wantOrderCounts(t, f.l, orderCounts(3, 60000, 0, 2000, 4000, 0))
}

func testSellerOrdersPaging(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	base := f.clock.Now().Add(-10 * time.Hour)
	var want []string
	for i := range 9 {
		at := base.Add(time.Duration(i/2) * time.Hour) // two orders share each time but the last
		id := fmt.Sprintf("o%d", 9-i)                  // ids run against time within a second
		f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: id, LinkCode: f.l.Code, Amount: 1000, Status: affiliate.OrderPending, OccurredAt: at})
		want = append(want, id)
		f.order(t, affiliate.OrderReport{SellerID: 11, OrderID: id, LinkCode: f.other.Code, Amount: 1000, Status: affiliate.OrderPending, OccurredAt: at})
	}
	// Within one second, the order is by id.
	for i := 0; i+1 < len(want); i += 2 {
		want[i], want[i+1] = want[i+1], want[i]
	}
	walk := func(from, to time.Time, limit int) []string {
		var got []string
		var after affiliate.OrderCursor
		for pages := 0; ; pages++ {
			page, err := f.s.SellerOrders(ctx, 10, from, to, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit || pages > 20 {
				t.Fatalf("page of %d with limit %d", len(page), limit)
			}
			for _, o := range page {
				if o.SellerID != 10 {
					t.Fatalf("another seller's order %+v", o)
				}
				got = append(got, o.OrderID)
			}
			if len(page) < limit {
				return got
			}
			last := page[len(page)-1]
			after = affiliate.OrderCursor{At: last.OccurredAt, OrderID: last.OrderID}
		}
	}
	for _, limit := range []int{1, 2, 3, 4, 100} {
		if got := walk(time.Time{}, time.Time{}, limit); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("limit %d: %v, want %v", limit, got, want)
		}
	}
	// [base+1h, base+3h) holds the orders of hours 1 and 2.
	if got := walk(base.Add(time.Hour), base.Add(3*time.Hour), 3); fmt.Sprint(got) != fmt.Sprint(want[2:6]) {
		t.Fatalf("range: %v, want %v", got, want[2:6])
	}
	if page, err := f.s.SellerOrders(ctx, 10, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 0); err != nil || len(page) != 0 {
		t.Fatalf("limit 0: %v %v", page, err)
	}
	if page, err := f.s.SellerOrders(ctx, 12, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 10); err != nil || len(page) != 0 {
		t.Fatalf("a seller without orders: %v %v", page, err)
	}
}

func testAffiliateHours(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	h0 := f.clock.Now().Truncate(time.Hour).Add(-5 * time.Hour)
	f.record(t, click(f.l, cid("a"), h0.Add(10*time.Minute), 1), click(f.l, cid("b"), h0.Add(20*time.Minute), 1), click(f.l, cid("c"), h0.Add(3*time.Hour), 2))
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "x", ClickID: cid("a"), Amount: 50000, Status: affiliate.OrderPending, OccurredAt: h0.Add(2*time.Hour + time.Minute)})
	got, err := f.s.AffiliateHours(ctx, 20, h0, h0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []affiliate.HourCounts{
		{Hour: h0, Counts: affiliate.Counts{Clicks: 2, UniqueClicks: 1}},
		{Hour: h0.Add(2 * time.Hour), Counts: affiliate.Counts{OrderCounts: orderCounts(1, 50000, 0, 5000, 0, 0)}},
		{Hour: h0.Add(3 * time.Hour), Counts: affiliate.Counts{Clicks: 1, UniqueClicks: 1}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hours\n%+v\nwant\n%+v", got, want)
	}
	for _, h := range got {
		if h.Hour.Location() != time.UTC {
			t.Fatalf("hour %v is not UTC", h.Hour)
		}
	}
	if got, err := f.s.AffiliateHours(ctx, 20, h0.Add(time.Hour), h0.Add(3*time.Hour)); err != nil || len(got) != 1 || !got[0].Hour.Equal(h0.Add(2*time.Hour)) {
		t.Fatalf("middle: %+v %v", got, err)
	}
	if got, err := f.s.AffiliateHours(ctx, 21, h0, h0.Add(24*time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("idle affiliate: %+v %v", got, err)
	}
	if got, err := f.s.AffiliateHours(ctx, 20, h0.Add(time.Hour), h0); err != nil || len(got) != 0 {
		t.Fatalf("empty range: %+v %v", got, err)
	}
}

func testProductAndSellerCounts(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	ctx := t.Context()
	now := f.clock.Now()
	f.user(t, 22, "Citra")
	l2 := f.join(t, 22, f.p.ID)
	p2 := f.product(t, 10, "Gula", 2000)
	l3 := f.join(t, 20, p2.ID)
	f.record(t, click(f.l, cid("a"), now.Add(-time.Hour), 1), click(l2, cid("b"), now.Add(-time.Hour), 2), click(l3, cid("c"), now, 3),
		click(f.other, cid("d"), now, 4))
	bot := click(f.l, "", now, 5)
	bot.Bot = true
	f.record(t, bot)
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "1", ClickID: cid("a"), Amount: 10000, Status: affiliate.OrderPending, OccurredAt: now})
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "2", ClickID: cid("b"), Amount: 20000, Status: affiliate.OrderSettled, OccurredAt: now})
	f.order(t, affiliate.OrderReport{SellerID: 10, OrderID: "3", ClickID: cid("c"), Amount: 30000, Status: affiliate.OrderPending, OccurredAt: now})

	want := affiliate.Counts{Clicks: 2, UniqueClicks: 2, BotVisits: 1, OrderCounts: orderCounts(2, 30000, 0, 1000, 2000, 0)}
	if got, err := f.s.ProductCounts(ctx, f.p.ID, time.Time{}, time.Time{}); err != nil || got != want {
		t.Fatalf("product %+v %v, want %+v", got, err, want)
	}
	if got, err := f.s.ProductCounts(ctx, f.p.ID, now, now.Add(time.Hour)); err != nil || got.Clicks != 0 || got.BotVisits != 1 || got.Orders != 2 {
		t.Fatalf("product, last hour: %+v %v", got, err)
	}
	seller := affiliate.Counts{Clicks: 3, UniqueClicks: 3, BotVisits: 1, OrderCounts: orderCounts(3, 60000, 0, 7000, 2000, 0)}
	if got, err := f.s.SellerCounts(ctx, 10, time.Time{}, time.Time{}); err != nil || got != seller {
		t.Fatalf("seller %+v %v, want %+v", got, err, seller)
	}
	if got, err := f.s.SellerCounts(ctx, 11, time.Time{}, time.Time{}); err != nil || got != (affiliate.Counts{Clicks: 1, UniqueClicks: 1}) {
		t.Fatalf("other seller %+v %v", got, err)
	}
	if got, err := f.s.SellerCounts(ctx, 99, time.Time{}, time.Time{}); err != nil || got != (affiliate.Counts{}) {
		t.Fatalf("no seller %+v %v", got, err)
	}
	_, err := f.s.ProductCounts(ctx, 999, time.Time{}, time.Time{})
	wantErr(t, err, affiliate.ErrProductNotFound)
	// The affiliate's counts span both products.
	if got, err := f.s.AffiliateCounts(ctx, 20, time.Time{}, time.Time{}); err != nil || got.Orders != 2 || got.CommissionPending != 7000 || got.Clicks != 2 {
		t.Fatalf("affiliate %+v %v", got, err)
	}
}

// testConcurrentOrders records orders from many goroutines, each order several times and then settled:
// every order is counted once and every aggregate equals the sum over the stored orders.
func testConcurrentOrders(t *testing.T, open Open) {
	f := newOrderFixture(t, open)
	now := f.clock.Now()
	const workers, perWorker = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				r := affiliate.OrderReport{SellerID: 10, OrderID: id, LinkCode: f.l.Code, Amount: affiliate.Rupiah(1000 * (i + 1)), Status: affiliate.OrderPending, OccurredAt: now}
				for range 2 {
					if _, _, err := f.s.RecordOrder(t.Context(), r); err != nil {
						errs <- err
						return
					}
				}
				if i%2 == 0 {
					if _, _, err := f.s.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: 10, OrderID: id, Status: affiliate.OrderSettled}); err != nil {
						errs <- err
						return
					}
				}
				// An order that cannot count, in the same groups as the others.
				if _, _, err := f.s.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: 10, OrderID: id + "x", ClickID: cid("nosuch"), Amount: 1000, Status: affiliate.OrderPending}); affiliate.ErrorCode(err) != affiliate.ENotFound {
					errs <- fmt.Errorf("unknown click: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want affiliate.OrderCounts
	for range workers {
		for i := range perWorker {
			amount := affiliate.Rupiah(1000 * (i + 1))
			if i%2 == 0 {
				want.Add(orderCounts(1, amount, 0, 0, amount/10, 0))
			} else {
				want.Add(orderCounts(1, amount, 0, amount/10, 0, 0))
			}
		}
	}
	f.wantOrderCounts(t, f.l, want)
	if st, err := f.s.Stats(t.Context()); err != nil || st.Orders != workers*perWorker {
		t.Fatalf("stats %+v %v", st, err)
	}
}

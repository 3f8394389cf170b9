package affiliate

import (
	"strings"
	"testing"
	"time"
)

var orderNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testCode    = "AbCd1234"
	testClickID = "0AbCdEf123456789"
)

func testLink() Link {
	return Link{Code: testCode, AffiliateID: 7, ProductID: 3, SellerID: 10, CreatedAt: orderNow.Add(-30 * 24 * time.Hour)}
}

func testClick(at time.Time) *Click {
	return &Click{ID: testClickID, Code: testCode, ProductID: 3, AffiliateID: 7, SellerID: 10, At: at}
}

// checkErr compares err with the wanted code and reason ("" code: no error).
func checkErr(t *testing.T, name string, err error, code Code, reason string) {
	t.Helper()
	if ErrorCode(err) != code || ErrorReason(err) != reason {
		t.Errorf("%s: error %v, want %q %q", name, err, code, reason)
	}
}

func TestValidateOrderReport(t *testing.T) {
	ok := OrderReport{SellerID: 10, OrderID: "INV/2026/03/0001", LinkCode: testCode, Amount: 150_000, Status: OrderPending}
	tests := []struct {
		name   string
		change func(*OrderReport)
		reason string
	}{
		{"valid by link", func(*OrderReport) {}, ""},
		{"valid by click", func(r *OrderReport) { r.LinkCode, r.ClickID = "", testClickID }, ""},
		{"all id characters", func(r *OrderReport) { r.OrderID = "aZ09._:/#-" }, ""},
		{"id of 64 bytes", func(r *OrderReport) { r.OrderID = strings.Repeat("x", 64) }, ""},
		{"id of 65 bytes", func(r *OrderReport) { r.OrderID = strings.Repeat("x", 65) }, "order_id"},
		{"empty id", func(r *OrderReport) { r.OrderID = "" }, "order_id"},
		{"space in id", func(r *OrderReport) { r.OrderID = "a b" }, "order_id"},
		{"non-ascii id", func(r *OrderReport) { r.OrderID = "pesanan-é" }, "order_id"},
		{"empty status", func(r *OrderReport) { r.Status = "" }, "status"},
		{"upper-case status", func(r *OrderReport) { r.Status = "PENDING" }, "status"},
		{"amount 1", func(r *OrderReport) { r.Amount = 1 }, ""},
		{"amount max", func(r *OrderReport) { r.Amount = MaxOrderAmount }, ""},
		{"amount over max", func(r *OrderReport) { r.Amount = MaxOrderAmount + 1 }, "amount_range"},
		{"negative amount", func(r *OrderReport) { r.Amount = -1 }, "amount_range"},
		{"amount 0 with a link", func(r *OrderReport) { r.Amount = 0 }, "amount_range"},
		{"amount 0 by order id", func(r *OrderReport) { r.Amount, r.LinkCode, r.Status = 0, "", OrderSettled }, ""},
		{"full report by order id", func(r *OrderReport) { r.LinkCode, r.Status = "", OrderSettled }, ""},
		{"partial refund", func(r *OrderReport) { r.Status, r.RefundedAmount = OrderRefunded, 50_000 }, ""},
		{"refund of everything", func(r *OrderReport) { r.Status, r.RefundedAmount = OrderRefunded, 150_000 }, ""},
		{"refund above amount", func(r *OrderReport) { r.Status, r.RefundedAmount = OrderRefunded, 150_001 }, "refund_range"},
		{"negative refund", func(r *OrderReport) { r.Status, r.RefundedAmount = OrderRefunded, -1 }, "refund_range"},
		{"refund by order id", func(r *OrderReport) {
			r.Amount, r.LinkCode, r.Status, r.RefundedAmount = 0, "", OrderRefunded, MaxOrderAmount
		}, ""},
		{"refund by order id over max", func(r *OrderReport) {
			r.Amount, r.LinkCode, r.Status, r.RefundedAmount = 0, "", OrderRefunded, MaxOrderAmount+1
		}, "refund_range"},
		{"refund while settled", func(r *OrderReport) { r.Status, r.RefundedAmount = OrderSettled, 1 }, "refund_without_status"},
		{"both refs", func(r *OrderReport) { r.ClickID = testClickID }, "ref_both"},
		{"short click id", func(r *OrderReport) { r.LinkCode, r.ClickID = "", testClickID[1:] }, "click_id"},
		{"bad click id", func(r *OrderReport) { r.LinkCode, r.ClickID = "", "0AbCdEf12345678-" }, "click_id"},
		{"long link code", func(r *OrderReport) { r.LinkCode = testCode + "x" }, "link_code"},
		{"bad link code", func(r *OrderReport) { r.LinkCode = "AbCd 234" }, "link_code"},
		{"placed 5 minutes ahead", func(r *OrderReport) { r.OccurredAt = orderNow.Add(5 * time.Minute) }, ""},
		{"placed further ahead", func(r *OrderReport) { r.OccurredAt = orderNow.Add(5*time.Minute + time.Second) }, "occurred_at_future"},
		{"placed last year", func(r *OrderReport) { r.OccurredAt = orderNow.AddDate(-1, 0, 0) }, ""},
	}
	for _, tt := range tests {
		r := ok
		tt.change(&r)
		err := ValidateOrderReport(r, orderNow)
		code := EInvalid
		if tt.reason == "" {
			code = ""
		}
		checkErr(t, tt.name, err, code, tt.reason)
	}
}

func TestParseOrderStatus(t *testing.T) {
	tests := []struct {
		in   string
		want OrderStatus
		ok   bool
	}{
		{"pending", OrderPending, true}, {" Settled ", OrderSettled, true}, {"REFUNDED", OrderRefunded, true},
		{"cancelled", OrderCancelled, true}, {"canceled", OrderCancelled, true}, {"", "", false},
		{"paid", "", false}, {"selesai", "", false}, {"pending!", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseOrderStatus(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseOrderStatus(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReversal(t *testing.T) {
	maxCommission := Commission(MaxOrderAmount, MaxRate)
	tests := []struct {
		commission, refunded, amount, want Rupiah
	}{
		{15_000, 50_000, 150_000, 5_000},
		{10, 1, 3, 3}, // 10/3 = 3.33… rounds down
		{1, 1, 2, 0},  // half a rupiah is nothing
		{15_000, 150_000, 150_000, 15_000},
		{15_000, 0, 150_000, 0},
		{15_000, 200_000, 150_000, 15_000}, // clamped: never above the commission
		{0, 5, 10, 0},
		{5, 5, 0, 0},
		{maxCommission, MaxOrderAmount, MaxOrderAmount, maxCommission},
		{maxCommission, MaxOrderAmount - 1, MaxOrderAmount, maxCommission - 1}, // 8·10^11 × (10^12−1) / 10^12
		{maxCommission, 1, MaxOrderAmount, 0},
		{maxCommission, MaxOrderAmount / 3, MaxOrderAmount, 266_666_666_666},
		{maxCommission, 999_999_999_998, 999_999_999_999, 799_999_999_999},
	}
	for _, tt := range tests {
		if got := Reversal(tt.commission, tt.refunded, tt.amount); got != tt.want {
			t.Errorf("Reversal(%d, %d, %d) = %d, want %d", tt.commission, tt.refunded, tt.amount, got, tt.want)
		}
	}
}

func TestNewOrder(t *testing.T) {
	base := OrderReport{SellerID: 10, OrderID: "A-1", ClickID: testClickID, Amount: 150_000, Status: OrderPending}
	clickAt := orderNow.Add(-2 * time.Hour)
	tests := []struct {
		name        string
		change      func(*OrderReport, *Link, **Click)
		productRate BasisPoints
		window      time.Duration
		code        Code
		reason      string
		check       func(Order) string
	}{
		{name: "by click", productRate: 1000, check: func(o Order) string {
			if o.Commission != 15_000 || o.Rate != 1000 || o.LinkCode != testCode || o.ClickID != testClickID ||
				o.AffiliateID != 7 || o.ProductID != 3 || !o.OccurredAt.Equal(orderNow) || !o.CreatedAt.Equal(orderNow) ||
				!o.UpdatedAt.Equal(orderNow) || o.Status != OrderPending || o.Reversed != 0 {
				return "wrong order"
			}
			return ""
		}},
		{name: "by link code, long after any click", change: func(r *OrderReport, _ *Link, c **Click) {
			r.ClickID, r.LinkCode, *c = "", testCode, nil
			r.OccurredAt = orderNow.AddDate(0, -2, 0)
		}, productRate: 1000, check: func(o Order) string {
			if o.ClickID != "" || o.LinkCode != testCode || !o.OccurredAt.Equal(orderNow.AddDate(0, -2, 0)) {
				return "wrong order"
			}
			return ""
		}},
		{name: "rounded down", change: func(r *OrderReport, _ *Link, _ **Click) { r.Amount = 99_999 },
			productRate: 1250, check: func(o Order) string {
				if o.Commission != 12_499 { // 12 499.875
					return "wrong commission"
				}
				return ""
			}},
		{name: "kept rate after a cut", change: func(_ *OrderReport, l *Link, _ **Click) {
			l.KeptRate, l.KeptUntil = 2000, orderNow.Add(time.Hour)
		}, productRate: 1000, check: func(o Order) string {
			if o.Rate != 2000 || o.Commission != 30_000 {
				return "kept rate not applied"
			}
			return ""
		}},
		{name: "kept rate ended", change: func(_ *OrderReport, l *Link, _ **Click) {
			l.KeptRate, l.KeptUntil = 2000, orderNow
		}, productRate: 1000, check: func(o Order) string {
			if o.Rate != 1000 {
				return "ended kept rate applied"
			}
			return ""
		}},
		{name: "settled full refund on first report", change: func(r *OrderReport, _ *Link, _ **Click) {
			r.Status = OrderRefunded
		}, productRate: 1000, check: func(o Order) string {
			if o.RefundedAmount != 150_000 || o.Reversed != 15_000 || o.Net() != 0 {
				return "full refund not applied"
			}
			return ""
		}},
		{name: "partial refund on first report", change: func(r *OrderReport, _ *Link, _ **Click) {
			r.Status, r.RefundedAmount = OrderRefunded, 50_000
		}, productRate: 1000, check: func(o Order) string {
			if o.RefundedAmount != 50_000 || o.Reversed != 5_000 || o.Net() != 10_000 {
				return "partial refund wrong"
			}
			return ""
		}},
		{name: "occurred in another zone", change: func(r *OrderReport, _ *Link, _ **Click) {
			r.OccurredAt = orderNow.Add(-time.Hour).In(time.FixedZone("WITA", 8*3600))
		}, productRate: 1000, check: func(o Order) string {
			if o.OccurredAt.Location() != time.UTC || !o.OccurredAt.Equal(orderNow.Add(-time.Hour)) {
				return "not stored in UTC"
			}
			return ""
		}},
		{name: "a minute before the click", change: func(r *OrderReport, _ *Link, _ **Click) {
			r.OccurredAt = clickAt.Add(-time.Minute)
		}, productRate: 1000},
		{name: "just over a minute before the click", change: func(r *OrderReport, _ *Link, _ **Click) {
			r.OccurredAt = clickAt.Add(-time.Minute - time.Second)
		}, productRate: 1000, code: EUnprocessable, reason: "order_before_click"},
		{name: "at the end of the window", change: func(r *OrderReport, _ *Link, c **Click) {
			(*c).At = orderNow.Add(-DefaultAttributionWindow)
		}, productRate: 1000},
		{name: "past the window", change: func(r *OrderReport, _ *Link, c **Click) {
			(*c).At = orderNow.Add(-DefaultAttributionWindow - time.Second)
		}, productRate: 1000, code: EUnprocessable, reason: "outside_window"},
		{name: "past a short window", productRate: 1000, window: time.Hour, code: EUnprocessable, reason: "outside_window"},
		{name: "reported late, placed in the window", change: func(r *OrderReport, _ *Link, c **Click) {
			(*c).At = orderNow.AddDate(0, 0, -30)
			r.OccurredAt = (*c).At.Add(24 * time.Hour)
		}, productRate: 1000},
		{name: "another seller's click", change: func(_ *OrderReport, l *Link, _ **Click) { l.SellerID = 11 },
			productRate: 1000, code: ENotFound, reason: "click_not_found"},
		{name: "another seller's link", change: func(r *OrderReport, l *Link, c **Click) {
			r.ClickID, r.LinkCode, *c, l.SellerID = "", testCode, nil, 11
		}, productRate: 1000, code: ENotFound, reason: "order_link_not_found"},
		{name: "no click for the id", change: func(_ *OrderReport, _ *Link, c **Click) { *c = nil },
			productRate: 1000, code: ENotFound, reason: "click_not_found"},
		{name: "a bot visit", change: func(_ *OrderReport, _ *Link, c **Click) { (*c).Bot = true },
			productRate: 1000, code: ENotFound, reason: "click_not_found"},
		{name: "click of another link", change: func(_ *OrderReport, _ *Link, c **Click) { (*c).Code = "Zzzz9999" },
			productRate: 1000, code: ENotFound, reason: "click_not_found"},
		{name: "another click", change: func(r *OrderReport, _ *Link, _ **Click) { r.ClickID = "0AbCdEf12345678X" },
			productRate: 1000, code: ENotFound, reason: "click_not_found"},
		{name: "another link", change: func(r *OrderReport, _ *Link, c **Click) {
			r.ClickID, r.LinkCode, *c = "", "Zzzz9999", nil
		}, productRate: 1000, code: ENotFound, reason: "order_link_not_found"},
		{name: "no reference", change: func(r *OrderReport, _ *Link, c **Click) { r.ClickID, *c = "", nil },
			productRate: 1000, code: EInvalid, reason: "ref_missing"},
		{name: "no amount", change: func(r *OrderReport, _ *Link, c **Click) {
			r.ClickID, r.LinkCode, *c, r.Amount = "", testCode, nil, 0
		}, productRate: 1000, code: EInvalid, reason: "amount_range"},
		{name: "invalid report", change: func(r *OrderReport, _ *Link, _ **Click) { r.Status = "paid" },
			productRate: 1000, code: EInvalid, reason: "status"},
		{name: "rate out of range", productRate: 9000, code: EInternal},
	}
	for _, tt := range tests {
		r, l, c := base, testLink(), testClick(clickAt)
		if tt.change != nil {
			tt.change(&r, &l, &c)
		}
		o, err := NewOrder(r, l, c, tt.productRate, tt.window, orderNow)
		checkErr(t, tt.name, err, tt.code, tt.reason)
		if err == nil && tt.check != nil {
			if msg := tt.check(o); msg != "" {
				t.Errorf("%s: %s: %+v", tt.name, msg, o)
			}
		}
	}
}

func TestApplyReport(t *testing.T) {
	later := orderNow.Add(24 * time.Hour)
	stored := func(st OrderStatus, refunded Rupiah) Order {
		o := Order{SellerID: 10, OrderID: "A-1", LinkCode: testCode, ClickID: testClickID, Amount: 150_000,
			Status: st, Rate: 1000, Commission: 15_000, RefundedAmount: refunded,
			OccurredAt: orderNow, CreatedAt: orderNow, UpdatedAt: orderNow}
		o.Reversed = Reversal(o.Commission, refunded, o.Amount)
		return o
	}
	by := func(st OrderStatus, amount, refunded Rupiah) OrderReport {
		return OrderReport{SellerID: 10, OrderID: "A-1", Amount: amount, Status: st, RefundedAmount: refunded}
	}
	tests := []struct {
		name         string
		o            Order
		r            OrderReport
		changed      bool
		code         Code
		reason       string
		wantRefunded Rupiah
		wantReversed Rupiah
	}{
		{"pending again", stored(OrderPending, 0), by(OrderPending, 150_000, 0), false, "", "", 0, 0},
		{"pending again by id", stored(OrderPending, 0), by(OrderPending, 0, 0), false, "", "", 0, 0},
		{"settle", stored(OrderPending, 0), by(OrderSettled, 0, 0), true, "", "", 0, 0},
		{"settle with amount", stored(OrderPending, 0), by(OrderSettled, 150_000, 0), true, "", "", 0, 0},
		{"cancel", stored(OrderPending, 0), by(OrderCancelled, 0, 0), true, "", "", 0, 0},
		{"refund pending in full", stored(OrderPending, 0), by(OrderRefunded, 0, 0), true, "", "", 150_000, 15_000},
		{"refund pending in part", stored(OrderPending, 0), by(OrderRefunded, 0, 50_000), true, "", "", 50_000, 5_000},
		{"settled again", stored(OrderSettled, 0), by(OrderSettled, 150_000, 0), false, "", "", 0, 0},
		{"claw back in part", stored(OrderSettled, 0), by(OrderRefunded, 150_000, 1), true, "", "", 1, 0},
		{"claw back in full", stored(OrderSettled, 0), by(OrderRefunded, 0, 0), true, "", "", 150_000, 15_000},
		{"second partial refund", stored(OrderRefunded, 50_000), by(OrderRefunded, 0, 100_000), true, "", "", 100_000, 10_000},
		{"rest refunded", stored(OrderRefunded, 50_000), by(OrderRefunded, 0, 0), true, "", "", 150_000, 15_000},
		{"same refund again", stored(OrderRefunded, 50_000), by(OrderRefunded, 150_000, 50_000), false, "", "", 50_000, 5_000},
		{"full refund again", stored(OrderRefunded, 150_000), by(OrderRefunded, 0, 0), false, "", "", 150_000, 15_000},
		{"smaller refund", stored(OrderRefunded, 50_000), by(OrderRefunded, 0, 49_999), false, EConflict, "refund_decreased", 50_000, 5_000},
		{"refund above amount", stored(OrderSettled, 0), by(OrderRefunded, 0, 150_001), false, EConflict, "refund_exceeds_amount", 0, 0},
		{"other amount", stored(OrderPending, 0), by(OrderSettled, 150_001, 0), false, EConflict, "amount_changed", 0, 0},
		{"other amount, same status", stored(OrderPending, 0), by(OrderPending, 1, 0), false, EConflict, "amount_changed", 0, 0},
		{"settled to pending", stored(OrderSettled, 0), by(OrderPending, 0, 0), false, EConflict, "transition", 0, 0},
		{"settled to cancelled", stored(OrderSettled, 0), by(OrderCancelled, 0, 0), false, EConflict, "transition", 0, 0},
		{"refunded to settled", stored(OrderRefunded, 10), by(OrderSettled, 0, 0), false, EConflict, "transition", 10, 1},
		{"refunded to pending", stored(OrderRefunded, 10), by(OrderPending, 0, 0), false, EConflict, "transition", 10, 1},
		{"refunded to cancelled", stored(OrderRefunded, 10), by(OrderCancelled, 0, 0), false, EConflict, "transition", 10, 1},
		{"cancelled again", stored(OrderCancelled, 0), by(OrderCancelled, 0, 0), false, "", "", 0, 0},
		{"cancelled to settled", stored(OrderCancelled, 0), by(OrderSettled, 0, 0), false, EConflict, "transition", 0, 0},
		{"cancelled to refunded", stored(OrderCancelled, 0), by(OrderRefunded, 0, 0), false, EConflict, "transition", 0, 0},
		{"cancelled to pending", stored(OrderCancelled, 0), by(OrderPending, 0, 0), false, EConflict, "transition", 0, 0},
		{"invalid report", stored(OrderPending, 0), by("paid", 0, 0), false, EInvalid, "status", 0, 0},
		{"refund while settling", stored(OrderPending, 0), by(OrderSettled, 0, 5), false, EInvalid, "refund_without_status", 0, 0},
	}
	for _, tt := range tests {
		got, changed, err := ApplyReport(tt.o, tt.r, later)
		checkErr(t, tt.name, err, tt.code, tt.reason)
		if changed != tt.changed {
			t.Errorf("%s: changed = %v, want %v", tt.name, changed, tt.changed)
		}
		if !changed && got != tt.o {
			t.Errorf("%s: unchanged order differs: %+v", tt.name, got)
		}
		if got.RefundedAmount != tt.wantRefunded || got.Reversed != tt.wantReversed {
			t.Errorf("%s: refunded %d reversed %d, want %d %d", tt.name, got.RefundedAmount, got.Reversed, tt.wantRefunded, tt.wantReversed)
		}
		if changed {
			if got.Status != tt.r.Status || !got.UpdatedAt.Equal(later) || got.Commission != tt.o.Commission ||
				got.Rate != tt.o.Rate || !got.CreatedAt.Equal(tt.o.CreatedAt) {
				t.Errorf("%s: wrong change: %+v", tt.name, got)
			}
		}
	}
}

func TestApplyReportIdentity(t *testing.T) {
	o := Order{SellerID: 10, OrderID: "A-1", LinkCode: testCode, ClickID: testClickID, Amount: 100, Status: OrderPending, Rate: 1000, Commission: 10}
	tests := []struct {
		name   string
		r      OrderReport
		code   Code
		reason string
	}{
		{"same click", OrderReport{SellerID: 10, OrderID: "A-1", ClickID: testClickID, Amount: 100, Status: OrderSettled}, "", ""},
		{"same link", OrderReport{SellerID: 10, OrderID: "A-1", LinkCode: testCode, Amount: 100, Status: OrderSettled}, "", ""},
		{"other click", OrderReport{SellerID: 10, OrderID: "A-1", ClickID: "0AbCdEf12345678X", Amount: 100, Status: OrderSettled}, EConflict, "attribution_changed"},
		{"other link", OrderReport{SellerID: 10, OrderID: "A-1", LinkCode: "Zzzz9999", Amount: 100, Status: OrderSettled}, EConflict, "attribution_changed"},
		{"other seller", OrderReport{SellerID: 11, OrderID: "A-1", Status: OrderSettled}, ENotFound, "order_not_found"},
		{"other order", OrderReport{SellerID: 10, OrderID: "A-2", Status: OrderSettled}, ENotFound, "order_not_found"},
	}
	for _, tt := range tests {
		_, _, err := ApplyReport(o, tt.r, orderNow)
		checkErr(t, tt.name, err, tt.code, tt.reason)
	}
}

func TestOrderCountsAndNet(t *testing.T) {
	o := Order{Amount: 150_000, Commission: 15_000}
	tests := []struct {
		status   OrderStatus
		refunded Rupiah
		want     OrderCounts
		net      Rupiah
	}{
		{OrderPending, 0, OrderCounts{Orders: 1, GMV: 150_000, CommissionPending: 15_000}, 15_000},
		{OrderSettled, 0, OrderCounts{Orders: 1, GMV: 150_000, CommissionSettled: 15_000}, 15_000},
		{OrderRefunded, 50_000, OrderCounts{Orders: 1, GMV: 150_000, Refunded: 50_000, CommissionSettled: 15_000, CommissionReversed: 5_000}, 10_000},
		{OrderRefunded, 150_000, OrderCounts{Orders: 1, GMV: 150_000, Refunded: 150_000, CommissionSettled: 15_000, CommissionReversed: 15_000}, 0},
		{OrderCancelled, 0, OrderCounts{Orders: 1}, 0},
	}
	for _, tt := range tests {
		o := o
		o.Status, o.RefundedAmount = tt.status, tt.refunded
		o.Reversed = Reversal(o.Commission, o.RefundedAmount, o.Amount)
		if got := o.Counts(); got != tt.want {
			t.Errorf("%s: Counts = %+v, want %+v", tt.status, got, tt.want)
		}
		if got := o.Net(); got != tt.net {
			t.Errorf("%s: Net = %d, want %d", tt.status, got, tt.net)
		}
	}
}

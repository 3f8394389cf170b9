package affiliate

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// OrderStatus is where an order stands (PRODUCT.md §3): pending → settled | refunded | cancelled, and
// settled → refunded (a clawback).
type OrderStatus string

// Order states.
const (
	OrderPending   OrderStatus = "pending"
	OrderSettled   OrderStatus = "settled"
	OrderRefunded  OrderStatus = "refunded"
	OrderCancelled OrderStatus = "cancelled"
)

// Order limits.
const (
	// MaxOrderIDLen is the longest order id a shop may report, in bytes of [A-Za-z0-9._:/#-].
	MaxOrderIDLen = 64
	// MaxOrderAmount is the largest order amount accepted (the same ceiling as a product price).
	MaxOrderAmount = MaxPrice
)

// OrderReport is one report of an order by its seller, from the conversions API, a bot command or a CSV
// row. Exactly one of ClickID and LinkCode names where the order came from; both may be empty only for an
// order that is already stored (a status change by order id).
type OrderReport struct {
	SellerID       int64
	OrderID        string
	ClickID        string
	LinkCode       string
	Amount         Rupiah
	Status         OrderStatus
	RefundedAmount Rupiah
	// OccurredAt is when the order was placed (zero: when it was reported).
	OccurredAt time.Time
}

// Order is an order as stored: what was reported, whom it is attributed to, and the commission it earned
// at the affiliate's rate when it came in.
type Order struct {
	SellerID       int64       `json:"seller_id"`
	OrderID        string      `json:"order_id"`
	ClickID        string      `json:"click_id,omitempty"`
	LinkCode       string      `json:"link_code"`
	ProductID      uint64      `json:"product_id"`
	AffiliateID    int64       `json:"affiliate_id"`
	Amount         Rupiah      `json:"amount"`
	RefundedAmount Rupiah      `json:"refunded_amount"`
	Status         OrderStatus `json:"status"`
	// Rate is the affiliate's effective rate when the order first came in; it never changes after.
	Rate BasisPoints `json:"rate_bp"`
	// Commission is Amount × Rate, rounded down: what the order earns before refunds.
	Commission Rupiah `json:"commission"`
	// Reversed is the part of Commission taken back by refunds (pro rata, rounded down, never above
	// Commission).
	Reversed   Rupiah    `json:"commission_reversed"`
	OccurredAt time.Time `json:"occurred_at"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrderCounts are the order tallies of a link, an affiliate, a product or a seller over a period. They are
// sums over orders of each order's columns (see Order.Counts), so that aggregates can be kept by adding
// the difference an order's change makes.
type OrderCounts struct {
	Orders             int64  `json:"orders"`
	GMV                Rupiah `json:"gmv"`
	Refunded           Rupiah `json:"refunded"`
	CommissionPending  Rupiah `json:"commission_pending"`
	CommissionSettled  Rupiah `json:"commission_settled"`
	CommissionReversed Rupiah `json:"commission_reversed"`
}

// EUnprocessable is the code of a report that is well formed but cannot count: an order outside the
// attribution window, or placed before its click.
const EUnprocessable Code = "unprocessable"

// OrderOutcome is what became of one reported order.
type OrderOutcome string

// Order outcomes.
const (
	OutcomeImported  OrderOutcome = "imported"  // stored, or its status changed
	OutcomeUnchanged OrderOutcome = "unchanged" // the same report again: nothing to do
	OutcomeRejected  OrderOutcome = "rejected"  // refused; Err says why
)

// OrderResult is the outcome of one report of a batch (a CSV import), in the batch's order.
type OrderResult struct {
	Row     int // 1-based position in the batch (the CSV line, for an import)
	Order   Order
	Outcome OrderOutcome
	Err     error
}

// HourCounts are the counts of one unix hour (Hour is its start, UTC).
type HourCounts struct {
	Hour time.Time
	Counts
}

// ValidateOrderReport checks a report on its own, before anything is looked up: the order id's length
// and characters, a known status, 1 ≤ Amount ≤ MaxOrderAmount (Amount may be 0 only for a status change
// of a stored order), 0 ≤ RefundedAmount ≤ Amount (a refund of a stored order is checked against the
// stored amount), refunded_amount only with status refunded, exactly one of ClickID and LinkCode in a
// valid form (or neither, for a change by order id), and OccurredAt not more than five minutes in the
// future. Errors are EInvalid with a reason key: "order_id", "status", "amount_range", "refund_range",
// "refund_without_status", "ref_both", "click_id", "link_code" or "occurred_at_future". A report that
// names a click or a link is a full report and needs an amount; only a change by order id (neither) may
// leave it 0. RefundedAmount 0 with status refunded means a full refund.
func ValidateOrderReport(r OrderReport, now time.Time) error {
	if !ValidOrderID(r.OrderID) {
		return Errorf(EInvalid, "order_id", MaxOrderIDLen)
	}
	if !r.Status.Valid() {
		return Errorf(EInvalid, "status")
	}
	hasRef := r.ClickID != "" || r.LinkCode != ""
	if r.Amount < 0 || r.Amount > MaxOrderAmount || (r.Amount == 0 && hasRef) {
		return Errorf(EInvalid, "amount_range")
	}
	if r.RefundedAmount < 0 || r.RefundedAmount > MaxOrderAmount || (r.Amount > 0 && r.RefundedAmount > r.Amount) {
		return Errorf(EInvalid, "refund_range")
	}
	if r.RefundedAmount > 0 && r.Status != OrderRefunded {
		return Errorf(EInvalid, "refund_without_status")
	}
	switch {
	case r.ClickID != "" && r.LinkCode != "":
		return Errorf(EInvalid, "ref_both")
	case r.ClickID != "" && !ValidClickID(r.ClickID):
		return Errorf(EInvalid, "click_id")
	case r.LinkCode != "" && !ValidCode(r.LinkCode):
		return Errorf(EInvalid, "link_code")
	}
	if r.OccurredAt.After(now.Add(MaxOrderClockSkew)) {
		return Errorf(EInvalid, "occurred_at_future")
	}
	return nil
}

// MaxOrderClockSkew is how far a shop's clock may run ahead of ours: an order may be reported as placed
// up to this long in the future, and up to this long before the click that brought it.
const MaxOrderClockSkew = 5 * time.Minute

// ClickSkew is how long before its click an order may be placed and still count: the shop's clock and
// ours are never quite the same.
const ClickSkew = time.Minute

// ValidOrderID reports whether s is a well-formed order id: 1 to MaxOrderIDLen bytes of
// [A-Za-z0-9._:/#-].
func ValidOrderID(s string) bool {
	if len(s) == 0 || len(s) > MaxOrderIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("._:/#-", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidClickID reports whether s looks like a click id (ClickIDLen characters of Alphabet), without
// touching the store.
func ValidClickID(s string) bool {
	return len(s) == ClickIDLen && isAlnum(s)
}

// Valid reports whether s is one of the four order states.
func (s OrderStatus) Valid() bool {
	switch s {
	case OrderPending, OrderSettled, OrderRefunded, OrderCancelled:
		return true
	}
	return false
}

// ParseOrderStatus reads an order state the way shops and sellers write it: one of the four English
// words in any case, with surrounding spaces; "canceled" is read as cancelled.
func ParseOrderStatus(s string) (OrderStatus, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "canceled" {
		return OrderCancelled, true
	}
	st := OrderStatus(s)
	return st, st.Valid()
}

// NewOrder attributes a first report of an order and computes its commission. l is the link the report
// names (directly, or through click c, which is nil for a link code); productRate is the product's rate
// now. The link's seller must be the reporting seller (ENotFound otherwise: another seller's link is as
// unknown as a missing one). With a click, the order must be placed no earlier than the click and at most
// window after it (EUnprocessable "outside_window" / "order_before_click"); a link code is not checked
// against a window. The rate is EffectiveRate(productRate, l, now): the affiliate's rate when the order
// came in, including a rate kept after a cut. The first report may already be settled, refunded or
// cancelled.
//
// The report is validated first (ValidateOrderReport). A first report must name a click or a link
// (EInvalid "ref_missing"), and so carries an amount (ValidateOrderReport's "amount_range"). A zero OccurredAt means now. A click
// that is not the one the report names, belongs to another link, or was a bot visit is ENotFound
// ("click_not_found"), and so is a report by click id without a click; a link that is not the one the
// report's link code names, or another seller's, is ErrOrderLinkNotFound. An order may be placed up to ClickSkew before its click
// (clocks differ). window ≤ 0 means DefaultAttributionWindow. A refunded first report with
// RefundedAmount 0 is a full refund. Times are stored in UTC.
func NewOrder(r OrderReport, l Link, c *Click, productRate BasisPoints, window time.Duration, now time.Time) (Order, error) {
	if err := ValidateOrderReport(r, now); err != nil {
		return Order{}, err
	}
	if r.ClickID == "" && r.LinkCode == "" {
		return Order{}, Errorf(EInvalid, "ref_missing")
	}
	if r.ClickID != "" {
		if c == nil || c.ID != r.ClickID || c.Code != l.Code || c.Bot || l.SellerID != r.SellerID {
			return Order{}, ErrClickNotFound
		}
	} else if c != nil || l.Code != r.LinkCode || l.SellerID != r.SellerID {
		return Order{}, ErrOrderLinkNotFound
	}
	now = now.UTC()
	at := r.OccurredAt.UTC()
	if r.OccurredAt.IsZero() {
		at = now
	}
	if c != nil {
		if window <= 0 {
			window = DefaultAttributionWindow
		}
		switch {
		case at.Before(c.At.Add(-ClickSkew)):
			return Order{}, Errorf(EUnprocessable, "order_before_click")
		case at.Sub(c.At) > window:
			return Order{}, Errorf(EUnprocessable, "outside_window")
		}
	}
	rate := EffectiveRate(productRate, l, now)
	if rate < MinRate || rate > MaxRate {
		return Order{}, fmt.Errorf("new order: rate %d bp of link %s is out of range", rate, l.Code)
	}
	o := Order{
		SellerID:    r.SellerID,
		OrderID:     r.OrderID,
		ClickID:     r.ClickID,
		LinkCode:    l.Code,
		ProductID:   l.ProductID,
		AffiliateID: l.AffiliateID,
		Amount:      r.Amount,
		Status:      r.Status,
		Rate:        rate,
		Commission:  Commission(r.Amount, rate),
		OccurredAt:  at,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if r.Status == OrderRefunded {
		o.RefundedAmount = refundOf(r, o.Amount)
		o.Reversed = Reversal(o.Commission, o.RefundedAmount, o.Amount)
	}
	return o, nil
}

// refundOf is the refunded amount a refunded report means for an order of amount: RefundedAmount, or
// the whole amount when it is 0.
func refundOf(r OrderReport, amount Rupiah) Rupiah {
	if r.RefundedAmount == 0 {
		return amount
	}
	return r.RefundedAmount
}

// Reversal is the part of commission taken back when refunded of amount is refunded: commission ×
// refunded / amount, rounded down, so it never exceeds commission. It is computed in 128 bits, since
// the product reaches 8·10^23 at the limits. Out-of-range inputs are clamped: nothing refunded or no
// amount reverses nothing, a refund above the amount reverses everything.
func Reversal(commission, refunded, amount Rupiah) Rupiah {
	if commission <= 0 || refunded <= 0 || amount <= 0 {
		return 0
	}
	if refunded >= amount {
		return commission
	}
	hi, lo := bits.Mul64(uint64(commission), uint64(refunded))
	q, _ := bits.Div64(hi, lo, uint64(amount)) // hi < amount because refunded < amount
	return Rupiah(q)
}

// ApplyReport applies a later report of a stored order and says whether anything changed. The same
// report again changes nothing. Allowed: pending → settled | refunded | cancelled; settled → refunded;
// refunded → refunded with a larger refunded amount (a second partial refund). Anything else, a refund
// larger than the amount, a smaller refund than already recorded, or a different amount, is EConflict
// with a reason key ("transition", "refund_exceeds_amount", "refund_decreased", "amount_changed").
//
// The report is validated first (ValidateOrderReport). Amount 0 keeps the stored amount (a status change
// by order id); status refunded with RefundedAmount 0 refunds the whole amount. An order's attribution
// is fixed by its first report: a later report naming another click or link is EConflict
// "attribution_changed". A report of a state the order has already left (pending after settled, a
// smaller refund) is refused too, and changes nothing. Rate and Commission never change; Reversed
// follows the refunded amount; UpdatedAt becomes now when anything changed. A report for another
// seller's or order id is ErrOrderNotFound.
func ApplyReport(o Order, r OrderReport, now time.Time) (Order, bool, error) {
	if err := ValidateOrderReport(r, now); err != nil {
		return o, false, err
	}
	if r.SellerID != o.SellerID || r.OrderID != o.OrderID {
		return o, false, ErrOrderNotFound
	}
	if (r.ClickID != "" && r.ClickID != o.ClickID) || (r.LinkCode != "" && r.LinkCode != o.LinkCode) {
		return o, false, Errorf(EConflict, "attribution_changed")
	}
	if r.Amount != 0 && r.Amount != o.Amount {
		return o, false, Errorf(EConflict, "amount_changed")
	}
	var refunded Rupiah
	if r.Status == OrderRefunded {
		refunded = refundOf(r, o.Amount)
		if refunded > o.Amount {
			return o, false, Errorf(EConflict, "refund_exceeds_amount")
		}
	}
	switch {
	case r.Status == o.Status && r.Status != OrderRefunded:
		return o, false, nil
	case r.Status == OrderRefunded && o.Status == OrderRefunded:
		switch {
		case refunded == o.RefundedAmount:
			return o, false, nil
		case refunded < o.RefundedAmount:
			return o, false, Errorf(EConflict, "refund_decreased")
		}
	case o.Status == OrderPending:
	case o.Status == OrderSettled && r.Status == OrderRefunded:
	default:
		return o, false, Errorf(EConflict, "transition", string(o.Status), string(r.Status))
	}
	o.Status = r.Status
	o.RefundedAmount = refunded
	o.Reversed = Reversal(o.Commission, o.RefundedAmount, o.Amount)
	o.UpdatedAt = now.UTC()
	return o, true, nil
}

// Counts are the order's contribution to every aggregate it belongs to: one order; GMV its full amount
// and Refunded its refunded amount (shown beside GMV, never netted out of it); its commission as
// pending while pending, settled once settled or refunded; reversed the refunded part; a cancelled
// order contributes nothing but the order count (no GMV, no refund, no commission: the sale never
// happened). The difference of Counts before and after a change is what the aggregates move by.
func (o Order) Counts() OrderCounts {
	c := OrderCounts{Orders: 1}
	switch o.Status {
	case OrderPending:
		c.GMV = o.Amount
		c.CommissionPending = o.Commission
	case OrderSettled, OrderRefunded:
		c.GMV = o.Amount
		c.Refunded = o.RefundedAmount
		c.CommissionSettled = o.Commission
		c.CommissionReversed = o.Reversed
	}
	return c
}

// Net is what the order earns its affiliate as things stand: the commission while pending (an
// estimate), the commission less what refunds reversed once settled or refunded, nothing when
// cancelled. Summed over orders it equals CommissionPending + CommissionSettled − CommissionReversed.
func (o Order) Net() Rupiah {
	switch o.Status {
	case OrderPending:
		return o.Commission
	case OrderSettled, OrderRefunded:
		return o.Commission - o.Reversed
	}
	return 0
}

// Add adds d to c.
func (c *OrderCounts) Add(d OrderCounts) {
	c.Orders += d.Orders
	c.GMV += d.GMV
	c.Refunded += d.Refunded
	c.CommissionPending += d.CommissionPending
	c.CommissionSettled += d.CommissionSettled
	c.CommissionReversed += d.CommissionReversed
}

// Sub returns c − d, column by column.
func (c OrderCounts) Sub(d OrderCounts) OrderCounts {
	return OrderCounts{
		Orders:             c.Orders - d.Orders,
		GMV:                c.GMV - d.GMV,
		Refunded:           c.Refunded - d.Refunded,
		CommissionPending:  c.CommissionPending - d.CommissionPending,
		CommissionSettled:  c.CommissionSettled - d.CommissionSettled,
		CommissionReversed: c.CommissionReversed - d.CommissionReversed,
	}
}

// OrderCursor is the position of an order in a seller's time-ordered list, for keyset pages.
type OrderCursor struct {
	At      time.Time
	OrderID string
}

// DefaultAttributionWindow is KERANJANG_ATTRIBUTION_WINDOW's default: an order counts up to 7 days after
// its click.
const DefaultAttributionWindow = 7 * 24 * time.Hour

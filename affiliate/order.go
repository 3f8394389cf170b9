package affiliate

import (
	"errors"
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
// future. Errors are EInvalid with a reason key.
func ValidateOrderReport(r OrderReport, now time.Time) error {
	return errNotBuilt
}

// NewOrder attributes a first report of an order and computes its commission. l is the link the report
// names (directly, or through click c, which is nil for a link code); productRate is the product's rate
// now. The link's seller must be the reporting seller (ENotFound otherwise: another seller's link is as
// unknown as a missing one). With a click, the order must be placed no earlier than the click and at most
// window after it (EUnprocessable "outside_window" / "order_before_click"); a link code is not checked
// against a window. The rate is EffectiveRate(productRate, l, now): the affiliate's rate when the order
// came in, including a rate kept after a cut. The first report may already be settled, refunded or
// cancelled.
func NewOrder(r OrderReport, l Link, c *Click, productRate BasisPoints, window time.Duration, now time.Time) (Order, error) {
	return Order{}, errNotBuilt
}

// ApplyReport applies a later report of a stored order and says whether anything changed. The same
// report again changes nothing. Allowed: pending → settled | refunded | cancelled; settled → refunded;
// refunded → refunded with a larger refunded amount (a second partial refund). Anything else, a refund
// larger than the amount, a smaller refund than already recorded, or a different amount, is EConflict
// with a reason key ("transition", "refund_exceeds_amount", "refund_decreased", "amount_changed").
func ApplyReport(o Order, r OrderReport, now time.Time) (Order, bool, error) {
	return o, false, errNotBuilt
}

// Counts are the order's contribution to every aggregate it belongs to: one order; GMV its full amount
// and Refunded its refunded amount (shown beside GMV, never netted out of it); its commission as
// pending while pending, settled once settled or refunded; reversed the refunded part; a cancelled
// order contributes nothing but the order count. The difference of Counts before and after a change is
// what the aggregates move by.
func (o Order) Counts() OrderCounts {
	return OrderCounts{}
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

// errNotBuilt marks the order rules whose bodies are being written.
var errNotBuilt = errors.New("orders are not built yet")

// DefaultAttributionWindow is KERANJANG_ATTRIBUTION_WINDOW's default: an order counts up to 7 days after
// its click.
const DefaultAttributionWindow = 7 * 24 * time.Hour

package track

import (
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Request and response shapes of the seller and admin APIs.

// LinkStats is the answer of GET /api/v1/links/{code}/stats: the link's all-time counts. Orders is always
// 0 until orders are recorded (a later issue adds them).
type LinkStats struct {
	LinkCode     string `json:"link_code"`
	Clicks       int64  `json:"clicks"`
	UniqueClicks int64  `json:"unique_clicks"`
	BotVisits    int64  `json:"bot_visits"`
	Orders       int64  `json:"orders"`
}

// AffiliateReport is the answer of GET /api/v1/affiliates: the seller's affiliates' activity from From to
// To inclusive, by days of TimeZone.
type AffiliateReport struct {
	From       string               `json:"from"`
	To         string               `json:"to"`
	TimeZone   string               `json:"time_zone"`
	Affiliates []AffiliateReportRow `json:"affiliates"`
}

// AffiliateReportRow is one affiliate's activity on one of the seller's products. The order and money
// columns (Orders, GMV and the three commission columns, in whole rupiah) are always 0 until orders are
// recorded (a later issue adds them); they are in the document now so that clients need not change.
type AffiliateReportRow struct {
	AffiliateID        int64            `json:"affiliate_id"`
	AffiliateName      string           `json:"affiliate_name"`
	ProductID          uint64           `json:"product_id"`
	ProductName        string           `json:"product_name"`
	LinkCode           string           `json:"link_code"`
	Clicks             int64            `json:"clicks"`
	UniqueClicks       int64            `json:"unique_clicks"`
	Orders             int64            `json:"orders"`
	GMV                affiliate.Rupiah `json:"gmv"`
	CommissionPending  affiliate.Rupiah `json:"commission_pending"`
	CommissionSettled  affiliate.Rupiah `json:"commission_settled"`
	CommissionReversed affiliate.Rupiah `json:"commission_reversed"`
}

// ConversionRequest is the body of POST /api/v1/conversions, for clients written in Go. The server decodes
// bodies strictly (DecodeConversion): only these fields, each once; exactly one of ClickID and LinkCode
// (or neither, to change a stored order by its id); amounts in whole rupiah.
type ConversionRequest struct {
	OrderID        string                `json:"order_id"`
	ClickID        string                `json:"click_id,omitempty"`
	LinkCode       string                `json:"link_code,omitempty"`
	Amount         affiliate.Rupiah      `json:"amount,omitempty"`
	Status         affiliate.OrderStatus `json:"status"`
	RefundedAmount affiliate.Rupiah      `json:"refunded_amount,omitempty"`
	// OccurredAt is when the order was placed, in RFC 3339 (empty: when it is reported).
	OccurredAt string `json:"occurred_at,omitempty"`
}

// ConversionResult is the answer of POST /api/v1/conversions: the order as stored, and whether this report
// changed it (false for a repeat of what is stored). Money is in whole rupiah; RateBP is the affiliate's
// rate in basis points when the order came in; Commission is what the order earns before refunds and
// CommissionReversed the part refunds took back.
type ConversionResult struct {
	OrderID            string                `json:"order_id"`
	ClickID            string                `json:"click_id"`
	LinkCode           string                `json:"link_code"`
	ProductID          uint64                `json:"product_id"`
	AffiliateID        int64                 `json:"affiliate_id"`
	Amount             affiliate.Rupiah      `json:"amount"`
	RefundedAmount     affiliate.Rupiah      `json:"refunded_amount"`
	Status             affiliate.OrderStatus `json:"status"`
	RateBP             affiliate.BasisPoints `json:"rate_bp"`
	Commission         affiliate.Rupiah      `json:"commission"`
	CommissionReversed affiliate.Rupiah      `json:"commission_reversed"`
	OccurredAt         time.Time             `json:"occurred_at"`
	CreatedAt          time.Time             `json:"created_at"`
	UpdatedAt          time.Time             `json:"updated_at"`
	Changed            bool                  `json:"changed"`
}

func newConversionResult(o affiliate.Order, changed bool) ConversionResult {
	return ConversionResult{
		OrderID: o.OrderID, ClickID: o.ClickID, LinkCode: o.LinkCode, ProductID: o.ProductID,
		AffiliateID: o.AffiliateID, Amount: o.Amount, RefundedAmount: o.RefundedAmount, Status: o.Status,
		RateBP: o.Rate, Commission: o.Commission, CommissionReversed: o.Reversed,
		OccurredAt: o.OccurredAt.UTC(), CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), Changed: changed,
	}
}

// AlertCreated is the answer of POST /api/v1/alerts.
type AlertCreated struct {
	ID uint64 `json:"id"`
}

// AlertStatus is the answer of GET /api/v1/alerts/{id}: the alert and its delivery counts. FannedOut is
// set once every user of the audience is queued or skipped; Done once, in addition, nothing is queued.
type AlertStatus struct {
	ID        uint64             `json:"id"`
	Title     string             `json:"title"`
	Audience  affiliate.Audience `json:"audience"`
	Source    string             `json:"source"`
	CreatedAt time.Time          `json:"created_at"`
	FannedOut bool               `json:"fanned_out"`
	Done      bool               `json:"done"`
	affiliate.AlertCounts
}

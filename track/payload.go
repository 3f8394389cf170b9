package track

import "github.com/keranjang/keranjang/affiliate"

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

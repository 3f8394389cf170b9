package store

import (
	"context"
	"errors"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// RecordOrder applies one report of an order (the conversions API, a bot command): a first report is
// attributed (affiliate.NewOrder) with the link's product rate and the store's attribution window, a later
// one changes the stored order (affiliate.ApplyReport). The order and every aggregate it moves (per link,
// affiliate, product and seller, by the order's hour, and the link's totals) are written in one
// transaction, which is durable (fsynced) before RecordOrder returns; concurrent calls share commits.
// changed is false when the report repeated what is stored.
func (s *Store) RecordOrder(ctx context.Context, r affiliate.OrderReport) (o affiliate.Order, changed bool, err error) {
	return affiliate.Order{}, false, errNotBuilt
}

// ImportOrders applies a batch of reports of one seller (a CSV import) in one transaction: every report
// is validated first, then the valid ones are applied in order; a report that cannot apply (an unknown
// click, an impossible transition) is rejected without stopping the others. The results are in the
// batch's order.
func (s *Store) ImportOrders(ctx context.Context, sellerID int64, reports []affiliate.OrderReport) ([]affiliate.OrderResult, error) {
	return nil, errNotBuilt
}

// GetOrder returns a seller's order or affiliate.ErrOrderNotFound.
func (s *Store) GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error) {
	return affiliate.Order{}, errNotBuilt
}

// SellerOrders returns up to limit of a seller's orders placed in [from, to), in time order, after the
// order (time, id) given by after (zero: from the start): a keyset page for exports.
func (s *Store) SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error) {
	return nil, errNotBuilt
}

// AffiliateHours returns an affiliate's counts per unix hour in [from, to), oldest first, leaving out
// hours without activity: the series behind earnings charts and daily digests.
func (s *Store) AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error) {
	return nil, errNotBuilt
}

// ProductCounts sums a product's counts (clicks and orders of every affiliate) over [from, to); zero
// times mean all time.
func (s *Store) ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errNotBuilt
}

// errNotBuilt marks the order methods whose bodies are being written.
var errNotBuilt = errors.New("orders are not built yet")

package postgres

import (
	"context"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// RecordClicks: see store.Store.RecordClicks.
func (s *Store) RecordClicks(ctx context.Context, clicks []affiliate.Click) ([]affiliate.Click, error) {
	return nil, errNotImplemented
}

// GetClick: see store.Store.GetClick.
func (s *Store) GetClick(ctx context.Context, id string) (affiliate.Click, error) {
	return affiliate.Click{}, errNotImplemented
}

// PruneVisitors: see store.Store.PruneVisitors.
func (s *Store) PruneVisitors(ctx context.Context, before time.Time) (int, error) {
	return 0, errNotImplemented
}

// PruneClicks: see store.Store.PruneClicks.
func (s *Store) PruneClicks(ctx context.Context, before time.Time) (int, error) {
	return 0, errNotImplemented
}

// AddOrphans: see store.Store.AddOrphans.
func (s *Store) AddOrphans(ctx context.Context, n int64) error {
	return errNotImplemented
}

// LinkCounts: see store.Store.LinkCounts.
func (s *Store) LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errNotImplemented
}

// AffiliateCounts: see store.Store.AffiliateCounts.
func (s *Store) AffiliateCounts(ctx context.Context, affiliateID int64, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errNotImplemented
}

// AffiliateReport: see store.Store.AffiliateReport.
func (s *Store) AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error) {
	return nil, errNotImplemented
}

// AffiliateHours: see store.Store.AffiliateHours.
func (s *Store) AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error) {
	return nil, errNotImplemented
}

// ProductCounts: see store.Store.ProductCounts.
func (s *Store) ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errNotImplemented
}

// SellerCounts: see store.Store.SellerCounts.
func (s *Store) SellerCounts(ctx context.Context, sellerID int64, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errNotImplemented
}

// AffiliateDigest: see store.Store.AffiliateDigest.
func (s *Store) AffiliateDigest(ctx context.Context, affiliateID int64, from, to, monthFrom time.Time) (affiliate.DigestCounts, error) {
	return affiliate.DigestCounts{}, errNotImplemented
}

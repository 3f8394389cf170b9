package postgres

import (
	"context"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// CreateAlert: see store.Store.CreateAlert.
func (s *Store) CreateAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error) {
	return affiliate.Alert{}, errNotImplemented
}

// GetAlert: see store.Store.GetAlert.
func (s *Store) GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error) {
	return affiliate.Alert{}, errNotImplemented
}

// AlertProgress: see store.Store.AlertProgress.
func (s *Store) AlertProgress(ctx context.Context, id uint64) (affiliate.AlertProgress, error) {
	return affiliate.AlertProgress{}, errNotImplemented
}

// PendingAlerts: see store.Store.PendingAlerts.
func (s *Store) PendingAlerts(ctx context.Context) ([]affiliate.Alert, error) {
	return nil, errNotImplemented
}

// AdvanceFanout: see store.Store.AdvanceFanout.
func (s *Store) AdvanceFanout(ctx context.Context, id uint64, from, to int64, skipped int) (bool, error) {
	return false, errNotImplemented
}

// MarkFannedOut: see store.Store.MarkFannedOut.
func (s *Store) MarkFannedOut(ctx context.Context, id uint64) error {
	return errNotImplemented
}

// FeedItems: see store.Store.FeedItems.
func (s *Store) FeedItems(ctx context.Context, feedURL string) (map[string]bool, bool, error) {
	return nil, false, errNotImplemented
}

// RecordFeedItems: see store.Store.RecordFeedItems.
func (s *Store) RecordFeedItems(ctx context.Context, feedURL string, items []affiliate.FeedItem) ([]affiliate.Alert, error) {
	return nil, errNotImplemented
}

// LastBroadcast: see store.Store.LastBroadcast.
func (s *Store) LastBroadcast(ctx context.Context, sellerID int64) (time.Time, error) {
	return time.Time{}, errNotImplemented
}

// BeginBroadcast: see store.Store.BeginBroadcast.
func (s *Store) BeginBroadcast(ctx context.Context, sellerID int64, at time.Time) (uint64, error) {
	return 0, errNotImplemented
}

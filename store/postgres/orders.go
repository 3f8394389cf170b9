package postgres

import (
	"context"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// RecordOrder: see store.Store.RecordOrder.
func (s *Store) RecordOrder(ctx context.Context, r affiliate.OrderReport) (affiliate.Order, bool, error) {
	return affiliate.Order{}, false, errNotImplemented
}

// ImportOrders: see store.Store.ImportOrders.
func (s *Store) ImportOrders(ctx context.Context, sellerID int64, reports []affiliate.OrderReport) ([]affiliate.OrderResult, error) {
	return nil, errNotImplemented
}

// GetOrder: see store.Store.GetOrder.
func (s *Store) GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error) {
	return affiliate.Order{}, errNotImplemented
}

// SellerOrders: see store.Store.SellerOrders.
func (s *Store) SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error) {
	return nil, errNotImplemented
}

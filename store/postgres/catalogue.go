package postgres

import (
	"context"
	"github.com/keranjang/keranjang/affiliate"
)

// CreateProduct: see store.Store.CreateProduct.
func (s *Store) CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error) {
	return affiliate.Product{}, errNotImplemented
}

// GetProduct: see store.Store.GetProduct.
func (s *Store) GetProduct(ctx context.Context, id uint64) (affiliate.Product, error) {
	return affiliate.Product{}, errNotImplemented
}

// UpdateProduct: see store.Store.UpdateProduct.
func (s *Store) UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error) {
	return affiliate.Product{}, nil, errNotImplemented
}

// SearchProducts: see store.Store.SearchProducts.
func (s *Store) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error) {
	return nil, 0, errNotImplemented
}

// SellerProducts: see store.Store.SellerProducts.
func (s *Store) SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error) {
	return nil, errNotImplemented
}

// JoinProduct: see store.Store.JoinProduct.
func (s *Store) JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error) {
	return affiliate.Link{}, false, errNotImplemented
}

// GetLink: see store.Store.GetLink.
func (s *Store) GetLink(ctx context.Context, code string) (affiliate.Link, error) {
	return affiliate.Link{}, errNotImplemented
}

// UpdateLink: see store.Store.UpdateLink.
func (s *Store) UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error) {
	return affiliate.Link{}, errNotImplemented
}

// ListLinks: see store.Store.ListLinks.
func (s *Store) ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error) {
	return nil, errNotImplemented
}

// AffiliateLinks: see store.Store.AffiliateLinks.
func (s *Store) AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error) {
	return nil, errNotImplemented
}

// ProductLinks: see store.Store.ProductLinks.
func (s *Store) ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error) {
	return nil, errNotImplemented
}

// Target: see store.Store.Target.
func (s *Store) Target(ctx context.Context, code string) (affiliate.Target, error) {
	return affiliate.Target{}, errNotImplemented
}

// getLink reads the link with code in q (a transaction of another method, or the pool);
// affiliate.ErrLinkNotFound when there is none. (Used by orders.)
func getLink(ctx context.Context, q querier, code string) (affiliate.Link, error) {
	return affiliate.Link{}, errNotImplemented
}

// getProduct reads product id in q; affiliate.ErrProductNotFound when there is none. (Used by orders.)
func getProduct(ctx context.Context, q querier, id uint64) (affiliate.Product, error) {
	return affiliate.Product{}, errNotImplemented
}

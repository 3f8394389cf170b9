package commands

import (
	"context"

	"github.com/keranjang/keranjang/affiliate"
)

// CatalogueStore is the storage the product, link and report commands need.
type CatalogueStore interface {
	AffiliateLinks(affiliateID int64) ([]affiliate.Link, error)
	SellerProducts(sellerID int64) ([]affiliate.Product, error)
}

func (h *Handler) catalogueRoutes() []*route   { return nil }
func (h *Handler) catalogueButtons() []*button { return nil }
func (h *Handler) catalogueFlows() map[string]flowStep {
	return map[string]flowStep{}
}

// payloads are the /start deep-link handlers by prefix.
func (h *Handler) payloads() map[string]func(ctx context.Context, c *Call, arg string) error {
	return nil
}

// document handles a file sent outside any flow.
func (h *Handler) document(ctx context.Context, c *Call) error {
	return c.ReplyKey(ctx, "hint_free_text")
}

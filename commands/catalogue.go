package commands

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// CatalogueStore is the storage the product, link and report commands need.
type CatalogueStore interface {
	CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error)
	SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error)
	SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error)
	JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error)
	GetLink(ctx context.Context, code string) (affiliate.Link, error)
	AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error)
	ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error)
	UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error)
	ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error)
	LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
	AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error)
	APIKey(ctx context.Context, sellerID int64) (string, error)
	RotateAPIKey(ctx context.Context, sellerID int64) (string, error)
	AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error)
}

// pageSize is how many products /products shows at once.
const pageSize = 5

func (h *Handler) catalogueRoutes() []*route {
	return []*route{
		{name: "products", role: anyone, menu: true, run: h.products},
		{name: "join", role: anyone, menu: true, run: h.joinCmd},
		{name: "links", role: anyone, menu: true, run: h.links},
		{name: "qr", role: anyone, menu: true, run: h.qr},
		{name: "feedback", role: anyone, menu: true, run: h.feedback},
		{name: "addproduct", role: seller, private: true, menu: true, run: h.addProduct},
		{name: "myproducts", role: seller, menu: true, run: h.myProducts},
		{name: "editproduct", role: seller, menu: true, run: h.editProductCmd},
		{name: "affiliates", role: seller, menu: true, run: h.affiliates},
		{name: "apikey", role: seller, private: true, menu: true, run: h.apiKey},
	}
}

func (h *Handler) catalogueButtons() []*button {
	return []*button{
		{prefix: "pg", role: anyone, run: h.pageButton},
		{prefix: "join", role: anyone, run: h.joinButton},
		{prefix: "ap", role: seller, run: h.addProductButton},
		{prefix: "pp", role: seller, run: h.pauseButton},
		{prefix: "ed", role: seller, run: h.editButton},
	}
}

func (h *Handler) catalogueFlows() map[string]flowStep {
	return map[string]flowStep{
		flowAddProduct:  h.addProductStep,
		flowEditProduct: h.editProductStep,
	}
}

// payloads are the /start deep-link handlers by prefix: t.me/<bot>?start=p_<product_id>.
func (h *Handler) payloads() map[string]func(ctx context.Context, c *Call, arg string) error {
	return map[string]func(ctx context.Context, c *Call, arg string) error{
		"p": h.joinByText,
	}
}

// document handles a file sent outside any flow. CSV order import comes with conversions.
func (h *Handler) document(ctx context.Context, c *Call) error {
	return c.ReplyKey(ctx, "hint_free_text")
}

// parseProductID reads "12" or "#12".
func parseProductID(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

package commands

import (
	"context"
	"strings"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
)

// Feedback keeps the comments affiliates send to sellers.
type Feedback interface {
	AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error)
}

// feedback sends an affiliate's comment to the seller of a product they joined. The affiliate is told
// it went to the seller only when it was sent; otherwise that it was kept but could not be delivered.
func (h *Handler) feedback(ctx context.Context, c *Call) error {
	idText, text, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	id, ok := parseProductID(idText)
	text = strings.TrimSpace(text)
	if !ok || text == "" {
		return c.ReplyKey(ctx, "feedback_usage")
	}
	p, err := h.deps.Catalogue.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	joined, err := h.joined(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	if text, err = affiliate.CheckFeedback(joined, id, text); err != nil {
		return err
	}
	f, err := h.deps.Feedback.AddFeedback(ctx, affiliate.Feedback{ProductID: id, SellerID: p.SellerID, AffiliateID: c.User.ID, Text: text})
	if err != nil {
		return err
	}
	if !h.notify(ctx, p.SellerID, affiliate.Notice{Key: "feedback_to_seller", Args: []any{c.User.DisplayName(), p.ID, p.Name, f.Text}}) {
		return c.ReplyKey(ctx, "feedback_not_delivered", bot.Escape(p.Name))
	}
	return c.ReplyKey(ctx, "feedback_sent", bot.Escape(p.Name))
}

// joined reports whether the affiliate has a link to the product.
func (h *Handler) joined(ctx context.Context, affiliateID int64, productID uint64) (bool, error) {
	links, err := h.deps.Links.AffiliateLinks(ctx, affiliateID)
	if err != nil {
		return false, err
	}
	for _, l := range links {
		if l.ProductID == productID {
			return true, nil
		}
	}
	return false, nil
}

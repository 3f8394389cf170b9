package commands

import (
	"context"
	"strings"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// feedback sends an affiliate's comment to the seller of a product they joined.
func (h *Handler) feedback(ctx context.Context, c *Call) error {
	idText, text, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	id, ok := parseProductID(idText)
	text = strings.TrimSpace(text)
	if !ok || text == "" {
		return c.ReplyKey(ctx, "feedback_usage")
	}
	p, err := h.store.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if !h.joined(ctx, c.User.ID, id) {
		return c.ReplyKey(ctx, "feedback_not_joined", id)
	}
	f, err := h.store.AddFeedback(ctx, affiliate.Feedback{ProductID: id, SellerID: p.SellerID, AffiliateID: c.User.ID, Text: text})
	if err != nil {
		return err
	}
	if s, err := h.store.GetUser(ctx, p.SellerID); err == nil {
		h.notify(ctx, s.ChatID, bot.Message{Text: i18n.T(s.Lang, "feedback_to_seller",
			bot.Escape(c.User.DisplayName()), p.ID, bot.Escape(p.Name), bot.Escape(f.Text))})
	}
	return c.ReplyKey(ctx, "feedback_sent", bot.Escape(p.Name))
}

func (h *Handler) joined(ctx context.Context, affiliateID int64, productID uint64) bool {
	links, err := h.store.AffiliateLinks(ctx, affiliateID)
	if err != nil {
		return false
	}
	for _, l := range links {
		if l.ProductID == productID {
			return true
		}
	}
	return false
}

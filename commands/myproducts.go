package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// ---- a seller's own products ----

// myProducts lists the seller's products with clicks, affiliates, orders, GMV and commission, and buttons to edit, pause, resume.
func (h *Handler) myProducts(ctx context.Context, c *Call) error {
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return c.Reply(ctx, m.Text, m.Keyboard)
}

func (h *Handler) myProductsMessage(ctx context.Context, c *Call) (bot.Message, error) {
	list, err := h.deps.Catalogue.SellerProducts(ctx, c.User.ID)
	if err != nil {
		return bot.Message{}, err
	}
	if len(list) == 0 {
		return bot.Message{Text: c.T("myproducts_none")}, nil
	}
	var rows []string
	var kb bot.Keyboard
	const maxShown = 10
	for _, p := range list[:min(len(list), maxShown)] {
		links, err := h.deps.Links.ProductLinks(ctx, p.ID)
		if err != nil {
			return bot.Message{}, err
		}
		n, err := h.deps.Reports.ProductCounts(ctx, p.ID, time.Time{}, time.Time{})
		if err != nil {
			return bot.Message{}, err
		}
		status := c.T("status_active")
		toggle := bot.Data(c.T("pause_button", p.ID), fmt.Sprintf("pp:%d:pause", p.ID))
		if p.Status == affiliate.ProductPaused {
			status = c.T("status_paused")
			toggle = bot.Data(c.T("resume_button", p.ID), fmt.Sprintf("pp:%d:resume", p.ID))
		}
		rows = append(rows, "\n\n"+c.T("myproduct_row", p.ID, bot.Escape(p.Name), status, i18n.Money(p.Price),
			i18n.Rate(c.Lang, p.Rate), n.Clicks, n.UniqueClicks, len(links), bot.Code(h.deepLink(p.ID)))+
			"\n"+orderLine(c, n.OrderCounts))
		kb = append(kb, []bot.Button{bot.Data(c.T("edit_button", p.ID), fmt.Sprintf("ed:%d", p.ID)), toggle})
	}
	text, shown := fitLines(c.T("myproducts_head", len(list)), rows, len(list)-len(rows), func(n int) string {
		return "\n\n" + c.T("myproducts_more", n)
	})
	return bot.Message{Text: text, Keyboard: kb[:shown]}, nil
}

// pauseButton pauses or resumes a product: "pp:<id>:pause|resume".
func (h *Handler) pauseButton(ctx context.Context, c *Call, arg string) error {
	idText, verb, _ := strings.Cut(arg, ":")
	id, ok := parseProductID(idText)
	if !ok || (verb != "pause" && verb != "resume") {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	status := affiliate.ProductActive
	if verb == "pause" {
		status = affiliate.ProductPaused
	}
	p, _, err := h.deps.Catalogue.UpdateProduct(ctx, id, c.User.ID, func(p *affiliate.Product) error {
		p.Status = status
		return nil
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", id).Str("status", string(status)).Msg("product status changed")
	key := "paused_done"
	if status == affiliate.ProductActive {
		key = "resumed_done"
	}
	_ = c.Toast(ctx, c.T(key, bot.Escape(bot.Truncate(p.Name, 60))), false)
	if c.MessageID == 0 {
		return nil
	}
	// Redraw the list in place so the button shows the new state.
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, m)
}

// adminPause lets an admin pause any product: /pause <product_id>. Its seller, if still there, is told.
func (h *Handler) adminPause(ctx context.Context, c *Call) error {
	id, ok := parseProductID(c.Args)
	if !ok {
		return c.ReplyKey(ctx, "pause_usage")
	}
	p, err := h.deps.Catalogue.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if p.Status == affiliate.ProductPaused {
		return c.ReplyKey(ctx, "pause_already", p.ID, bot.Escape(p.Name))
	}
	p, _, err = h.deps.Catalogue.UpdateProduct(ctx, id, p.SellerID, func(p *affiliate.Product) error {
		p.Status = affiliate.ProductPaused
		return nil
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", id).Int64("seller_id", p.SellerID).Msg("product paused by an admin")
	h.notify(ctx, p.SellerID, affiliate.Notice{Key: "product_paused_by_admin", Args: []any{p.ID, p.Name}})
	return c.ReplyKey(ctx, "pause_admin_done", p.ID, bot.Escape(p.Name))
}

// pauseAll pauses every active product of a seller and returns how many it paused.
func (h *Handler) pauseAll(ctx context.Context, sellerID int64) (int, error) {
	list, err := h.deps.Catalogue.SellerProducts(ctx, sellerID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range list {
		if p.Status == affiliate.ProductPaused {
			continue
		}
		if _, _, err := h.deps.Catalogue.UpdateProduct(ctx, p.ID, sellerID, func(p *affiliate.Product) error {
			p.Status = affiliate.ProductPaused
			return nil
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

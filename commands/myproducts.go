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

// myProducts lists the seller's products with clicks and affiliates, and buttons to edit, pause, resume.
func (h *Handler) myProducts(ctx context.Context, c *Call) error {
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return c.Reply(ctx, m.Text, m.Keyboard)
}

func (h *Handler) myProductsMessage(ctx context.Context, c *Call) (bot.Message, error) {
	list, err := h.store.SellerProducts(ctx, c.User.ID)
	if err != nil {
		return bot.Message{}, err
	}
	if len(list) == 0 {
		return bot.Message{Text: c.T("myproducts_none")}, nil
	}
	var b strings.Builder
	var kb bot.Keyboard
	b.WriteString(c.T("myproducts_head", len(list)))
	const maxShown = 10
	for i, p := range list {
		if i == maxShown {
			b.WriteString("\n\n" + c.T("myproducts_more", len(list)-maxShown))
			break
		}
		links, err := h.store.ProductLinks(ctx, p.ID)
		if err != nil {
			return bot.Message{}, err
		}
		var clicks affiliate.Counts
		for _, l := range links {
			n, err := h.store.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
			if err != nil {
				return bot.Message{}, err
			}
			clicks.Add(n)
		}
		status := c.T("status_active")
		toggle := bot.Data(c.T("pause_button", p.ID), fmt.Sprintf("pp:%d:pause", p.ID))
		if p.Status == affiliate.ProductPaused {
			status = c.T("status_paused")
			toggle = bot.Data(c.T("resume_button", p.ID), fmt.Sprintf("pp:%d:resume", p.ID))
		}
		b.WriteString("\n\n" + c.T("myproduct_row", p.ID, bot.Escape(p.Name), status, i18n.Money(p.Price),
			i18n.Rate(c.Lang, p.Rate), clicks.Clicks, clicks.UniqueClicks, len(links), bot.Code(h.deepLink(p.ID))))
		kb = append(kb, []bot.Button{bot.Data(c.T("edit_button", p.ID), fmt.Sprintf("ed:%d", p.ID)), toggle})
	}
	return bot.Message{Text: b.String(), Keyboard: kb}, nil
}

// pauseButton pauses or resumes a product: "pp:<id>:pause|resume".
func (h *Handler) pauseButton(ctx context.Context, c *Call, arg string) error {
	idText, verb, _ := strings.Cut(arg, ":")
	id, ok := parseProductID(idText)
	if !ok || (verb != "pause" && verb != "resume") {
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	status := affiliate.ProductActive
	if verb == "pause" {
		status = affiliate.ProductPaused
	}
	p, _, err := h.store.UpdateProduct(ctx, id, c.User.ID, func(p *affiliate.Product) error {
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
	_ = h.send.AnswerCallback(ctx, c.Request, c.T(key, bot.Truncate(p.Name, 60)), false)
	if c.MessageID == 0 {
		return nil
	}
	// Redraw the list in place so the button shows the new state.
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return h.send.Edit(ctx, c.Chat.ID, c.MessageID, m)
}

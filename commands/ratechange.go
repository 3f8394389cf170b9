package commands

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// tellRateChange informs the product's affiliates of a new rate.
func (h *Handler) tellRateChange(ctx context.Context, before, after affiliate.Product, kept []affiliate.Link) {
	if after.Rate > before.Rate {
		links, err := h.store.ProductLinks(ctx, after.ID)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("rate raise: list links")
			return
		}
		for _, l := range links {
			if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
				h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_raised", bot.Escape(after.Name),
					i18n.Rate(u.Lang, before.Rate), i18n.Rate(u.Lang, after.Rate))})
			}
		}
		return
	}
	for _, l := range kept {
		if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
			h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_cut", bot.Escape(after.Name),
				i18n.Rate(u.Lang, l.KeptRate), i18n.Rate(u.Lang, after.Rate),
				i18n.Date(u.Lang, l.KeptUntil.In(u.Location(h.cfg.DefaultZone))))})
		}
	}
}

// ReminderLead is how long before a kept rate ends the affiliate is reminded.
const ReminderLead = 48 * time.Hour

// RemindRateCuts reminds affiliates whose kept rate ends within two days, once per cut. The scheduler
// runs it hourly.
func (h *Handler) RemindRateCuts(ctx context.Context) error {
	now := h.cfg.Now()
	var due []affiliate.Link
	for after := ""; ; {
		page, err := h.store.ListLinks(ctx, after, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			if l.KeptRate > 0 && !l.Reminded && now.Before(l.KeptUntil) && !now.Before(l.KeptUntil.Add(-ReminderLead)) {
				due = append(due, l)
			}
		}
		after = page[len(page)-1].Code
	}
	for _, l := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := h.store.GetProduct(ctx, l.ProductID)
		if err != nil {
			continue
		}
		if affiliate.EffectiveRate(p.Rate, l, now) <= p.Rate {
			continue // a raise since then made the kept rate moot
		}
		if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
			h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_reminder", bot.Escape(p.Name),
				i18n.Rate(u.Lang, l.KeptRate), i18n.Rate(u.Lang, p.Rate),
				i18n.Date(u.Lang, l.KeptUntil.In(u.Location(h.cfg.DefaultZone))))})
		}
		if _, err := h.store.UpdateLink(ctx, l.Code, func(l *affiliate.Link) error { l.Reminded = true; return nil }); err != nil {
			return err
		}
	}
	return nil
}

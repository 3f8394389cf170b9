package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
)

// ---- an affiliate's links ----

// links lists the caller's basket links with clicks and orders today and in total.
func (h *Handler) links(ctx context.Context, c *Call) error {
	links, err := h.deps.Links.AffiliateLinks(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return c.ReplyKey(ctx, "links_none")
	}
	from, to := dayRange(h.cfg.Now(), c.Location())
	const maxShown = 20
	var rows []string
	for _, l := range links[:min(len(links), maxShown)] {
		name := fmt.Sprintf("#%d", l.ProductID)
		if p, err := h.deps.Catalogue.GetProduct(ctx, l.ProductID); err == nil {
			name = p.Name
		}
		today, err := h.deps.Links.LinkCounts(ctx, l.Code, from, to)
		if err != nil {
			return err
		}
		total, err := h.deps.Links.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		rows = append(rows, "\n\n"+c.T("links_row", bot.Escape(name), bot.Code(h.basketURL(l.Code)),
			today.Clicks, total.Clicks, total.UniqueClicks, total.Orders, today.Orders))
	}
	text, _ := fitLines(c.T("links_head", len(links)), rows, len(links)-len(rows), func(n int) string {
		return "\n\n" + c.T("links_more", n)
	})
	return c.Reply(ctx, text)
}

// dayRange is the local calendar day containing now, as UTC instants [from, to).
func dayRange(now time.Time, loc *time.Location) (time.Time, time.Time) {
	from, to := affiliate.LocalDay(now, loc)
	return from.UTC(), to.UTC()
}

// qr sends the basket link of one of the caller's own codes as a QR-code PNG.
func (h *Handler) qr(ctx context.Context, c *Call) error {
	code := strings.TrimSpace(c.Args)
	if code == "" {
		return c.ReplyKey(ctx, "qr_usage")
	}
	if !affiliate.ValidCode(code) {
		return affiliate.ErrLinkNotFound
	}
	l, err := h.deps.Links.GetLink(ctx, code)
	if err != nil {
		return err
	}
	if l.AffiliateID != c.User.ID {
		return affiliate.ErrLinkNotFound // someone else's link is not the caller's business
	}
	png, err := qrPNG(h.basketURL(code))
	if err != nil {
		return err
	}
	_, err = h.deps.Files.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadPhoto, Name: "keranjang-" + code + ".png", Data: png,
		Caption: c.T("qr_caption", bot.Code(h.basketURL(code)))})
	return err
}

// Links keeps basket links and their click counts.
type Links interface {
	JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error)
	GetLink(ctx context.Context, code string) (affiliate.Link, error)
	AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error)
	ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error)
	LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
}

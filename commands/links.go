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

// links lists the caller's basket links with clicks today and in total.
func (h *Handler) links(ctx context.Context, c *Call) error {
	links, err := h.store.AffiliateLinks(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return c.ReplyKey(ctx, "links_none")
	}
	from, to := dayRange(h.cfg.Now(), c.Location())
	var b strings.Builder
	b.WriteString(c.T("links_head", len(links)))
	const maxShown = 20
	for i, l := range links {
		more := "\n\n" + c.T("links_more", len(links)-i)
		if i == maxShown {
			b.WriteString(more)
			break
		}
		name := fmt.Sprintf("#%d", l.ProductID)
		if p, err := h.store.GetProduct(ctx, l.ProductID); err == nil {
			name = p.Name
		}
		today, err := h.store.LinkCounts(ctx, l.Code, from, to)
		if err != nil {
			return err
		}
		total, err := h.store.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		row := "\n\n" + c.T("links_row", bot.Escape(name), bot.Code(h.basketURL(l.Code)),
			today.Clicks, total.Clicks, total.UniqueClicks)
		if !fits(b.String(), row, more, i == len(links)-1) {
			b.WriteString(more)
			break
		}
		b.WriteString(row)
	}
	return c.Reply(ctx, b.String())
}

// fits reports whether row can be added to a list message text and still leave room for the line that
// tells how many rows were left out (unless row is the last): long product names can make twenty rows
// longer than one Telegram message.
func fits(text, row, more string, last bool) bool {
	n := bot.UTF16Len(text) + bot.UTF16Len(row)
	if !last {
		n += bot.UTF16Len(more)
	}
	return n <= bot.MaxTextLen
}

// dayRange is the local calendar day containing now, as UTC instants [from, to).
func dayRange(now time.Time, loc *time.Location) (time.Time, time.Time) {
	l := now.In(loc)
	from := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return from.UTC(), from.AddDate(0, 0, 1).UTC()
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
	l, err := h.store.GetLink(ctx, code)
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
	_, err = h.send.SendPhoto(ctx, c.Chat.ID, bot.Upload{Name: "keranjang-" + code + ".png", Data: png,
		Caption: c.T("qr_caption", bot.Code(h.basketURL(code)))})
	return err
}

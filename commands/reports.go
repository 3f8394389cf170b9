package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/bot"
)

// ---- seller reports and keys ----

// reportDays is the period of /affiliates: the last 30 local days including today.
const reportDays = 30

// affiliates shows the seller's affiliate activity over the last 30 days, best first.
func (h *Handler) affiliates(ctx context.Context, c *Call) error {
	var productID uint64
	if a := strings.TrimSpace(c.Args); a != "" {
		id, ok := parseProductID(a)
		if !ok {
			return c.ReplyKey(ctx, "affiliates_usage")
		}
		productID = id
	}
	_, to := dayRange(h.cfg.Now(), c.Location())
	from := to.In(c.Location()).AddDate(0, 0, -reportDays).UTC()
	rows, err := h.store.AffiliateReport(ctx, c.User.ID, productID, from, to)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return c.ReplyKey(ctx, "affiliates_none")
	}
	var b strings.Builder
	b.WriteString(c.T("affiliates_head", reportDays, len(rows)))
	const maxShown = 20
	for i, r := range rows {
		more := "\n\n" + c.T("affiliates_more", len(rows)-i)
		if i == maxShown {
			b.WriteString(more)
			break
		}
		name := r.AffiliateName
		if name == "" {
			name = c.T("affiliate_erased")
		}
		row := "\n" + c.T("affiliates_row", i+1, bot.Escape(name), r.ProductID, bot.Escape(bot.Truncate(r.ProductName, 40)),
			r.Clicks, r.UniqueClicks)
		if !fits(b.String(), row, more, i == len(rows)-1) {
			b.WriteString(more)
			break
		}
		b.WriteString(row)
	}
	return c.Reply(ctx, b.String())
}

// apiKey shows the seller's API key with a ready-to-paste example; "/apikey rotate" replaces it.
func (h *Handler) apiKey(ctx context.Context, c *Call) error {
	var key string
	var err error
	switch strings.ToLower(strings.TrimSpace(c.Args)) {
	case "":
		key, err = h.store.APIKey(ctx, c.User.ID)
	case "rotate":
		key, err = h.store.RotateAPIKey(ctx, c.User.ID)
		if err == nil {
			zerolog.Ctx(ctx).Info().Msg("api key rotated")
		}
	default:
		return c.ReplyKey(ctx, "apikey_usage")
	}
	if err != nil {
		return err
	}
	example := fmt.Sprintf("curl -H 'Authorization: Bearer %s' '%s/api/v1/affiliates?from=%s&to=%s'",
		key, h.cfg.PublicURL, h.cfg.Now().In(c.Location()).AddDate(0, 0, -6).Format(time.DateOnly),
		h.cfg.Now().In(c.Location()).Format(time.DateOnly))
	return c.ReplyKey(ctx, "apikey", c.User.ID, bot.Code(key), "<pre>"+bot.Escape(example)+"</pre>")
}

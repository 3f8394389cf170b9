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

// ---- seller reports and keys ----

// reportDays is the period of /affiliates: the last 30 local days including today.
const reportDays = 30

// affiliates shows the seller's affiliate activity over the last 30 days, best first: clicks, orders,
// GMV and commission.
func (h *Handler) affiliates(ctx context.Context, c *Call) error {
	var productID uint64
	if a := strings.TrimSpace(c.Args); a != "" {
		id, ok := parseProductID(a)
		if !ok {
			return c.ReplyKey(ctx, "affiliates_usage")
		}
		productID = id
	}
	from, to := affiliate.LastDays(h.cfg.Now(), c.Location(), reportDays)
	rows, err := h.deps.Reports.AffiliateReport(ctx, c.User.ID, productID, from, to)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return c.ReplyKey(ctx, "affiliates_none")
	}
	const maxShown = 20
	var lines []string
	for i, r := range rows[:min(len(rows), maxShown)] {
		name := r.AffiliateName
		if name == "" {
			name = c.T("affiliate_erased")
		}
		lines = append(lines, "\n"+c.T("affiliates_row", i+1, bot.Escape(name), r.ProductID,
			bot.Escape(bot.Truncate(r.ProductName, 40)), r.Clicks, r.UniqueClicks)+"\n    "+orderLine(c, r.OrderCounts))
	}
	text, _ := fitLines(c.T("affiliates_head", reportDays, len(rows)), lines, len(rows)-len(lines), func(n int) string {
		return "\n\n" + c.T("affiliates_more", n)
	})
	return c.Reply(ctx, text)
}

// apiKey shows the seller's API key with a ready-to-paste example; "/apikey rotate" replaces it.
func (h *Handler) apiKey(ctx context.Context, c *Call) error {
	var key string
	var err error
	switch strings.ToLower(strings.TrimSpace(c.Args)) {
	case "":
		key, err = h.deps.Keys.APIKey(ctx, c.User.ID)
	case "rotate":
		key, err = h.deps.Keys.RotateAPIKey(ctx, c.User.ID)
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
	return c.ReplyKey(ctx, "apikey", c.User.ID, bot.Code(key), "<pre>"+bot.Escape(example)+"</pre>",
		"<pre>"+bot.Escape(conversionExample(h.cfg.PublicURL, c.User.ID, key))+"</pre>")
}

// conversionExample is a shell snippet that signs and sends one order to POST /api/v1/conversions: the
// signature is the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the API key (README, "Reporting
// orders from your shop").
func conversionExample(publicURL string, sellerID int64, key string) string {
	return fmt.Sprintf(`KEY='%s'
BODY='{"order_id":"INV-1001","link_code":"AbCd1234","amount":150000,"status":"pending"}'
TS=$(date +%%s)
SIG=$(printf '%%s.%%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.* //')
curl -X POST '%s/api/v1/conversions' \
  -H 'Content-Type: application/json' \
  -H 'X-Keranjang-Seller: %d' \
  -H "X-Keranjang-Timestamp: $TS" \
  -H "X-Keranjang-Signature: sha256=$SIG" \
  --data-binary "$BODY"`, key, publicURL, sellerID)
}

// Reports answers the sellers' activity reports.
type Reports interface {
	AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error)
	ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error)
}

// orderLine shows order counts: orders, GMV (refunds beside it) and commission pending / settled /
// reversed.
func orderLine(c *Call, n affiliate.OrderCounts) string {
	return c.T("orders_line", n.Orders, i18n.Money(n.GMV), i18n.Money(n.Refunded), i18n.Money(n.CommissionPending),
		i18n.Money(n.CommissionSettled), i18n.Money(n.CommissionReversed))
}

// Keys keeps the sellers' API keys.
type Keys interface {
	APIKey(ctx context.Context, sellerID int64) (string, error)
	RotateAPIKey(ctx context.Context, sellerID int64) (string, error)
}

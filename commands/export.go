package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
)

// ---- a seller's orders as a spreadsheet ----

// exportPage is how many orders each store read of /export fetches.
const exportPage = 500

// exportHeader are the columns of /export.
var exportHeader = []string{"order_id", "occurred_at", "link_code", "product_id", "product", "affiliate", "amount",
	"refunded_amount", "status", "rate_percent", "commission", "commission_reversed"}

// export sends the seller's orders of a month (default: this month in their zone) as a CSV document
// that Excel opens: UTF-8 with a BOM, comma separated, CRLF line ends, times in the seller's zone.
func (h *Handler) export(ctx context.Context, c *Call) error {
	loc := c.Location()
	now := h.cfg.Now().In(loc)
	y, m := now.Year(), now.Month()
	if a := strings.TrimSpace(c.Args); a != "" {
		t, err := time.Parse("2006-01", a)
		if err != nil {
			return c.ReplyKey(ctx, "export_usage")
		}
		y, m = t.Year(), t.Month()
	}
	from := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write(exportHeader)
	products := map[uint64]string{}
	names := map[int64]string{}
	var after affiliate.OrderCursor
	count := 0
	for {
		page, err := h.deps.Orders.SellerOrders(ctx, c.User.ID, from.UTC(), to.UTC(), after, exportPage)
		if err != nil {
			return err
		}
		for _, o := range page {
			name, ok := products[o.ProductID]
			if !ok {
				name = h.productName(ctx, o.ProductID)
				products[o.ProductID] = name
			}
			aff, ok := names[o.AffiliateID]
			if !ok {
				aff = strconv.FormatInt(o.AffiliateID, 10)
				if u, err := h.deps.Accounts.GetUser(ctx, o.AffiliateID); err == nil && u.DisplayName() != "" {
					aff = u.DisplayName()
				}
				names[o.AffiliateID] = aff
			}
			_ = w.Write([]string{o.OrderID, o.OccurredAt.In(loc).Format(time.RFC3339), o.LinkCode,
				strconv.FormatUint(o.ProductID, 10), cell(name), cell(aff), money(o.Amount), money(o.RefundedAmount),
				string(o.Status), o.Rate.Percent(), money(o.Commission), money(o.Reversed)})
			count++
		}
		if len(page) < exportPage {
			break
		}
		last := page[len(page)-1]
		after = affiliate.OrderCursor{At: last.OccurredAt, OrderID: last.OrderID}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	month := from.Format("2006-01")
	if count == 0 {
		return c.ReplyKey(ctx, "export_none", month)
	}
	_, err := h.deps.Files.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadDocument,
		Name: "keranjang-orders-" + month + ".csv", Data: buf.Bytes(), Caption: c.T("export_caption", count, month)})
	return err
}

// money is an amount as a plain number, which a spreadsheet sums.
func money(r affiliate.Rupiah) string { return strconv.FormatInt(int64(r), 10) }

// cell keeps user text from being read as a spreadsheet formula: a leading =, +, -, @, tab or carriage
// return gets an apostrophe before it.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

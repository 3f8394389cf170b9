package commands

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// ---- importing orders from a CSV document ----

// CSV import limits.
const (
	maxImportBytes   = 1 << 20 // 1 MiB
	maxImportRows    = 10_000  // data rows, without the header
	maxImportReasons = 20      // rejected rows whose reason the reply shows
)

// csvColumns are the columns an import knows; the first four are required.
var csvColumns = []string{"order_id", "ref", "amount", "status", "refunded_amount"}

// csvRejected is a row the parser refused, with its line in the file.
type csvRejected struct {
	Line int
	Err  error
}

// csvOrders is a parsed import: the reports to apply with the line each came from, and the rows refused
// before anything was looked up.
type csvOrders struct {
	Reports  []affiliate.OrderReport
	Lines    []int
	Rejected []csvRejected
}

// parseOrdersCSV reads an import file of sellerID: an optional UTF-8 BOM, a header naming the columns
// order_id, ref, amount, status and optionally refunded_amount in any order (case and spaces ignored),
// then one order per line. The separator is ',' or, as Excel writes it in an Indonesian locale, ';' (the
// one the header uses). ref is a link code or a click id; amounts are written as in chat (150000,
// 150.000, Rp150.000); an empty status is pending and an empty amount keeps the stored one (a status
// change). A bad row is rejected with its line; a bad header, a file that is not UTF-8 or one with more
// than maxImportRows rows is an error for the whole file.
func parseOrdersCSV(data []byte, sellerID int64) (csvOrders, error) {
	var out csvOrders
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return out, affiliate.Errorf(affiliate.EInvalid, "csv_encoding")
	}
	header, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(header, []byte(";")) > bytes.Count(header, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return out, affiliate.Errorf(affiliate.EInvalid, "csv_header")
	}
	col := map[string]int{}
	for i, name := range head {
		name = strings.ToLower(strings.TrimSpace(name))
		known := false
		for _, c := range csvColumns {
			known = known || c == name
		}
		if _, dup := col[name]; !known || dup {
			return out, affiliate.Errorf(affiliate.EInvalid, "csv_header")
		}
		col[name] = i
	}
	for _, c := range csvColumns[:4] {
		if _, ok := col[c]; !ok {
			return out, affiliate.Errorf(affiliate.EInvalid, "csv_header")
		}
	}
	rows := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		rows++
		if rows > maxImportRows {
			return csvOrders{}, affiliate.Errorf(affiliate.EInvalid, "csv_too_many_rows", maxImportRows)
		}
		var perr *csv.ParseError
		switch {
		case errors.As(err, &perr) && !errors.Is(err, csv.ErrFieldCount):
			out.Rejected = append(out.Rejected, csvRejected{Line: perr.StartLine, Err: affiliate.Errorf(affiliate.EInvalid, "csv_syntax")})
			continue
		case err != nil && !errors.Is(err, csv.ErrFieldCount):
			return csvOrders{}, affiliate.Errorf(affiliate.EInvalid, "csv_syntax")
		}
		line, _ := r.FieldPos(0) // only valid for a record read without a syntax error
		rep, err := csvReport(rec, col, sellerID)
		if err != nil {
			out.Rejected = append(out.Rejected, csvRejected{Line: line, Err: err})
			continue
		}
		out.Reports = append(out.Reports, rep)
		out.Lines = append(out.Lines, line)
	}
	if rows == 0 {
		return out, affiliate.Errorf(affiliate.EInvalid, "csv_empty")
	}
	return out, nil
}

// csvReport turns one record into a report.
func csvReport(rec []string, col map[string]int, sellerID int64) (affiliate.OrderReport, error) {
	field := func(name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	if len(rec) != len(col) {
		return affiliate.OrderReport{}, affiliate.Errorf(affiliate.EInvalid, "csv_fields", len(col), len(rec))
	}
	r := affiliate.OrderReport{SellerID: sellerID, OrderID: field("order_id")}
	if r.OrderID == "" {
		return r, affiliate.Errorf(affiliate.EInvalid, "csv_order_id")
	}
	if ref := field("ref"); ref != "" {
		if err := setRef(&r, ref); err != nil {
			return r, err
		}
	}
	r.Status = affiliate.OrderPending
	if st := field("status"); st != "" {
		var ok bool
		if r.Status, ok = affiliate.ParseOrderStatus(st); !ok {
			return r, affiliate.Errorf(affiliate.EInvalid, "csv_status")
		}
	}
	var err error
	if a := field("amount"); a != "" {
		if r.Amount, err = affiliate.ParseRupiah(a); err != nil {
			return r, err
		}
	}
	if a := field("refunded_amount"); a != "" {
		if r.RefundedAmount, err = affiliate.ParseRupiah(a); err != nil {
			return r, err
		}
	}
	return r, nil
}

// isCSV reports whether a document looks like a CSV file by its name or type.
func isCSV(f *bot.File) bool {
	switch strings.ToLower(f.MIME) {
	case "text/csv", "application/csv", "text/comma-separated-values":
		return true
	}
	return strings.HasSuffix(strings.ToLower(f.FileName), ".csv")
}

// document handles a file sent outside any flow: a seller's CSV file imports orders.
func (h *Handler) document(ctx context.Context, c *Call) error {
	if !isCSV(c.Document) {
		return c.ReplyKey(ctx, "hint_free_text")
	}
	if !c.Roles.Has(seller) {
		return c.ReplyKey(ctx, refusalKey(seller))
	}
	if c.Document.Size > maxImportBytes {
		return c.ReplyKey(ctx, "csv_too_large")
	}
	data, err := h.deps.Downloads.Download(ctx, c.Document.FileID, maxImportBytes)
	if errors.Is(err, bot.ErrFileTooLarge) {
		return c.ReplyKey(ctx, "csv_too_large")
	}
	if err != nil {
		return err
	}
	parsed, err := parseOrdersCSV(data, c.User.ID)
	if err != nil {
		return err
	}
	var results []affiliate.OrderResult
	if len(parsed.Reports) > 0 {
		if results, err = h.deps.Orders.ImportOrders(ctx, c.User.ID, parsed.Reports); err != nil {
			return err
		}
	}
	rejected := append([]csvRejected(nil), parsed.Rejected...)
	var imported, unchanged int
	var changed []affiliate.Order
	for i, res := range results {
		switch res.Outcome {
		case affiliate.OutcomeImported:
			imported++
			changed = append(changed, res.Order)
		case affiliate.OutcomeUnchanged:
			unchanged++
		default:
			rejected = append(rejected, csvRejected{Line: parsed.Lines[i], Err: res.Err})
		}
	}
	sortRejected(rejected)
	zerolog.Ctx(ctx).Info().Int("imported", imported).Int("unchanged", unchanged).Int("rejected", len(rejected)).
		Msg("orders imported")
	var lines []string
	for _, rj := range rejected[:min(len(rejected), maxImportReasons)] {
		lines = append(lines, "\n"+c.T("csv_reason", rj.Line, reasonText(c, rj.Err)))
	}
	head := c.T("csv_done", imported, unchanged, len(rejected))
	if len(lines) > 0 {
		head += "\n"
	}
	text, _ := fitLines(head, lines, len(rejected)-len(lines), func(n int) string {
		return "\n" + c.T("csv_more", n)
	})
	if err := c.Reply(ctx, text); err != nil {
		return err
	}
	for i, o := range changed {
		if ctx.Err() != nil {
			// The update's deadline ran out: the rest are not sent (the outbox will carry them).
			zerolog.Ctx(ctx).Warn().Int("unsent", len(changed)-i).Msg("order notices of an import not sent")
			break
		}
		h.notifyOrder(ctx, o)
	}
	return nil
}

// reasonText is what a user reads about a refused row: the domain reason, or a generic text for an
// error without one (logged by the store, never shown).
func reasonText(c *Call, err error) string {
	if affiliate.ErrorCode(err) == affiliate.EInternal {
		return c.T("csv_row_failed")
	}
	return i18n.Reason(c.Lang, err)
}

// sortRejected orders rejected rows by line (parser and store rejections arrive apart).
func sortRejected(r []csvRejected) {
	slices.SortStableFunc(r, func(a, b csvRejected) int { return cmp.Compare(a.Line, b.Line) })
}

// Downloader fetches files users sent.
type Downloader interface {
	Download(ctx context.Context, fileID string, max int64) ([]byte, error)
}

package commands

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/tgfake"
)

func TestParseOrdersCSV(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		reports    int
		lines      []int // lines of the reports
		rejected   map[int]string
		err        string
	}{
		{name: "comma", file: "order_id,ref,amount,status\nA1,Ab12Cd34,150000,pending\nA2,Ab12Cd34Ef56Gh78,150.000,settled\n",
			reports: 2, lines: []int{2, 3}},
		{name: "semicolon, BOM, CRLF, spaces and case", file: "\ufeff Order_ID ; REF;Amount;Status;Refunded_Amount\r\nA1; Ab12Cd34 ;Rp150.000;Refunded;Rp 50.000\r\n",
			reports: 1, lines: []int{2}},
		{name: "columns in any order", file: "status,amount,ref,order_id\nsettled,1000,Ab12Cd34,A1\n", reports: 1, lines: []int{2}},
		{name: "status change without ref or amount", file: "order_id,ref,amount,status\nA1,,,cancelled\n", reports: 1, lines: []int{2}},
		{name: "bad rows", file: "order_id,ref,amount,status\nA1,Ab12Cd34,lima,pending\nA2,short,1000,pending\n\nA3,Ab12Cd34,1000,lost\n,Ab12Cd34,1000,pending\nA5,Ab12Cd34,1000\nA6,Ab12Cd34,1000,pending\n",
			reports: 1, lines: []int{8}, rejected: map[int]string{2: "amount_format", 3: "order_ref", 5: "csv_status", 6: "csv_order_id", 7: "csv_fields"}},
		{name: "broken quotes", file: "order_id,ref,amount,status\n\"A1,Ab12Cd34,1000,pending\n", rejected: map[int]string{2: "csv_syntax"}},
		{name: "unknown column", file: "order_id,ref,amount,status,note\n", err: "csv_header"},
		{name: "missing column", file: "order_id,ref,amount\nA1,Ab12Cd34,1000\n", err: "csv_header"},
		{name: "twice the same column", file: "order_id,ref,amount,status,status\n", err: "csv_header"},
		{name: "header only", file: "order_id,ref,amount,status\n", err: "csv_empty"},
		{name: "empty", file: "", err: "csv_header"},
		{name: "not UTF-8", file: "order_id,ref,amount,status\nA\xe91,Ab12Cd34,1000,pending\n", err: "csv_encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOrdersCSV([]byte(tc.file), 7)
			if affiliate.ErrorReason(err) != tc.err {
				t.Fatalf("error %v, want reason %q", err, tc.err)
			}
			if len(got.Reports) != tc.reports {
				t.Fatalf("%d reports, want %d: %+v", len(got.Reports), tc.reports, got)
			}
			for i, l := range tc.lines {
				if got.Lines[i] != l {
					t.Errorf("report %d from line %d, want %d", i, got.Lines[i], l)
				}
			}
			if len(got.Rejected) != len(tc.rejected) {
				t.Fatalf("rejected %+v, want %v", got.Rejected, tc.rejected)
			}
			for _, r := range got.Rejected {
				if want := tc.rejected[r.Line]; affiliate.ErrorReason(r.Err) != want {
					t.Errorf("line %d: %v, want %q", r.Line, r.Err, want)
				}
			}
			for _, r := range got.Reports {
				if r.SellerID != 7 {
					t.Errorf("report for seller %d", r.SellerID)
				}
			}
		})
	}
	got, _ := parseOrdersCSV([]byte("\ufefforder_id;ref;amount;status;refunded_amount\nA1;Ab12Cd34;Rp150.000;refunded;50.000\n"), 7)
	want := affiliate.OrderReport{SellerID: 7, OrderID: "A1", LinkCode: "Ab12Cd34", Amount: 150000,
		Status: affiliate.OrderRefunded, RefundedAmount: 50000}
	if len(got.Reports) != 1 || got.Reports[0] != want {
		t.Fatalf("parsed %+v, want %+v", got.Reports, want)
	}
}

// FuzzParseOrdersCSV feeds arbitrary files to the import parser: it never panics, never returns more
// reports than the row limit, and every report it returns has an order id, a known state, amounts that
// are not negative and a line after the header.
func FuzzParseOrdersCSV(f *testing.F) {
	f.Add([]byte("order_id,ref,amount,status\nA1,Ab12Cd34,150000,pending\n"))
	f.Add([]byte("\ufefforder_id;ref;amount;status;refunded_amount\r\nA1;Ab12Cd34;Rp150.000;refunded;50.000\r\n"))
	f.Add([]byte("order_id,ref,amount,status\n\"A1,\"\"x\",,,\nA2,Ab12Cd34Ef56Gh78,1.000.000,settled\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseOrdersCSV(data, 1)
		if err != nil {
			if affiliate.ErrorCode(err) != affiliate.EInvalid {
				t.Fatalf("not a domain error: %v", err)
			}
			return
		}
		if len(got.Reports) != len(got.Lines) || len(got.Reports)+len(got.Rejected) > maxImportRows {
			t.Fatalf("%d reports, %d lines, %d rejected", len(got.Reports), len(got.Lines), len(got.Rejected))
		}
		last := 1
		for i, r := range got.Reports {
			if r.OrderID == "" || !r.Status.Valid() || r.Amount < 0 || r.RefundedAmount < 0 || r.SellerID != 1 {
				t.Fatalf("bad report %+v", r)
			}
			if got.Lines[i] <= last {
				t.Fatalf("report %d from line %d after line %d", i, got.Lines[i], last)
			}
			last = got.Lines[i]
		}
		for _, r := range got.Rejected {
			if r.Line < 2 || affiliate.ErrorReason(r.Err) == "" {
				t.Fatalf("rejection %+v", r)
			}
		}
	})
}

// sendCSV sends a document as u and returns the bot's reply.
func (x *harness) sendCSV(t *testing.T, u tgfake.User, name, mime string, data []byte) tgfake.Message {
	t.Helper()
	n := len(x.fake.Sent(u.ID))
	x.fake.SendDocument(u, tgfake.Chat{}, name, mime, data, "")
	return x.next(t, u.ID, n)
}

func TestCSVImport(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	_, code := x.shop(t, s, a)
	seen := len(x.fake.Sent(a.ID))

	file := "\ufeffORDER_ID ; Ref ; Amount ; Status ; refunded_amount\r\n" +
		"A-1;" + code + ";150.000;pending;\r\n" + // 2 imported
		"A-2;" + code + ";Rp150.000;settled;\r\n" + // 3 imported
		"A-2;" + code + ";150000;settled;\r\n" + // 4 the same again: unchanged
		"A-3;" + code + ";abc;pending;\r\n" + // 5 rejected by the parser
		"A-4;zzzzzzzz;1000;pending;\r\n" + // 6 rejected by the store: unknown link
		"A-5;" + code + ";100000;refunded;40.000\r\n" + // 7 imported, a partial refund
		"A-6;" + code + ";1000;lost;\r\n" + // 8 rejected by the parser
		"A-1;;;settled;\r\n" // 9 imported: a status change by order id
	m := x.sendCSV(t, s, "orders.csv", "text/csv", []byte(file))
	mustContain(t, m.PlainText, "Imported: 4 · unchanged: 1 · rejected: 3")
	mustContain(t, m.PlainText, "Row 5: That is not an amount of rupiah")
	mustContain(t, m.PlainText, "Row 6: None of your products has a basket link with that code")
	mustContain(t, m.PlainText, "Row 8: status must be")
	if i, j := strings.Index(m.PlainText, "Row 5"), strings.Index(m.PlainText, "Row 6"); i > j {
		t.Errorf("reasons out of order:\n%s", m.PlainText)
	}
	o, err := x.st.GetOrder(t.Context(), s.ID, "A-1")
	if err != nil || o.Status != affiliate.OrderSettled || o.Commission != 15000 {
		t.Fatalf("A-1 is %+v, %v", o, err)
	}
	o, err = x.st.GetOrder(t.Context(), s.ID, "A-5")
	if err != nil || o.RefundedAmount != 40000 || o.Reversed != 4000 {
		t.Fatalf("A-5 is %+v, %v", o, err)
	}
	n := x.notices(t, a.ID, seen, 4)
	if len(n) != 4 {
		t.Fatalf("affiliate notices %q, want 4", n)
	}
	mustContain(t, n[0], "New order")
	mustContain(t, n[3], "settled")

	// The same file again changes nothing and tells nobody; its first row, pending, is now refused
	// because A-1 was settled further down.
	m = x.sendCSV(t, s, "orders.csv", "text/csv", []byte(file))
	mustContain(t, m.PlainText, "Imported: 0 · unchanged: 4 · rejected: 4")
	mustContain(t, m.PlainText, "Row 2: This order is settled and cannot become pending")

	// A comma-separated file named .csv with a generic type; more than 20 rejections are summarized.
	var b strings.Builder
	b.WriteString("order_id,ref,amount,status\n")
	for i := range 25 {
		fmt.Fprintf(&b, "B-%d,%s,nol,pending\n", i, code)
	}
	m = x.sendCSV(t, s, "Export.CSV", "application/octet-stream", []byte(b.String()))
	mustContain(t, m.PlainText, "rejected: 25")
	if got := len(x.fake.Sent(a.ID)); got != seen+4 {
		t.Errorf("the affiliate has %d messages, want %d", got, seen+4)
	}
	mustContain(t, m.PlainText, "Row 21:")
	mustContain(t, m.PlainText, "…and 5 more rejected rows")
	if strings.Contains(m.PlainText, "Row 22:") {
		t.Errorf("more than 20 reasons:\n%s", m.PlainText)
	}

	// Too big, too many rows: nothing is imported.
	big := append([]byte("order_id,ref,amount,status\n"), bytes.Repeat([]byte("x"), 1<<20)...)
	mustContain(t, x.sendCSV(t, s, "big.csv", "text/csv", big).PlainText, "over 1 MB")
	b.Reset()
	b.WriteString("order_id,ref,amount,status\n")
	for i := range maxImportRows + 1 {
		fmt.Fprintf(&b, "C-%d,%s,1000,pending\n", i, code)
	}
	mustContain(t, x.sendCSV(t, s, "many.csv", "text/csv", []byte(b.String())).PlainText, "more than 10000 rows")
	if _, err := x.st.GetOrder(t.Context(), s.ID, "C-0"); err == nil {
		t.Error("a file with too many rows was partly imported")
	}
	mustContain(t, x.sendCSV(t, s, "bad.csv", "text/csv", []byte("id,link\n1,2\n")).PlainText, "The first line must name the columns")

	// An affiliate's CSV is refused; other documents get the usual hint.
	mustContain(t, x.sendCSV(t, a, "orders.csv", "text/csv", []byte(file)).PlainText, "for sellers")
	mustContain(t, x.sendCSV(t, s, "photo.pdf", "application/pdf", []byte("%PDF")).PlainText, "/help")
}

package commands

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/clocktest"
	"github.com/keranjang/keranjang/internal/tgfake"
)

// Earnings are counted by the affiliate's own calendar days: an order at 23:59 local on 30 November and
// one at 00:01 local on 1 December fall on different days (and months) in WIB, WITA and WIT alike.
func TestEarningsByLocalDay(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	x := newHarness(t, Config{Now: clk.Now})
	s := user(100, "en")
	x.seller(t, s, "Toko Sari")
	p := x.product(t, s.ID, "Kaos Batik")
	for i, zone := range []string{"WIB", "WITA", "WIT"} {
		t.Run(zone, func(t *testing.T) {
			a := tgfake.User{ID: int64(200 + i), FirstName: "Rina", LanguageCode: "en"}
			x.say(t, a, "/start")
			x.say(t, a, "/timezone "+zone)
			u, err := x.st.GetUser(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			loc := u.Location(time.UTC)
			l, _, err := x.st.JoinProduct(t.Context(), a.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			late := time.Date(2026, 11, 30, 23, 59, 0, 0, loc)
			early := time.Date(2026, 12, 1, 0, 1, 0, 0, loc)
			clk.Set(time.Date(2026, 12, 1, 0, 30, 0, 0, loc))
			if _, err := x.st.RecordClicks(t.Context(), []affiliate.Click{
				{Code: l.Code, ProductID: p.ID, AffiliateID: a.ID, SellerID: s.ID, At: late.Add(-time.Minute), Visitor: 1},
				{Code: l.Code, ProductID: p.ID, AffiliateID: a.ID, SellerID: s.ID, At: early, Visitor: 2},
				{Code: l.Code, ProductID: p.ID, AffiliateID: a.ID, SellerID: s.ID, At: early, Visitor: 2},
			}); err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				id     string
				at     time.Time
				amount affiliate.Rupiah
			}{{"late-" + zone, late, 100000}, {"early-" + zone, early, 150000}} {
				if _, _, err := x.st.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: s.ID, OrderID: o.id,
					LinkCode: l.Code, Amount: o.amount, Status: affiliate.OrderPending, OccurredAt: o.at}); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct{ arg, label, clicks, money string }{
				{"today", "Today, 1 December 2026", "Clicks: 2 (unique 1)", "Orders: 1 · GMV: Rp150.000"},
				{"yesterday", "Yesterday, 30 November 2026", "Clicks: 1 (unique 1)", "Orders: 1 · GMV: Rp100.000"},
				{"7d", "7 days, 25 November 2026 – 1 December 2026", "Clicks: 3 (unique 2)", "Orders: 2 · GMV: Rp250.000"},
				{"month", "This month, 1 December 2026 – 1 December 2026", "Clicks: 2 (unique 1)", "Orders: 1 · GMV: Rp150.000"},
			} {
				m := x.say(t, a, "/earnings "+tc.arg).PlainText
				mustContain(t, m, tc.label)
				mustContain(t, m, tc.clicks)
				mustContain(t, m, tc.money)
				if strings.Contains(m, "%!") {
					t.Fatalf("/earnings %s: a formatting error in %q", tc.arg, m)
				}
			}
			m := x.say(t, a, "/earnings").PlainText
			mustContain(t, m, "Today, 1 December 2026")
			mustContain(t, m, "Commission pending: Rp15.000\nCommission settled: Rp0\nCommission reversed: Rp0")
			mustContain(t, m, "This month, 1 December 2026")
			mustContain(t, x.say(t, a, "/earnings forever").PlainText, "Usage: /earnings")
		})
	}
}

func TestEarningsChartAndExport(t *testing.T) {
	wib, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Date(2026, 11, 30, 12, 0, 0, 0, wib))
	x := newHarness(t, Config{Now: clk.Now, DefaultZone: wib})
	s, a := tgfake.User{ID: 100, FirstName: "Sari", LanguageCode: "en"}, tgfake.User{ID: 200, FirstName: "=Rina", LanguageCode: "id"}
	p, code := x.shop(t, s, a)
	for d := range 20 {
		at := clk.Now().AddDate(0, 0, -d)
		if _, err := x.st.RecordClicks(t.Context(), []affiliate.Click{{Code: code, ProductID: p.ID, AffiliateID: a.ID,
			SellerID: s.ID, At: at, Visitor: uint64(d)}}); err != nil {
			t.Fatal(err)
		}
		if d%3 == 0 {
			if _, _, err := x.st.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: s.ID, OrderID: fmt.Sprintf("INV-%02d", d),
				LinkCode: code, Amount: affiliate.Rupiah(50000 * (d + 1)), Status: affiliate.OrderPending, OccurredAt: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := len(x.fake.Sent(a.ID))
	x.say(t, s, "/refund INV-00 20.000")
	x.notices(t, a.ID, before, 1) // the refund notice comes after the seller's reply

	m := x.say(t, a, "/earnings")
	if !strings.Contains(m.ReplyMarkup, "chart:earnings") {
		t.Fatalf("no chart button: %s", m.ReplyMarkup)
	}
	n := len(x.fake.Sent(a.ID))
	mustContain(t, x.press(t, a, m, "chart:earnings"), "grafik")
	photo := x.next(t, a.ID, n)
	if photo.Method != "sendPhoto" || photo.Media == nil || !bytes.HasPrefix(photo.Media.Data, []byte("\x89PNG")) {
		t.Fatalf("the chart is not a PNG photo: %+v", photo)
	}
	mustContain(t, photo.PlainText, "30 hari terakhir: 20 klik, komisi Rp348.000")
	if out := os.Getenv("KERANJANG_CHART_OUT"); out != "" {
		_ = os.WriteFile(out, photo.Media.Data, 0o600)
	}

	mustContain(t, x.say(t, s, "/export 2026-13").PlainText, "Usage: /export")
	mustContain(t, x.say(t, s, "/export 2025-01").PlainText, "no orders in 2025-01")
	doc := x.say(t, s, "/export")
	if doc.Method != "sendDocument" || doc.Media == nil || doc.Media.FileName != "keranjang-orders-2026-11.csv" {
		t.Fatalf("export is not a CSV document: %+v", doc)
	}
	data := doc.Media.Data
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Fatal("export has no BOM")
	}
	rows, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(exportHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != 1+7 { // orders on days 0, 3, … 18 back; all in November
		t.Fatalf("%d rows:\n%s", len(rows), data)
	}
	mustContain(t, doc.PlainText, "7 orders")
	first, last := rows[1], rows[len(rows)-1]
	want := []string{"INV-18", "2026-11-12T12:00:00+07:00", code, fmt.Sprint(p.ID), "Kaos Batik", "'=Rina", "950000", "0",
		"pending", "10", "95000", "0"}
	if strings.Join(first, "|") != strings.Join(want, "|") {
		t.Errorf("first row %q, want %q", first, want)
	}
	if last[0] != "INV-00" || last[7] != "20000" || last[8] != "refunded" || last[11] != "2000" {
		t.Errorf("last row %q", last)
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		t.Error("export lines do not end in CRLF")
	}
}

package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/tgfake"
)

// shop sets up a seller with one product (Rp150.000 at 10%) and an affiliate who joined it, and returns
// the affiliate's link code.
func (x *harness) shop(t *testing.T, s, a tgfake.User) (affiliate.Product, string) {
	t.Helper()
	x.seller(t, s, "Toko Sari")
	p := x.product(t, s.ID, "Kaos Batik")
	x.say(t, a, "/start")
	x.say(t, a, fmt.Sprintf("/join %d", p.ID))
	links, err := x.st.AffiliateLinks(t.Context(), a.ID)
	if err != nil || len(links) != 1 {
		t.Fatalf("links %v, %v", links, err)
	}
	return p, links[0].Code
}

// notices returns a chat's messages after the first n, once there are want of them (0: as they are now).
// Notices follow the reply to the seller, so a test waits for them.
func (x *harness) notices(t *testing.T, chatID int64, n, want int) []string {
	t.Helper()
	if want > 0 {
		x.next(t, chatID, n+want-1)
	}
	var out []string
	for _, m := range x.fake.Sent(chatID)[n:] {
		out = append(out, m.PlainText)
	}
	return out
}

func TestOrderCommands(t *testing.T) {
	x := newHarness(t, Config{})
	s, a, s2 := user(100, "en"), user(200, "en"), user(101, "id")
	_, code := x.shop(t, s, a)
	x.seller(t, s2, "Toko Lain")
	// An affiliate is no seller.
	mustContain(t, x.say(t, a, "/order "+code+" INV-9 1000").PlainText, "for sellers")
	seen := len(x.fake.Sent(a.ID))

	// /help lists the order commands for sellers only, and /earnings for everyone.
	help := x.say(t, s, "/help").PlainText
	for _, cmd := range []string{"/order —", "/settle —", "/refund —", "/cancelorder —", "/export —", "/earnings —"} {
		mustContain(t, help, cmd)
	}
	help = x.say(t, a, "/help").PlainText
	mustContain(t, help, "/earnings —")
	if strings.Contains(help, "/order —") || strings.Contains(help, "/export —") {
		t.Errorf("an affiliate's /help lists seller commands:\n%s", help)
	}
	seen = len(x.fake.Sent(a.ID))

	for _, tc := range []struct{ cmd, want string }{
		{"/order", "Usage: /order"},
		{"/order " + code + " INV-1", "Usage: /order"},
		{"/settle", "Usage: /settle"},
		{"/refund", "Usage: /refund"},
		{"/cancelorder", "Usage: /cancelorder"},
		{"/order abc INV-1 1000", "link code (8 characters) or a click id (16 characters)"},
		{"/order " + code + " INV-1 lima ribu", "not an amount of rupiah"},
		{"/order " + code + " INV-1 0", "between Rp1 and"},
		{"/order " + code + " INV@1 1000", "An order id must be"},
		{"/order zzzzzzzz INV-1 1000", "None of your products has a basket link with that code"},
		{"/settle INV-404", "That order was not found"},
	} {
		mustContain(t, x.say(t, s, tc.cmd).PlainText, tc.want)
	}
	if n := x.notices(t, a.ID, seen, 0); len(n) != 0 {
		t.Fatalf("refused commands told the affiliate: %q", n)
	}

	m := x.say(t, s, "/order "+code+" INV-1 Rp 150.000")
	for _, want := range []string{"Order recorded", "INV-1", "pending", "Kaos Batik", "Rp150.000", "10%", "Rp15.000"} {
		mustContain(t, m.PlainText, want)
	}
	mustContain(t, x.say(t, s, "/order "+code+" INV-1 150000").PlainText, "Nothing changed")
	n := x.notices(t, a.ID, seen, 1)
	if len(n) != 1 {
		t.Fatalf("affiliate got %d notices, want 1: %q", len(n), n)
	}
	mustContain(t, n[0], "New order through your link: Kaos Batik, Rp150.000. Estimated commission: Rp15.000.")

	// Another seller's order id space is their own, and another seller's link is unknown to them.
	mustContain(t, x.say(t, s2, "/settle INV-1").PlainText, "Pesanan itu tidak ditemukan")
	mustContain(t, x.say(t, s2, "/order "+code+" INV-9 1000").PlainText, "Tidak ada link keranjang")

	mustContain(t, x.say(t, s, "/order "+code+" INV-1 99000").PlainText, "amount cannot change")
	m = x.say(t, s, "/settle INV-1")
	mustContain(t, m.PlainText, "settled")
	mustContain(t, x.say(t, s, "/cancelorder INV-1").PlainText, "This order is settled and cannot become cancelled")
	mustContain(t, x.say(t, s, "/refund INV-1 200.000").PlainText, "larger than the order amount")
	m = x.say(t, s, "/refund INV-1 50.000")
	mustContain(t, m.PlainText, "refunded")
	mustContain(t, m.PlainText, "Refunded: Rp50.000 · commission reversed: Rp5.000")
	mustContain(t, x.say(t, s, "/refund INV-1 40000").PlainText, "cannot go down")
	m = x.say(t, s, "/refund INV-1")
	mustContain(t, m.PlainText, "Refunded: Rp150.000 · commission reversed: Rp15.000")
	mustContain(t, x.say(t, s, "/refund INV-1").PlainText, "Nothing changed")

	mustContain(t, x.say(t, s, "/order "+code+" INV-2 20.000").PlainText, "Rp2.000")
	mustContain(t, x.say(t, s, "/cancelorder INV-2").PlainText, "cancelled")

	want := []string{"New order", "has settled. Your commission: Rp15.000", "refunded: Rp50.000. Commission reversed: Rp5.000; commission left: Rp10.000",
		"refunded: Rp150.000. Commission reversed: Rp15.000; commission left: Rp0", "New order", "cancelled"}
	n = x.notices(t, a.ID, seen, len(want))
	if len(n) != len(want) {
		t.Fatalf("affiliate notices %q, want %d", n, len(want))
	}
	for i, w := range want {
		mustContain(t, n[i], w)
	}

	// The reports show what happened: one link, two orders (one cancelled, which adds
	// no GMV), GMV Rp150.000 all refunded.
	mp := x.say(t, s, "/myproducts").PlainText
	mustContain(t, mp, "Orders: 2 · GMV: Rp150.000 (refunded Rp150.000)")
	mustContain(t, mp, "Commission pending Rp0 · settled Rp15.000 · reversed Rp15.000")
	mustContain(t, x.say(t, s, "/affiliates").PlainText, "Orders: 2 · GMV: Rp150.000")
	mustContain(t, x.say(t, a, "/links").PlainText, "Orders total: 2 · today: 2")
}

func TestOrderByClickID(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	p, code := x.shop(t, s, a)
	clicks, err := x.st.RecordClicks(t.Context(), []affiliate.Click{{Code: code, ProductID: p.ID, AffiliateID: a.ID,
		SellerID: s.ID, At: x.h.cfg.Now().Add(-time.Hour), Visitor: 7}})
	if err != nil {
		t.Fatal(err)
	}
	m := x.say(t, s, "/order "+clicks[0].ID+" INV-7 150000")
	mustContain(t, m.PlainText, "Order recorded")
	mustContain(t, m.PlainText, code)
	mustContain(t, x.say(t, s, "/order "+strings.Repeat("A", 16)+" INV-8 150000").PlainText, "click was not found")
}

package main

import (
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/i18n"
	"github.com/keranjang/keranjang/track"
)

// TestE2ERateLock runs a rate cut end to end (PRODUCT.md §3): an affiliate enrolled before the cut keeps
// the old rate for 30 days, a newcomer gets the new rate at once, and once the 30 days have passed the
// enrolled affiliate's new orders earn the new rate too. The commission is checked where the shop sees it
// (the postback's answer) and where each affiliate sees it (/earnings). The clock stands still unless the
// test moves it, so the 30 days pass without waiting.
func TestE2ERateLock(t *testing.T) { forEachBackend(t, testRateLock) }

func testRateLock(t *testing.T) {
	clock := standingClock()
	s := newShopWith(t, Options{Now: clock.Now, RateBurst: scripted})
	s.addTas(t) // #1 Tas Anyaman, Rp123.457 at 10%
	s.readKeys(t)

	// Ani joins at 10%.
	aniJoin := s.say(t, s.ani, "/join 1")
	mustContain(t, aniJoin.PlainText, "Komisi: 10% (Rp12.345 per penjualan)")
	aniCode := basketCode(t, aniJoin)

	// Budi cuts the rate to 5%: Ani is told at once that she keeps 10% for 30 days.
	cut := clock.Now()
	keptUntil := cut.Add(affiliate.RateProtection)
	before := s.sent(s.ani.ID)
	mustContain(t, s.say(t, s.budi, "/editproduct 1 rate 5").PlainText, "#1 Tas Anyaman updated", "Commission: 5%")
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, s.waitNew(t, s.ani.ID, before, 1)[0].PlainText, "menurunkan komisi", "Tas Anyaman",
		"tetap dapat 10% (bukan 5%) sampai "+i18n.Date(affiliate.LangID, keptUntil.In(jkt)))

	// Joe comes after the cut, by the deep link: 5% from the start. Ani's link still shows her 10%.
	joeJoin := s.say(t, s.joe, "/start p_1")
	mustContain(t, joeJoin.PlainText, "Commission: 5% (Rp6.172 per sale)")
	joeCode := basketCode(t, joeJoin)
	mustContain(t, s.say(t, s.ani, "/join 1").PlainText, "Komisi: 10% (Rp12.345 per penjualan)")

	order := func(id, code string) string {
		return `{"order_id":"` + id + `","link_code":"` + code + `","amount":123457,"status":"pending"}`
	}
	check := func(name string, r track.ConversionResult, affiliateID int64, rate affiliate.BasisPoints, commission affiliate.Rupiah) {
		t.Helper()
		if !r.Changed || r.AffiliateID != affiliateID || r.RateBP != rate || r.Commission != commission ||
			r.Amount != 123457 || r.Status != affiliate.OrderPending {
			t.Fatalf("%s: %+v, want affiliate %d at %d bp earning %d", name, r, affiliateID, rate, commission)
		}
	}
	// Orders on both links right after the cut: Ani's earns 10% (Rp12.345,7 rounded down), Joe's 5%
	// (Rp6.172,85 rounded down).
	before = s.sent(s.ani.ID)
	check("Ani's order in the lock", s.report(t, s.budi.ID, s.budiKey, order("A-1", aniCode)), s.ani.ID, 1000, 12345)
	mustContain(t, s.waitNew(t, s.ani.ID, before, 1)[0].PlainText, "Pesanan baru", "Rp123.457", "Rp12.345")
	before = s.sent(s.joe.ID)
	check("Joe's order", s.report(t, s.budi.ID, s.budiKey, order("B-1", joeCode)), s.joe.ID, 500, 6172)
	mustContain(t, s.waitNew(t, s.joe.ID, before, 1)[0].PlainText, "New order", "Rp123.457", "Rp6.172")

	mustContain(t, s.say(t, s.ani, "/earnings today").PlainText,
		"Pesanan: 1 · GMV: Rp123.457 (refund Rp0)\nKomisi estimasi: Rp12.345\nKomisi cair: Rp0\nKomisi ditarik: Rp0")
	mustContain(t, s.say(t, s.joe, "/earnings today").PlainText,
		"Orders: 1 · GMV: Rp123.457 (refunded Rp0)\nCommission pending: Rp6.172\nCommission settled: Rp0\nCommission reversed: Rp0")

	// A minute before the 30 days end Ani still earns 10%.
	clock.Set(keptUntil.Add(-time.Minute))
	check("Ani's order at the end of the lock", s.report(t, s.budi.ID, s.budiKey, order("A-2", aniCode)), s.ani.ID, 1000, 12345)

	// Once they have passed, her new orders earn 5%; her first order keeps the commission it came in with.
	clock.Set(keptUntil.Add(time.Minute))
	check("Ani's order after the lock", s.report(t, s.budi.ID, s.budiKey, order("A-3", aniCode)), s.ani.ID, 500, 6172)
	if r := s.report(t, s.budi.ID, s.budiKey, order("A-1", aniCode)); r.Changed || r.RateBP != 1000 || r.Commission != 12345 {
		t.Fatalf("Ani's first order, reported again after the lock: %+v", r)
	}
	mustContain(t, s.say(t, s.ani, "/join 1").PlainText, "Komisi: 5% (Rp6.172 per penjualan)")

	// Today, 30 days after the cut, Ani has the order from just before the lock ended and the one after:
	// Rp12.345 + Rp6.172. Joe has none today.
	mustContain(t, s.say(t, s.ani, "/earnings today").PlainText,
		"Pesanan: 2 · GMV: Rp246.914 (refund Rp0)\nKomisi estimasi: Rp18.517\nKomisi cair: Rp0\nKomisi ditarik: Rp0")
	mustContain(t, s.say(t, s.joe, "/earnings today").PlainText,
		"Orders: 0 · GMV: Rp0 (refunded Rp0)\nCommission pending: Rp0")
	// Over the last 7 days Ani's orders from 30 days ago are gone; Joe's too.
	mustContain(t, s.say(t, s.ani, "/earnings 7d").PlainText, "Pesanan: 2 · GMV: Rp246.914", "Komisi estimasi: Rp18.517")
	mustContain(t, s.say(t, s.joe, "/earnings 7d").PlainText, "Orders: 0 · GMV: Rp0")
}

package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/track"
)

// testCatalogue covers issue 3's catalogue: sellers add products (guided and one-line, with every
// validation rule), affiliates find and join them (button, deep link, command), sellers pause, edit and
// change rates, affiliates ask for QR codes, send feedback and erase their data.
func testCatalogue(t *testing.T) {
	t.Run("guided addproduct explains every bad answer", func(t *testing.T) {
		s := newShop(t)
		mustContain(t, s.say(t, s.budi, "/addproduct").PlainText, "What is the product called?")
		for _, step := range []struct{ answer, reason, next string }{
			{strings.Repeat("K", 101), "at most 100 characters", "What is the product called?"},
			{"Kemeja  Batik   Lasem", "", "What is the price in rupiah?"},
			{"murah", "That is not an amount of rupiah", "What is the price in rupiah?"},
			{"0", "The price must be between Rp1", "What is the price in rupiah?"},
			{"Rp350.000", "", "What commission percentage"},
			{"81", "between 1% and 80%", "What commission percentage"},
			{"sepuluh", "That is not a percentage", "What commission percentage"},
			{"12.5", "", "on one of: shop.example.id, tokoku.id"},
			{"http://shop.example.id/kemeja", "must start with https://", "on one of: shop.example.id, tokoku.id"},
			{"https://evil.example.com/kemeja", "not allowed here", "on one of: shop.example.id, tokoku.id"},
			{"https://shop.example.id/kemeja?ref=bot", "", "Send a product photo, or press Skip"},
			{"nanti saja", "", "Send a product photo, or press Skip"},
		} {
			got := s.say(t, s.budi, step.answer).PlainText
			mustContain(t, got, step.reason, step.next)
		}
		before := s.sent(s.budi.ID)
		s.sb.fake.SendPhoto(s.budi, tgfake.Chat{}, "")
		confirm := s.waitNew(t, s.budi.ID, before, 1)[0]
		mustContain(t, confirm.PlainText, "Kemeja Batik Lasem", "Rp350.000", "12.5%", "Rp43.750",
			"https://shop.example.id/kemeja?ref=bot", "Photo: yes")
		before = s.sent(s.budi.ID)
		s.press(t, s.budi, confirm, "Save")
		mustContain(t, s.waitNew(t, s.budi.ID, before, 1)[0].PlainText, "Product #1 Kemeja Batik Lasem added",
			"https://t.me/keranjang_bot?start=p_1")
		mustContain(t, s.say(t, s.budi, "/cancel").PlainText, "nothing to cancel")
	})

	t.Run("one-line addproduct and its validation", func(t *testing.T) {
		s := newShop(t)
		s.addKemeja(t)
		mustContain(t, s.say(t, s.budi, "/addproduct Selendang Sutra | 175.000 | 15 | https://tokoku.id/selendang").PlainText,
			"Product #2 Selendang Sutra added", "Rp175.000", "15%", "Rp26.250")
		mustContain(t, s.say(t, s.wati, "/addproduct Tas Anyaman | 120000 | 10 | https://shop.example.id/tas").PlainText,
			"Produk #3 Tas Anyaman ditambahkan")
		for _, tc := range []struct{ name, line, want string }{
			{"price 0", "Kaos | 0 | 10 | https://tokoku.id/kaos", "The price must be between Rp1"},
			{"price too high", "Kaos | 1.000.000.000.001 | 10 | https://tokoku.id/kaos", "The price must be between Rp1"},
			{"rate 81", "Kaos | 50000 | 81 | https://tokoku.id/kaos", "between 1% and 80%"},
			{"rate 0.5", "Kaos | 50000 | 0.5 | https://tokoku.id/kaos", "between 1% and 80%"},
			{"http", "Kaos | 50000 | 10 | http://tokoku.id/kaos", "must start with https://"},
			{"user-info", "Kaos | 50000 | 10 | https://admin:rahasia@tokoku.id/kaos", "must not contain a user name or password"},
			{"IP host", "Kaos | 50000 | 10 | https://203.0.113.5/kaos", "not an IP address"},
			{"IPv6 host", "Kaos | 50000 | 10 | https://[2001:db8::1]/kaos", "not an IP address"},
			{"localhost", "Kaos | 50000 | 10 | https://localhost/kaos", "public domain"},
			{"custom port", "Kaos | 50000 | 10 | https://tokoku.id:8443/kaos", "custom port"},
			{"host not allowed", "Kaos | 50000 | 10 | https://tokopedia.com/kaos", "not allowed here"},
			{"look-alike host", "Kaos | 50000 | 10 | https://tokoku.id.evil.com/kaos", "not allowed here"},
			{"empty name", " | 50000 | 10 | https://tokoku.id/kaos", "must not be empty"},
			{"three fields", "Kaos | 50000 | https://tokoku.id/kaos", "Usage: /addproduct"},
			{"HTML in the name", "<b>Kaos</b> & Co | 50000 | 10 | https://shop.example.id/kaos", "Product #4 <b>Kaos</b> & Co added"},
			{"subdomain of an allowed host", "Topi | 25.000 | 5 | https://m.tokoku.id/topi", "Product #5 Topi added"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				mustContain(t, s.say(t, s.budi, "/addproduct "+tc.line).PlainText, tc.want)
			})
		}
		mustContain(t, s.say(t, s.ani, "/addproduct Kaos | 50000 | 10 | https://tokoku.id/kaos").PlainText, "khusus penjual")
	})

	t.Run("product list pages", func(t *testing.T) {
		s := newShop(t)
		s.addCatalogue(t)
		list := s.say(t, s.ani, "/products")
		mustContain(t, list.PlainText, "halaman 1 dari 2, 6 produk", "#2 Selendang Sutra", "Komisi: 15%", "Toko: Batik Budi",
			"#6 Tikar Pandan", "Toko: Toko Wati")
		mustNotContain(t, list.PlainText, "#5 Topi")
		if strings.Index(list.PlainText, "#2 Selendang") > strings.Index(list.PlainText, "#1 Kemeja") {
			t.Errorf("best commission first:\n%s", list.PlainText)
		}
		// Five products a page, with ◀ ▶ buttons.
		s.press(t, s.ani, list, "▶")
		page2 := s.waitEdited(t, s.ani.ID, list.ID, 1)
		mustContain(t, page2.PlainText, "halaman 2 dari 2", "#5 Topi")
		mustNotContain(t, page2.PlainText, "#2 Selendang")
		if _, ok := page2.Button("◀"); !ok {
			t.Errorf("no ◀ on the last page: %v", page2.Buttons())
		}
	})

	t.Run("join by button", func(t *testing.T) {
		s := newShop(t)
		s.addCatalogue(t)
		list := s.say(t, s.ani, "/products")
		sellerBefore := s.sent(s.budi.ID)
		before := s.sent(s.ani.ID)
		mustContain(t, s.press(t, s.ani, list, "Ikut: Kemeja Batik Lasem").Params["text"], "Link keranjang dikirim")
		joined := s.waitNew(t, s.ani.ID, before, 1)[0]
		if joined.Method != "sendPhoto" {
			t.Errorf("the product has a photo; the link came by %s", joined.Method)
		}
		mustContain(t, joined.PlainText, "Kemeja Batik Lasem", "12,5%", "Rp43.750", "7 hari", s.sb.baseURL()+"/r/")
		basketCode(t, joined)
		mustContain(t, s.waitNew(t, s.budi.ID, sellerBefore, 1)[0].PlainText, "Ani joined your product #1 Kemeja Batik Lasem")
	})

	t.Run("join by deep link", func(t *testing.T) {
		s := newShop(t)
		s.addKemeja(t)
		sellerBefore := s.sent(s.budi.ID)
		aniCode := basketCode(t, s.say(t, s.ani, "/join 1"))
		mustContain(t, s.waitNew(t, s.budi.ID, sellerBefore, 1)[0].PlainText, "Ani joined your product #1")
		sellerBefore++
		m := s.say(t, s.joe, "/start p_1")
		mustContain(t, m.PlainText, "You are now promoting Kemeja Batik Lasem", "12.5%", "7 days")
		mustContain(t, s.waitNew(t, s.budi.ID, sellerBefore, 1)[0].PlainText, "Joe joined your product #1")
		if basketCode(t, m) == aniCode {
			t.Fatal("two affiliates share a link")
		}
	})

	t.Run("joining twice gives the same link", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		sellerBefore := s.sent(s.budi.ID)
		again := s.say(t, s.ani, "/join 1")
		mustContain(t, again.PlainText, "sudah ikut")
		if basketCode(t, again) != s.aniCode {
			t.Error("joining twice gave another link")
		}
		if got := basketCode(t, s.say(t, s.joe, "/start p_1")); got != s.joeCode {
			t.Error("the deep link twice gave another link")
		}
		mustContain(t, s.say(t, s.budi, "/myproducts").PlainText, "Affiliates: 2")
		if n := s.sent(s.budi.ID); n != sellerBefore+1 {
			t.Errorf("the seller was told about a second join:\n%s", dump(s.sb.fake.Sent(s.budi.ID)[sellerBefore:]))
		}
	})

	t.Run("a paused product cannot be joined", func(t *testing.T) {
		s := newShop(t)
		s.addCatalogue(t)
		mine := s.say(t, s.budi, "/myproducts")
		mustContain(t, s.press(t, s.budi, mine, "Pause #2").Params["text"], "Selendang Sutra paused")
		mine = s.waitEdited(t, s.budi.ID, mine.ID, 1)
		mustContain(t, mine.PlainText, "#2 Selendang Sutra — paused")
		if _, ok := mine.Button("Resume #2"); !ok {
			t.Errorf("no Resume button: %v", mine.Buttons())
		}
		// Nobody can pause another seller's product.
		mustContain(t, s.pressData(t, s.budi, mine, "pp:3:pause").Params["text"], "That product was not found")
		mustContain(t, s.pressData(t, s.budi, mine, "ed:6").Params["text"], "That product was not found")
		mustContain(t, s.say(t, s.citra, "/products tas").PlainText, "#3 Tas Anyaman")
		mustContain(t, s.say(t, s.citra, "/join 2").PlainText, "sedang dijeda")
		mustContain(t, s.say(t, s.citra, "/start p_2").PlainText, "sedang dijeda")
		mustNotContain(t, s.say(t, s.citra, "/products").PlainText, "Selendang")
		s.press(t, s.budi, mine, "Resume #2")
		mustContain(t, s.waitEdited(t, s.budi.ID, mine.ID, 2).PlainText, "#2 Selendang Sutra — active")
		sellerBefore := s.sent(s.budi.ID)
		citraJoin := s.say(t, s.citra, "/join #2")
		mustContain(t, citraJoin.PlainText, "Selendang Sutra", "15%")
		basketCode(t, citraJoin)
		mustContain(t, s.waitNew(t, s.budi.ID, sellerBefore, 1)[0].PlainText, "Citra joined your product #2")
	})

	t.Run("joins refused", func(t *testing.T) {
		s := newShop(t)
		s.addCatalogue(t)
		for _, tc := range []struct {
			user       tgfake.User
			text, want string
		}{
			{s.budi, "/join 1", "your own product"},
			{s.ani, "/join 999", "tidak ditemukan"},
			{s.ani, "/join abc", "Pakai: /join"},
			{s.ani, "/start p_999", "tidak ditemukan"},
			{s.budi, "/editproduct 3 rate 5", "not found"}, // Wati's product
			{s.budi, "/affiliates 3", "not found"},
		} {
			mustContain(t, s.say(t, tc.user, tc.text).PlainText, tc.want)
		}
	})

	t.Run("rate cut and raise", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		aniBefore, joeBefore, citraBefore := s.sent(s.ani.ID), s.sent(s.joe.ID), s.sent(s.citra.ID)
		mustContain(t, s.say(t, s.budi, "/editproduct 1 rate 5").PlainText, "#1 Kemeja Batik Lasem updated", "Commission: 5%")
		cut := s.waitNew(t, s.ani.ID, aniBefore, 1)[0]
		jkt, _ := time.LoadLocation("Asia/Jakarta")
		keptUntil := morningClock()().Add(affiliate.RateProtection).In(jkt)
		mustContain(t, cut.PlainText, "menurunkan komisi", "Kemeja Batik Lasem", "tetap dapat 12,5% (bukan 5%)")
		mustContain(t, s.waitNew(t, s.joe.ID, joeBefore, 1)[0].PlainText, "You keep 12.5% (instead of 5%) until",
			keptUntil.Format("January 2006"))
		if n := s.sent(s.citra.ID); n != citraBefore {
			t.Errorf("Citra, not enrolled in #1, was told about its rate")
		}
		// The enrolled affiliate keeps the old rate; a newcomer gets the new one.
		mustContain(t, s.say(t, s.ani, "/join 1").PlainText, "Komisi: 12,5% (Rp43.750 per penjualan)")
		mustContain(t, s.say(t, s.citra, "/join 1").PlainText, "Komisi: 5% (Rp17.500 per penjualan)")

		aniBefore, joeBefore, citraBefore = s.sent(s.ani.ID), s.sent(s.joe.ID), s.sent(s.citra.ID)
		mustContain(t, s.say(t, s.budi, "/editproduct 1 komisi 20").PlainText, "Commission: 20%")
		mustContain(t, s.waitNew(t, s.ani.ID, aniBefore, 1)[0].PlainText, "Komisi", "naik dari 5% ke 20%")
		mustContain(t, s.waitNew(t, s.joe.ID, joeBefore, 1)[0].PlainText, "went up from 5% to 20%")
		mustContain(t, s.waitNew(t, s.citra.ID, citraBefore, 1)[0].PlainText, "naik dari 5% ke 20%")
		mustContain(t, s.say(t, s.ani, "/join 1").PlainText, "Komisi: 20% (Rp70.000 per penjualan)")

	})
	t.Run("edit with buttons and with the command", func(t *testing.T) {
		s := newShop(t)
		s.addKemeja(t)
		// Editing with the buttons: pick the product and the field, a bad value is explained, then saved.
		mine := s.say(t, s.budi, "/myproducts")
		before := s.sent(s.budi.ID)
		s.press(t, s.budi, mine, "Edit #1")
		pick := s.waitNew(t, s.budi.ID, before, 1)[0]
		mustContain(t, pick.PlainText, "What do you want to change in #1 Kemeja Batik Lasem?")
		before = s.sent(s.budi.ID)
		s.press(t, s.budi, pick, "Name")
		mustContain(t, s.waitNew(t, s.budi.ID, before, 1)[0].PlainText, "Send the new name for #1")
		mustContain(t, s.say(t, s.budi, strings.Repeat("x", 101)).PlainText, "at most 100 characters", "Try again, or /cancel")
		mustContain(t, s.say(t, s.budi, "Kemeja Batik Lasem Premium").PlainText, "#1 Kemeja Batik Lasem Premium updated")
		mustContain(t, s.say(t, s.budi, "/cancel").PlainText, "nothing to cancel")

		for _, tc := range []struct{ text, want string }{
			{"/editproduct 1 rate 0", "between 1% and 80%"},
			{"/editproduct 1 url http://tokoku.id/x", "must start with https://"},
			{"/editproduct 1 colour red", "Usage: /editproduct"},
			{"/editproduct 1 price 400000", "Price: Rp400.000"},
		} {
			mustContain(t, s.say(t, s.budi, tc.text).PlainText, tc.want)
		}
	})

	t.Run("qr code of a link", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		qr := s.say(t, s.ani, "/qr "+s.aniCode)
		if qr.Method != "sendPhoto" || qr.Media == nil {
			t.Fatalf("/qr sent %s, want a photo", qr.Method)
		}
		if len(qr.Media.Data) < 8 || string(qr.Media.Data[:8]) != "\x89PNG\r\n\x1a\n" {
			t.Errorf("/qr is not a PNG: % x", qr.Media.Data[:min(8, len(qr.Media.Data))])
		}
		mustContain(t, qr.PlainText, s.sb.baseURL()+"/r/"+s.aniCode)
		for _, tc := range []struct{ text, want string }{
			{"/qr " + s.joeCode, "tidak ditemukan di antara link-mu"},
			{"/qr NoSuchXy", "tidak ditemukan di antara link-mu"},
			{"/qr <script>", "tidak ditemukan di antara link-mu"},
			{"/qr", "Pakai: /qr"},
		} {
			mustContain(t, s.say(t, s.ani, tc.text).PlainText, tc.want)
		}

	})
	t.Run("feedback to the seller", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		sellerBefore := s.sent(s.budi.ID)
		mustContain(t, s.say(t, s.ani, "/feedback 1 Kak, ukuran <XL> & XXL ready lagi kapan?").PlainText, "sudah dikirim ke penjual")
		mustContain(t, s.waitNew(t, s.budi.ID, sellerBefore, 1)[0].PlainText, "Feedback from affiliate Ani on #1 Kemeja Batik Lasem",
			"Kak, ukuran <XL> & XXL ready lagi kapan?")
		mustContain(t, s.say(t, s.ani, "/feedback 3 Bagus").PlainText, "Ikut dulu dengan /join 3")
		mustContain(t, s.say(t, s.ani, "/feedback 1").PlainText, "Pakai: /feedback")
	})

	t.Run("many links with long names", func(t *testing.T) {
		s := newShop(t)
		// Marketplace product names are long; an active reseller promotes dozens of them. Every list
		// still fits in one Telegram message.
		gita := person(6003, "Gita", "id")
		reseller := tgfake.User{ID: 6104, FirstName: "Rahmat 🛍️ Reseller Gamis Termurah Se-Indonesia 🇮🇩 Open Order",
			LastName: "Grosir & Eceran ✨ Kirim ke Seluruh Nusantara ✨ Fast Respon", LanguageCode: "id"}
		s.say(t, gita, "/start")
		s.say(t, gita, "/seller Grosir Gita")
		s.say(t, reseller, "/start")
		title := func(i int) string {
			// 100 characters, as marketplace titles are: emoji and ampersands included.
			r := []rune(fmt.Sprintf("%02d 🔥PROMO🔥 Gamis Syari Jumbo Busui & Wudhu Friendly ✨ Wolfis & Jersey Premium ✨ Free Hijab 🌸🌸🌸🌸🌸🌸🌸🌸🌸", i))
			return string(r[:100])
		}
		for i := range 22 {
			long := title(i)
			added := s.say(t, gita, fmt.Sprintf("/addproduct %s | 250000 | 20 | https://shop.example.id/gamis-%d", long, i))
			mustContain(t, added.PlainText, "ditambahkan")
			id := strings.TrimPrefix(strings.Fields(added.PlainText)[2], "#")
			mustContain(t, s.say(t, reseller, "/join "+id).PlainText, "/r/")
		}
		links := s.say(t, reseller, "/links")
		mustContain(t, links.PlainText, "Link keranjangmu (22)", "Gamis", "link lagi")
		mustNotContain(t, links.PlainText, "gangguan")
		mine := s.say(t, gita, "/myproducts")
		mustContain(t, mine.PlainText, "Produkmu (22)", "dan 12 produk lagi")
		mustNotContain(t, mine.PlainText, "gangguan")
		aff := s.say(t, gita, "/affiliates")
		mustContain(t, aff.PlainText, "Rahmat 🛍️", "Laporan lengkap: GET /api/v1/affiliates")
		mustNotContain(t, aff.PlainText, "gangguan")
		mustNotContain(t, s.say(t, reseller, "/products gamis").PlainText, "gangguan")
	})

	t.Run("an affiliate erases their data", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.readKeys(t)
		confirm := s.say(t, s.citra, "/deleteme")
		s.press(t, s.citra, confirm, "Ya, hapus")
		s.waitEdited(t, s.citra.ID, confirm.ID, 1)
		mustContain(t, s.say(t, s.citra, "/links").PlainText, "Kirim /start dulu")
		// The seller's books keep the rows, without the name; the link still works.
		aff := s.say(t, s.budi, "/affiliates").PlainText
		mustContain(t, aff, "(erased) · #2 Selendang Sutra")
		mustNotContain(t, aff, "Citra")
		var report track.AffiliateReport
		if st := s.getJSON(t, "/api/v1/affiliates", s.budiKey, &report); st != http.StatusOK {
			t.Fatalf("affiliate report: %d", st)
		}
		for _, r := range report.Affiliates {
			if r.AffiliateID == s.citra.ID && r.AffiliateName != "" {
				t.Errorf("the report still names an erased affiliate: %+v", r)
			}
		}
		if resp := s.visit(t, http.MethodGet, s.citraCode, "203.0.113.77", "Mozilla/5.0"); resp.StatusCode != http.StatusFound {
			t.Errorf("the erased affiliate's link answers %d", resp.StatusCode)
		}
	})

}

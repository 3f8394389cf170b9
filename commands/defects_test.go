package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Long names full of characters HTML must escape ('"' is six characters on the wire, one on screen)
// must never make the product list fail: the page always fits in one message.
func TestProductsAlwaysFit(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	x.seller(t, s, strings.Repeat(`"`, affiliate.MaxShopNameLen))
	for i := range 4 {
		x.product(t, s.ID, strings.Repeat(`"`, affiliate.MaxProductNameLen-1)+fmt.Sprint(i))
	}
	x.product(t, s.ID, "Kaos Batik")
	x.say(t, a, "/start")
	m := x.say(t, a, "/products")
	mustContain(t, m.PlainText, "Products")
	mustContain(t, m.PlainText, "Kaos Batik")
	joins := 0
	for _, b := range m.Buttons() {
		if strings.HasPrefix(b.CallbackData, "join:") {
			joins++
		}
	}
	if joins != 5 {
		t.Errorf("%d join buttons, want 5:\n%s", joins, m.PlainText)
	}
}

// A feedback is never reported as delivered when it was not: 1,000 '&' (1,000 characters for Telegram)
// either reaches the seller or the affiliate is told it could not be delivered.
func TestFeedbackDeliveryIsHonest(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	x.seller(t, s, "Toko Sari")
	p := x.product(t, s.ID, "Kaos Batik")
	x.say(t, a, "/start")
	x.say(t, a, fmt.Sprintf("/join %d", p.ID))
	before := len(x.fake.Sent(s.ID))
	reply := x.say(t, a, fmt.Sprintf("/feedback %d %s", p.ID, strings.Repeat("&", affiliate.MaxFeedbackLen)))
	// 1,000 "&" are 5,000 bytes of HTML but 1,000 characters to Telegram: the feedback fits and arrives.
	got := x.fake.Sent(s.ID)[before:]
	if len(got) == 0 || !strings.Contains(got[len(got)-1].PlainText, strings.Repeat("&", affiliate.MaxFeedbackLen)) {
		t.Fatalf("the seller did not get the feedback of %d \"&\"", affiliate.MaxFeedbackLen)
	}
	mustContain(t, reply.PlainText, "went to the seller")

	// A seller who blocked the bot: the feedback is kept, and the affiliate is told it was not delivered.
	x.fake.Inject(tgfakeBlocked(s.ID))
	reply = x.say(t, a, fmt.Sprintf("/feedback %d great", p.ID))
	mustContain(t, reply.PlainText, "could not be delivered")

	reply = x.say(t, a, fmt.Sprintf("/feedback %d %s", p.ID, strings.Repeat("😀", 501)))
	mustContain(t, reply.PlainText, "too long")
}

// After a seller's /deleteme their products are paused (nobody can join a shop that is gone), and an
// admin can pause any product.
func TestDeletemePausesAndAdminPause(t *testing.T) {
	adm := user(1, "en")
	x := newHarness(t, Config{AdminIDs: []int64{adm.ID}})
	s, s2, a := user(100, "en"), user(101, "en"), user(200, "en")
	x.seller(t, s, "Toko Sari")
	p1 := x.product(t, s.ID, "Kaos Batik")
	x.product(t, s.ID, "Tas Rotan")
	confirm := x.say(t, s, "/deleteme")
	mustContain(t, confirm.PlainText, "all your products will be paused")
	x.press(t, s, confirm, "del:yes")
	mustContain(t, x.edited(t, s.ID).Params["text"], "2 of your products were paused")

	x.say(t, a, "/start")
	mustContain(t, x.say(t, a, "/products").PlainText, "no active products")
	mustContain(t, x.say(t, a, fmt.Sprintf("/join %d", p1.ID)).PlainText, "paused")

	x.seller(t, s2, "Toko Dua")
	p3 := x.product(t, s2.ID, "Sambal")
	x.say(t, adm, "/start")
	mustContain(t, x.say(t, adm, "/help").PlainText, "/pause")
	n := len(x.fake.Sent(s2.ID))
	mustContain(t, x.say(t, adm, fmt.Sprintf("/pause %d", p3.ID)).PlainText, "paused")
	mustContain(t, x.next(t, s2.ID, n).PlainText, "An admin paused your product")
	mustContain(t, x.say(t, a, fmt.Sprintf("/join %d", p3.ID)).PlainText, "paused")
	mustContain(t, x.say(t, adm, fmt.Sprintf("/pause %d", p3.ID)).PlainText, "already paused")
	mustContain(t, x.say(t, a, fmt.Sprintf("/pause %d", p3.ID)).PlainText, "for admins")
}

// Toasts are plain text; joining your own product toasts the refusal.
func TestToasts(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	x.seller(t, s, "Toko Sari")
	p := x.product(t, s.ID, "Kaos <Batik>")
	x.say(t, a, "/start")
	list := x.say(t, a, "/products")

	toast := x.press(t, a, list, "pp:1:pause") // a seller's button pressed by an affiliate
	mustContain(t, toast, "/seller <shop name>")

	mine := x.say(t, s, "/products")
	toast = x.press(t, s, mine, fmt.Sprintf("join:%d", p.ID))
	mustContain(t, toast, "your own product")

	toast = x.press(t, s, x.say(t, s, "/myproducts"), fmt.Sprintf("pp:%d:pause", p.ID))
	if toast != "Kaos <Batik> paused." {
		t.Errorf("pause toast %q", toast)
	}

	long := strings.Repeat("é", 300)
	if got := toastText("<b>" + long + "</b> &amp;"); len([]rune(got)) != maxToastLen || strings.Contains(got, "<b>") {
		t.Errorf("toast of %d characters: %q", len([]rune(got)), got)
	}
	if got := toastText("a &lt;b&gt; &quot;c&quot; &amp; <code>d</code>"); got != `a <b> "c" & d` {
		t.Errorf("plain toast %q", got)
	}
}

// A search word over the callback-data budget is cut at a rune boundary, never dropped: a search never
// shows unfiltered results.
func TestSearchLongWord(t *testing.T) {
	x := newHarness(t, Config{})
	s, a := user(100, "en"), user(200, "en")
	x.seller(t, s, "Toko Sari")
	x.product(t, s.ID, "Kaos Batik")
	word := strings.Repeat("é", 40) // 80 bytes
	x.product(t, s.ID, "Tas "+word)
	x.say(t, a, "/start")
	m := x.say(t, a, "/products "+strings.Repeat("z", 60))
	mustContain(t, m.PlainText, "No products match")
	m = x.say(t, a, "/products "+word)
	mustContain(t, m.PlainText, "Tas ")
	if strings.Contains(m.PlainText, "Kaos Batik") {
		t.Errorf("search for %q shows unfiltered products:\n%s", word, m.PlainText)
	}
	for _, b := range m.Buttons() {
		if len(b.CallbackData) > 64 {
			t.Errorf("callback data of %d bytes", len(b.CallbackData))
		}
	}
	if q := searchQuery(word); len(q) > maxQueryBytes || !strings.HasPrefix(word, q) || q == "" {
		t.Errorf("searchQuery cut %q", q)
	}
}

// With manual approval and no admin configured, the applicant is told the truth.
func TestSellerApplicationWithoutAdmins(t *testing.T) {
	x := newHarness(t, Config{})
	a := user(200, "en")
	x.say(t, a, "/start")
	m := x.say(t, a, "/seller Toko Sari")
	if strings.Contains(m.PlainText, "went to the admins") {
		t.Fatalf("told the applicant it went to admins that do not exist: %q", m.PlainText)
	}
	mustContain(t, m.PlainText, "No admin is set up")

	// Admins configured but none reachable yet: kept, not "went to the admins".
	y := newHarness(t, Config{AdminIDs: []int64{9}})
	y.say(t, a, "/start")
	m = y.say(t, a, "/seller Toko Sari")
	mustContain(t, m.PlainText, "could not be sent to the admins yet")
}

// Indonesian wording: the /editproduct usage names the real keywords, and no photo is "tidak ada".
func TestIndonesianWording(t *testing.T) {
	x := newHarness(t, Config{})
	s := user(100, "id")
	x.seller(t, s, "Toko Sari")
	mustContain(t, x.say(t, s, "/editproduct").PlainText, "name|price|rate|url")
	x.say(t, s, "/addproduct")
	x.say(t, s, "Kaos Batik")
	x.say(t, s, "150000")
	x.say(t, s, "10")
	x.say(t, s, "https://toko.example.com/kaos")
	m := x.say(t, s, "lewati")
	mustContain(t, m.PlainText, "Foto: tidak ada")
}

func TestRenderNotice(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Jakarta")
	at := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC) // 1 April in Jakarta
	n := affiliate.Notice{Key: "rate_cut", Args: []any{"<Kaos & Batik>", affiliate.BasisPoints(1250), affiliate.BasisPoints(1000), at}}
	got := renderNotice(affiliate.LangID, loc, n).Text
	mustContain(t, got, "&lt;Kaos &amp; Batik&gt;")
	mustContain(t, got, "12,5%")
	mustContain(t, got, "1 April 2026")
	m := renderNotice(affiliate.LangEN, loc, applicationNotice(affiliate.User{ID: 5, FirstName: "A<b>"}, affiliate.Application{ShopName: "S&S"}))
	mustContain(t, m.Text, "A&lt;b&gt;")
	if len(m.Keyboard) != 1 || m.Keyboard[0][0].Text != "✅ Approve" || m.Keyboard[0][1].CallbackData != "app:no:5" {
		t.Errorf("keyboard %+v", m.Keyboard)
	}
	if money := noticeArg(affiliate.LangEN, loc, affiliate.Rupiah(150000)); money != "Rp150.000" {
		t.Errorf("money %v", money)
	}
}

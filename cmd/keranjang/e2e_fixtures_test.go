package main

import (
	"strconv"
	"testing"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// e2eAdminID is the admin of the sandboxes that have one.
const e2eAdminID = 1001

// scripted is the inbound burst of sandboxes whose people type faster than humans can: the inbound rate
// limit has its own test.
const scripted = 1000

const e2eAdminToken = "admin-token-0123456789abcdef"

func adminEnv(extra map[string]string) map[string]string {
	env := map[string]string{"KERANJANG_ADMIN_IDS": strconv.Itoa(e2eAdminID)}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// catalogueEnv is the configuration of the catalogue tests: automatic seller approval, two allowed shop
// hosts, and the test itself as a trusted proxy so X-Forwarded-For can stand for many visitors.
var catalogueEnv = adminEnv(map[string]string{
	"KERANJANG_SELLER_APPROVAL": "auto",
	"KERANJANG_SHOP_HOSTS":      "shop.example.id,tokoku.id",
	"KERANJANG_TRUSTED_PROXIES": "127.0.0.0/8",
	"KERANJANG_ADMIN_TOKEN":     e2eAdminToken,
})

// shop is the fixture of the catalogue, tracking and API tests: a fresh system where two sellers were
// approved automatically and three affiliates have started the bot. Its methods add the products and
// joins a test needs, always with the same numbers, so every test can build the state it starts from.
type shop struct {
	*e2e
	admin, budi, wati tgfake.User // Budi speaks English, Wati Indonesian
	ani, joe, citra   tgfake.User // Joe has not started the bot: he comes by the deep link
	aniCode, joeCode  string      // their links to product #1, once joined
	citraCode         string      // her link to product #2, once joined
	budiKey, watiKey  string      // the sellers' API keys, once read
	kemejaURL         string
}

// newShop starts the catalogue system with its people.
func newShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{e2e: startE2E(t, catalogueEnv, Options{RateBurst: scripted}),
		admin: person(e2eAdminID, "Sari", "id"),
		budi:  person(6001, "Budi", "en"), wati: person(6002, "Wati", "id"),
		ani: person(6101, "Ani", "id"), joe: person(6102, "Joe", "en"), citra: person(6103, "Citra", "id"),
		kemejaURL: "https://shop.example.id/kemeja?ref=bot",
	}
	for _, u := range []tgfake.User{s.admin, s.budi, s.wati, s.ani, s.citra} {
		s.say(t, u, "/start")
	}
	mustContain(t, s.say(t, s.budi, "/seller Batik Budi").PlainText, "Congratulations", "Batik Budi")
	mustContain(t, s.say(t, s.wati, "/seller Toko Wati").PlainText, "Selamat", "Toko Wati")
	return s
}

// addKemeja adds Budi's product #1 with the guided /addproduct, with a photo: Kemeja Batik Lasem,
// Rp350.000, 12.5%.
func (s *shop) addKemeja(t *testing.T) {
	t.Helper()
	for _, answer := range []string{"/addproduct", "Kemeja Batik Lasem", "Rp350.000", "12.5"} {
		s.say(t, s.budi, answer)
	}
	mustContain(t, s.say(t, s.budi, s.kemejaURL).PlainText, "Send a product photo")
	before := s.sent(s.budi.ID)
	s.sb.fake.SendPhoto(s.budi, tgfake.Chat{}, "")
	confirm := s.waitNew(t, s.budi.ID, before, 1)[0]
	before = s.sent(s.budi.ID)
	s.press(t, s.budi, confirm, "Save")
	mustContain(t, s.waitNew(t, s.budi.ID, before, 1)[0].PlainText, "Product #1 Kemeja Batik Lasem added")
}

// addCatalogue adds product #1 and five more: #2 Selendang Sutra (Budi, 15%), #3 Tas Anyaman (Wati,
// 10%), #4 <b>Kaos</b> & Co (Budi, 10%), #5 Topi (Budi, 5%), #6 Tikar Pandan (Wati, 8%).
func (s *shop) addCatalogue(t *testing.T) {
	t.Helper()
	s.addKemeja(t)
	for _, p := range []struct {
		seller tgfake.User
		line   string
	}{
		{s.budi, "Selendang Sutra | 175.000 | 15 | https://tokoku.id/selendang"},
		{s.wati, "Tas Anyaman | 120000 | 10 | https://shop.example.id/tas"},
		{s.budi, "<b>Kaos</b> & Co | 50000 | 10 | https://shop.example.id/kaos"},
		{s.budi, "Topi | 25.000 | 5 | https://m.tokoku.id/topi"},
		{s.wati, "Tikar Pandan | 80000 | 8 | https://shop.example.id/tikar"},
	} {
		mustContain(t, s.say(t, p.seller, "/addproduct "+p.line).PlainText, "#")
	}
}

// joinAll adds the catalogue, and Ani (/join), Joe (the deep link) join #1 and Citra joins #2.
func (s *shop) joinAll(t *testing.T) {
	t.Helper()
	s.addCatalogue(t)
	s.aniCode = basketCode(t, s.say(t, s.ani, "/join 1"))
	s.joeCode = basketCode(t, s.say(t, s.joe, "/start p_1"))
	s.citraCode = basketCode(t, s.say(t, s.citra, "/join 2"))
	s.settle(t) // the sellers' join notices
}

// readKeys reads both sellers' API keys from /apikey.
func (s *shop) readKeys(t *testing.T) {
	t.Helper()
	s.budiKey = apiKey(t, s.say(t, s.budi, "/apikey"))
	s.watiKey = apiKey(t, s.say(t, s.wati, "/apikey"))
}

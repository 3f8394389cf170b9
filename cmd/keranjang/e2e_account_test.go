package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// testAccount covers sign-up and languages, the account commands and many users at once.
func testAccount(t *testing.T) {
	t.Run("start answers in each language", func(t *testing.T) {
		e := startE2E(t, adminEnv(nil), Options{RateBurst: scripted})
		for _, tc := range []struct {
			user       tgfake.User
			first      []string
			again      string
			notStarted string
		}{
			{person(2001, "Rina", "id"), []string{"Halo, Rina!", "Selamat datang"}, "Halo lagi, Rina", "Kirim /start dulu"},
			{person(2002, "John", "en"), []string{"Hi, John!", "Welcome to Keranjang"}, "Hi again, John", "Send /start first"},
			{person(2003, "Ana", "id-ID"), []string{"Halo, Ana!"}, "Halo lagi", "Kirim /start dulu"},
			{person(2004, "Kim", ""), []string{"Hi, Kim!"}, "Hi again", "Send /start first"},
			{tgfake.User{ID: 2006, FirstName: "<b>Bos", LastName: "& Co</i>", LanguageCode: "en"},
				[]string{"Hi, <b>Bos & Co</i>!"}, "Hi again, <b>Bos & Co</i>", "Send /start first"},
		} {
			t.Run(tc.user.FirstName, func(t *testing.T) {
				mustContain(t, e.say(t, tc.user, "/help").PlainText, tc.notStarted)
				mustContain(t, e.say(t, tc.user, "/start").PlainText, tc.first...)
				mustContain(t, e.say(t, tc.user, "/start").PlainText, tc.again)
			})
		}
	})

	t.Run("language and time zone", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		u := person(2020, "Lina", "id")
		e.say(t, u, "/start")
		mustContain(t, e.say(t, u, "/lang en").PlainText, "Language set to English")
		mustContain(t, e.say(t, u, "/help").PlainText, "Keranjang commands", "For everyone")
		mustContain(t, e.say(t, u, "/lang id").PlainText, "Bahasa diganti")
		mustContain(t, e.say(t, u, "/lang xx").PlainText, "Pilih bahasa")

		mustContain(t, e.say(t, u, "/timezone WITA").PlainText, "WITA (Asia/Makassar)")
		mustContain(t, e.say(t, u, "/timezone Mars/Olympus").PlainText, "Zona waktu tidak dikenal")
		mustContain(t, e.say(t, u, "/timezone Asia/Tokyo").PlainText, "Asia/Tokyo")
		mustContain(t, e.say(t, u, "/timezone wit").PlainText, "WIT (Asia/Jayapura)")
	})

	t.Run("settings buttons", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		u := person(2020, "Lina", "id")
		e.say(t, u, "/start")
		e.say(t, u, "/timezone wit")
		settings := e.say(t, u, "/settings")
		mustContain(t, settings.PlainText, "Pengaturan", "Bahasa Indonesia", "WIT (Asia/Jayapura)", "21:00")
		ans := e.press(t, u, settings, "English")
		mustContain(t, ans.Params["text"], "Language set to English")
		settings = e.waitEdited(t, u.ID, settings.ID, 1)
		mustContain(t, settings.PlainText, "Settings", "Language: English", "Policy alerts: on")
		e.press(t, u, settings, "alerts off")
		settings = e.waitEdited(t, u.ID, settings.ID, 2)
		mustContain(t, settings.PlainText, "Policy alerts: off")
		if _, ok := settings.Button("alerts on"); !ok {
			t.Errorf("the toggle should now turn alerts on: %v", settings.Buttons())
		}
		ans = e.press(t, u, settings, "WITA")
		mustContain(t, ans.Params["text"], "Asia/Makassar")
		mustContain(t, e.waitEdited(t, u.ID, settings.ID, 3).PlainText, "WITA (Asia/Makassar)")
	})

	t.Run("nothing to cancel and unknown input", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		u := person(2020, "Lina", "en")
		e.say(t, u, "/start")
		mustContain(t, e.say(t, u, "/cancel").PlainText, "nothing to cancel")
		mustContain(t, e.say(t, u, "ada produk batik?").PlainText, "/help")
		mustContain(t, e.say(t, u, "/nosuchcommand").PlainText, "/help")
	})

	t.Run("mydata export", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		u := person(2020, "Lina", "id")
		e.say(t, u, "/start")
		e.say(t, u, "/lang en")
		e.say(t, u, "/timezone WITA")
		e.press(t, u, e.say(t, u, "/settings"), "alerts off")
		doc := e.say(t, u, "/mydata")
		if doc.Method != "sendDocument" || doc.Media == nil {
			t.Fatalf("/mydata sent %s, want a document", doc.Method)
		}
		if doc.Media.FileName != "keranjang-mydata-2020.json" {
			t.Errorf("file name %q", doc.Media.FileName)
		}
		var data struct {
			User struct {
				ID       int64  `json:"id"`
				Lang     string `json:"lang"`
				TimeZone string `json:"time_zone"`
				AlertsOn bool   `json:"alerts_on"`
			} `json:"user"`
			Roles []string `json:"roles"`
			Links []any    `json:"links"`
		}
		if err := json.Unmarshal(doc.Media.Data, &data); err != nil {
			t.Fatalf("/mydata is not JSON: %v\n%s", err, doc.Media.Data)
		}
		if data.User.ID != u.ID || data.User.Lang != "en" || data.User.TimeZone != "Asia/Makassar" || data.User.AlertsOn ||
			len(data.Roles) != 1 || data.Roles[0] != "affiliate" || data.Links == nil {
			t.Errorf("/mydata = %+v", data)
		}
	})

	t.Run("deleteme erases the user", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		u := person(2020, "Lina", "id") // Telegram says Indonesian; she chose English
		e.say(t, u, "/start")
		e.say(t, u, "/lang en")
		confirm := e.say(t, u, "/deleteme")
		mustContain(t, confirm.PlainText, "Erase your personal data?")
		mustContain(t, e.press(t, u, confirm, "Cancel").Params["text"], "not erased")
		mustContain(t, e.say(t, u, "/settings").PlainText, "Settings")
		confirm = e.say(t, u, "/deleteme")
		ans := e.press(t, u, confirm, "Yes, erase")
		mustContain(t, ans.Params["text"], "Data erased")
		mustContain(t, e.waitEdited(t, u.ID, confirm.ID, 1).PlainText, "has been erased")
		mustContain(t, e.say(t, u, "/mydata").PlainText, "Kirim /start dulu")
		mustContain(t, e.say(t, u, "/start").PlainText, "Selamat datang")
	})

	t.Run("fifty users at once", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		const n = 50
		users := make([]tgfake.User, n)
		for i := range users {
			users[i] = person(int64(3000+i), fmt.Sprintf("Pengguna%02d", i), []string{"id", "en"}[i%2])
		}
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Go(func() { e.sb.fake.SendText(u, tgfake.Chat{}, "/start") })
		}
		wg.Wait()
		for i, u := range users {
			m := e.waitNew(t, u.ID, 0, 1)[0]
			want := "Halo, " + u.FirstName
			if i%2 == 1 {
				want = "Hi, " + u.FirstName
			}
			mustContain(t, m.PlainText, want)
		}
	})
}

// testSellers covers the seller application and the admin's decision.
func testSellers(t *testing.T) {
	// start is a system with the admin and John (English, no role) started.
	start := func(t *testing.T) (*e2e, tgfake.User, tgfake.User) {
		e := startE2E(t, adminEnv(nil), Options{RateBurst: scripted})
		admin, john := person(e2eAdminID, "Sari", "id"), person(2002, "John", "en")
		e.say(t, admin, "/start")
		e.say(t, john, "/start")
		return e, admin, john
	}

	t.Run("application approved with the button", func(t *testing.T) {
		e, admin, john := start(t)
		applicant := person(2010, "Wulan", "id")
		mustContain(t, e.say(t, john, "/approve 123").PlainText, "for admins only")
		mustContain(t, e.say(t, john, "/sellers").PlainText, "for admins only")

		e.say(t, applicant, "/start")
		mustContain(t, e.say(t, applicant, "/addproduct").PlainText, "khusus penjual")
		mustNotContain(t, e.say(t, applicant, "/help").PlainText, "/addproduct")

		adminBefore := e.sent(e2eAdminID)
		mustContain(t, e.say(t, applicant, "/seller Toko <Wulan> & Co").PlainText, "sudah dikirim ke admin", "Toko <Wulan> & Co")
		card := e.waitNew(t, e2eAdminID, adminBefore, 1)[0]
		mustContain(t, card.PlainText, "Pendaftaran penjual", "Wulan", "2010", "Toko <Wulan> & Co")
		mustContain(t, e.say(t, applicant, "/seller Toko Lain").PlainText, "masih menunggu")

		appBefore := e.sent(applicant.ID)
		ans := e.press(t, admin, card, "Setujui")
		mustContain(t, ans.Params["text"], "Disetujui")
		mustContain(t, e.waitEdited(t, e2eAdminID, card.ID, 1).PlainText, "disetujui sebagai penjual")
		mustContain(t, e.waitNew(t, applicant.ID, appBefore, 1)[0].PlainText, "Selamat", "Toko <Wulan> & Co")

		help := e.say(t, applicant, "/help").PlainText
		mustContain(t, help, "Untuk penjual", "/addproduct", "/apikey")
		mustNotContain(t, help, "/approve")
		mustContain(t, e.say(t, admin, "/help").PlainText, "Untuk admin", "/approve", "/sellers")
		mustContain(t, e.say(t, applicant, "/seller Toko Lain").PlainText, "sudah terdaftar sebagai penjual")

		// The seller's own command menu was installed in their chat.
		menu := false
		for _, c := range e.sb.fake.CallsTo("setMyCommands") {
			if strings.Contains(c.Params["scope"], strconv.FormatInt(applicant.ID, 10)) && strings.Contains(c.Params["commands"], "addproduct") {
				menu = true
			}
		}
		if !menu {
			t.Error("no seller command menu was set for the new seller's chat")
		}

		// The stale card's button is answered with what happened.
		ans = e.pressData(t, admin, card, card.Buttons()[1].CallbackData)
		mustContain(t, ans.Params["text"], "sudah disetujui")
		if ans.Params["show_alert"] != "true" {
			t.Errorf("stale decision should be an alert: %v", ans.Params)
		}
	})

	t.Run("application rejected with the command", func(t *testing.T) {
		e, admin, john := start(t)
		applicant := person(2011, "Budi", "en")
		e.say(t, applicant, "/start")
		adminBefore := e.sent(e2eAdminID)
		e.say(t, applicant, "/seller Budi Shop")
		card := e.waitNew(t, e2eAdminID, adminBefore, 1)[0]

		sellers := e.sayN(t, admin, "/sellers", 2)
		mustContain(t, sellers[0].PlainText, "1 pendaftaran menunggu")
		mustContain(t, sellers[1].PlainText, "Budi Shop")

		appBefore := e.sent(applicant.ID)
		// Someone else pressing the card's button (a forwarded card, a crafted query) is refused.
		ans := e.waitAnswer(t, e.sb.fake.PressInlineButton(john, "forwarded", card.Buttons()[0].CallbackData))
		mustContain(t, ans.Params["text"], "for admins only")
		mustContain(t, e.sayN(t, admin, "/sellers", 2)[0].PlainText, "1 pendaftaran menunggu")

		mustContain(t, e.say(t, admin, "/reject 2011").PlainText, "ditolak")
		mustContain(t, e.waitNew(t, applicant.ID, appBefore, 1)[0].PlainText, "was not approved", "Budi Shop")
		mustNotContain(t, e.say(t, applicant, "/help").PlainText, "/addproduct")

		mustContain(t, e.say(t, admin, "/reject 2011").PlainText, "sudah ditolak")
		mustContain(t, e.say(t, admin, "/approve 999999").PlainText, "Tidak ada pendaftaran")
		mustContain(t, e.say(t, admin, "/reject abc").PlainText, "Pakai: /reject")
		mustContain(t, e.say(t, admin, "/sellers").PlainText, "Tidak ada pendaftaran")
		ans = e.press(t, admin, card, "Setujui")
		mustContain(t, ans.Params["text"], "sudah ditolak")
	})

	t.Run("automatic approval tells no admin", func(t *testing.T) {
		s := newShop(t) // KERANJANG_SELLER_APPROVAL=auto: approved at once, no admin involved
		s.waitHandled(t, 7)
		if n := s.sent(e2eAdminID); n != 1 {
			t.Errorf("the admin was told about automatically approved sellers:\n%s", dump(s.sb.fake.Sent(e2eAdminID)))
		}
		mustContain(t, s.say(t, s.budi, "/help").PlainText, "For sellers", "/addproduct")
		mustContain(t, s.say(t, s.ani, "/apikey").PlainText, "khusus penjual")
	})
}

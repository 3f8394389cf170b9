package main

// End-to-end tests: the real system (store, bot edge, commands, HTTP server, scheduler) runs against the
// strict fake Bot API. Tests act as Telegram users through the fake and as buyers and shops through real
// HTTP, and assert on what the bot sent. No test waits a fixed time: every wait is for a condition, with a
// generous deadline. Every test ends by checking that the fake refused none of the bot's calls.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/commands"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/track"
)

// e2eAdminID is the admin of the sandboxes that have one.
const e2eAdminID = 1001

// scripted is the inbound burst of sandboxes whose people type faster than humans can: the inbound rate
// limit has its own test.
const scripted = 1000

func adminEnv(extra map[string]string) map[string]string {
	env := map[string]string{"KERANJANG_ADMIN_IDS": strconv.Itoa(e2eAdminID)}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// TestE2EFoundation covers sign-up, languages, groups, roles and seller approval, the account commands,
// odd updates and many users at once, on one running system.
func TestE2EFoundation(t *testing.T) {
	e := startE2E(t, adminEnv(nil), Options{RateBurst: scripted})
	admin := person(e2eAdminID, "Sari", "id")
	e.say(t, admin, "/start")

	t.Run("start answers in the user's language", func(t *testing.T) {
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

	t.Run("commands in a group", func(t *testing.T) {
		rina := person(2001, "Rina", "id")
		group := tgfake.Chat{ID: -100500, Type: "group", Title: "Reseller Jogja"}
		m := e.sayInN(t, rina, group, "/help@keranjang_bot", 1)[0]
		mustContain(t, m.PlainText, "Perintah Keranjang", "/products")
		// Addressed to another bot, or no command at all: ignored. The next command in the same chat is
		// handled after them (one chat's updates are handled in order), so one new message means the two
		// before it were ignored.
		before := e.sent(group.ID)
		e.sb.fake.SendText(rina, group, "/help@otherbot")
		e.sb.fake.SendText(rina, group, "ada yang jual batik?")
		got := e.sayInN(t, rina, group, "/HELP@Keranjang_Bot", 1)
		if n := e.sent(group.ID); n != before+1 {
			t.Fatalf("group got %d messages, want 1:\n%s", n-before, dump(e.sb.fake.Sent(group.ID)[before:]))
		}
		mustContain(t, got[0].PlainText, "Perintah Keranjang")
		// Personal data only in private.
		mustContain(t, e.sayInN(t, rina, group, "/mydata@keranjang_bot", 1)[0].PlainText, "chat pribadi", "@keranjang_bot")
		// A newcomer can start in a group; the answer stays in the group.
		mustContain(t, e.sayInN(t, person(2005, "Dewi", "id"), group, "/start@keranjang_bot", 1)[0].PlainText, "Halo, Dewi")
	})

	t.Run("seller application approved with the button", func(t *testing.T) {
		john, applicant := person(2002, "John", "en"), person(2010, "Wulan", "id")
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
		e.checkAllAnswered(t)
	})

	t.Run("seller application rejected with the command", func(t *testing.T) {
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
		john := person(2002, "John", "en")
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
		e.checkAllAnswered(t)
	})

	t.Run("account commands", func(t *testing.T) {
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

		mustContain(t, e.say(t, u, "/cancel").PlainText, "nothing to cancel")
		mustContain(t, e.say(t, u, "ada produk batik?").PlainText, "/help")
		mustContain(t, e.say(t, u, "/nosuchcommand").PlainText, "/help")

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

		confirm := e.say(t, u, "/deleteme")
		mustContain(t, confirm.PlainText, "Erase your personal data?")
		mustContain(t, e.press(t, u, confirm, "Cancel").Params["text"], "not erased")
		mustContain(t, e.say(t, u, "/settings").PlainText, "Settings")
		confirm = e.say(t, u, "/deleteme")
		ans = e.press(t, u, confirm, "Yes, erase")
		mustContain(t, ans.Params["text"], "Data erased")
		mustContain(t, e.waitEdited(t, u.ID, confirm.ID, 1).PlainText, "has been erased")
		mustContain(t, e.say(t, u, "/mydata").PlainText, "Kirim /start dulu")
		mustContain(t, e.say(t, u, "/start").PlainText, "Selamat datang")
		e.checkAllAnswered(t)
	})

	t.Run("odd updates", func(t *testing.T) {
		u := person(2030, "Tono", "id")
		first := e.sb.fake.SendText(u, tgfake.Chat{}, "/start")
		e.waitNew(t, u.ID, 0, 1)
		userJSON := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName, "language_code": "id"}
		chatJSON := map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName}
		botJSON := map[string]any{"id": e.sb.fake.BotID(), "is_bot": true, "first_name": "Keranjang", "username": "keranjang_bot"}
		now := time.Now().Unix()

		// Channel posts are not among the updates the bot asks for: Telegram never delivers them.
		channel := map[string]any{"id": int64(-1001999000001), "type": "channel", "title": "Promo Batik"}
		if u := e.sb.fake.PushRaw(map[string]any{"channel_post": map[string]any{"message_id": 7, "date": now,
			"text": "/start", "chat": channel}}); !u.Dropped {
			t.Error("the bot asked for channel posts")
		}
		// A message without a sender (as in a channel) and an edit of the /start message: handled, and
		// nothing is sent.
		before, handled := e.sent(u.ID), e.handled(t)
		e.sb.fake.PushRaw(map[string]any{"message": map[string]any{"message_id": 8, "date": now, "text": "/start",
			"chat": channel, "sender_chat": channel}})
		e.sb.fake.PushRaw(map[string]any{"edited_message": map[string]any{"message_id": first.MessageID, "date": now,
			"edit_date": now + 5, "text": "/start lagi", "from": userJSON, "chat": chatJSON}})
		e.waitHandled(t, handled+2)
		if n := e.sent(-1001999000001); n != 0 {
			t.Errorf("the bot wrote %d messages to a channel", n)
		}
		if n := e.sent(u.ID); n != before {
			t.Errorf("an edited message was answered: %s", dump(e.sb.fake.Sent(u.ID)[before:]))
		}

		// A sticker and a document outside any flow get the hint.
		e.sb.fake.PushRaw(map[string]any{"message": map[string]any{"message_id": 5000, "date": now, "from": userJSON, "chat": chatJSON,
			"sticker": map[string]any{"file_id": "CAACAgIAAxkBAAI", "file_unique_id": "AgAD", "type": "regular",
				"width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "😀"}}})
		mustContain(t, e.waitNew(t, u.ID, before, 1)[0].PlainText, "/help")
		before = e.sent(u.ID)
		e.sb.fake.SendDocument(u, tgfake.Chat{}, "catatan.txt", "text/plain", []byte("halo"), "")
		mustContain(t, e.waitNew(t, u.ID, before, 1)[0].PlainText, "/help")

		// Very long texts: as free text, as a command argument that is echoed, as one that is validated.
		long := strings.Repeat("panjang ", 625)[:5000]
		mustContain(t, e.say(t, u, long).PlainText, "/help")
		mustContain(t, e.say(t, u, "/products "+long).PlainText, "Tidak ada produk")
		mustContain(t, e.say(t, u, "/seller "+long).PlainText, "Nama toko paling panjang")
		mustContain(t, e.say(t, u, "/start "+long).PlainText, "Halo lagi")

		// A button of an inline-mode message has no message; the answer goes to the private chat.
		before = e.sent(u.ID)
		id := e.sb.fake.PressInlineButton(u, "inline-1", "pg:0:")
		e.waitAnswer(t, id)
		mustContain(t, e.waitNew(t, u.ID, before, 1)[0].PlainText, "Belum ada produk")
		mustContain(t, e.waitAnswer(t, e.sb.fake.PressInlineButton(u, "inline-2", "nonsense:1")).Params["text"], "tidak berlaku")
		// A button pressed by someone who never started the bot.
		ans := e.waitAnswer(t, e.sb.fake.PressInlineButton(person(2099, "Asing", "id"), "inline-3", "join:1"))
		mustContain(t, ans.Params["text"], "Kirim /start dulu")
		if ans.Params["show_alert"] != "true" {
			t.Errorf("want an alert: %v", ans.Params)
		}

		// The user blocks the bot: they are marked unreachable.
		member := func(status string) {
			e.sb.fake.PushRaw(map[string]any{"my_chat_member": map[string]any{"chat": chatJSON, "from": userJSON, "date": now,
				"old_chat_member": map[string]any{"status": "member", "user": botJSON},
				"new_chat_member": map[string]any{"status": status, "user": botJSON, "until_date": 0}}})
		}
		handled = e.handled(t)
		member("kicked")
		e.waitHandled(t, handled+1)
		e.withStoppedApp(t, func(st *store.Store) {
			got, err := st.GetUser(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reachable {
				t.Error("a user who blocked the bot is still reachable")
			}
		})
		// They unblock and come back.
		handled = e.handled(t) // metrics start again with the restarted app
		member("member")
		e.waitHandled(t, handled+1)
		mustContain(t, e.say(t, u, "/start").PlainText, "Halo lagi, Tono")
		var data struct {
			User struct {
				Reachable bool `json:"reachable"`
			} `json:"user"`
		}
		if err := json.Unmarshal(e.say(t, u, "/mydata").Media.Data, &data); err != nil || !data.User.Reachable {
			t.Errorf("after unblocking and /start the user should be reachable: %v %+v", err, data)
		}

		// An update the Telegram library cannot decode (a kind of forward Telegram may add one day) is
		// skipped; the updates after it are answered.
		e.sb.fake.PushRaw(map[string]any{"message": map[string]any{"message_id": 5001, "date": now, "from": userJSON,
			"chat": chatJSON, "text": "/help", "forward_origin": map[string]any{"type": "future_origin", "date": now}}})
		mustContain(t, e.say(t, u, "/start").PlainText, "Halo lagi, Tono")

		// Nothing above crashed a handler, and the bot keeps answering everyone.
		if p := e.metric(t, "keranjang_update_errors_total", `kind="panic"`); p != 0 {
			t.Errorf("%v handler panics", p)
		}
		mustContain(t, e.say(t, person(2002, "John", "en"), "/start").PlainText, "Hi again")
	})

	t.Run("fifty users at once", func(t *testing.T) {
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

	e.checkAllAnswered(t)
	e.checkNoRejections(t)
}

// TestE2EInboundRateLimit floods the bot as one user. The clock only moves when the test says so, so the
// bucket refills exactly when expected.
func TestE2EInboundRateLimit(t *testing.T) {
	clock := &manualClock{now: morningClock()()}
	e := startE2E(t, nil, Options{Now: clock.Now})
	u := person(4001, "Cepat", "id")
	e.say(t, u, "/start")
	clock.Advance(time.Minute) // a full bucket again

	// 15 quick messages: 10 are answered, then one notice, and the rest are ignored.
	before := e.sent(u.ID)
	e.sb.fake.SendText(u, tgfake.Chat{}, "/settings")
	for range 14 {
		e.sb.fake.SendText(u, tgfake.Chat{}, "/help")
	}
	flood := e.waitNew(t, u.ID, before, 11)
	for i, m := range flood[:10] {
		mustNotContain(t, m.PlainText, "terlalu cepat")
		if i > 0 {
			mustContain(t, m.PlainText, "Perintah Keranjang")
		}
	}
	mustContain(t, flood[10].PlainText, "terlalu cepat")

	// Still no token: a button press is answered (the spinner stops) but does nothing.
	settings := flood[0]
	if ans := e.press(t, u, settings, "English"); ans.Params["text"] != "" {
		t.Errorf("an ignored press got the toast %q", ans.Params["text"])
	}
	// One second refills one token: the next message is answered; the press after it is told once that it
	// is too fast, as a toast.
	clock.Advance(time.Second)
	mustContain(t, e.say(t, u, "/help").PlainText, "Perintah Keranjang")
	mustContain(t, e.press(t, u, settings, "English").Params["text"], "terlalu cepat")
	if ans := e.press(t, u, settings, "English"); ans.Params["text"] != "" {
		t.Errorf("a second ignored press got the toast %q", ans.Params["text"])
	}
	clock.Advance(time.Second)
	mustContain(t, e.say(t, u, "/help").PlainText, "Perintah Keranjang")

	// Nothing else was sent: 11 messages for the flood and two answers, with one notice among them, and
	// the ignored presses changed nothing.
	all := e.sb.fake.Sent(u.ID)[before:]
	notices := 0
	for _, m := range all {
		if strings.Contains(m.PlainText, "terlalu cepat") {
			notices++
		}
	}
	if len(all) != 13 || notices != 1 {
		t.Errorf("got %d messages with %d notices, want 13 with 1:\n%s", len(all), notices, dump(all))
	}
	if m := e.message(t, u.ID, settings.ID); m.Edits != 0 {
		t.Errorf("an ignored press edited the settings: %q", m.PlainText)
	}
	if n := e.metric(t, "keranjang_updates_rate_limited_total", ""); n != 8 {
		t.Errorf("%v updates rate limited, want 8 (5 messages, 3 presses)", n)
	}
	e.checkAllAnswered(t)
	e.checkNoRejections(t)
}

// TestE2EPanickingHandler wires the real bot edge and commands by hand, with a handler in front that
// panics on one magic text and one magic button, and shows that the bot answers the next update, the
// pressed button's spinner stops, and the panics are counted.
func TestE2EPanickingHandler(t *testing.T) {
	ctx, cancel := waitCtx()
	defer cancel()
	fake := tgfake.New()
	defer fake.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "keranjang.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	edge, err := bot.New(bot.Config{Token: secret.Secret(fake.Token()), APIURL: fake.URL(), Logger: e2eLogger(t),
		Registry: reg, RateBurst: scripted}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands.New(commandDeps(st, edge, nil), commands.Config{PublicURL: "https://keranjang.example", DefaultZone: time.UTC,
		AttributionWindow: 7 * 24 * time.Hour, Logger: e2eLogger(t)})
	edge.SetHandler(bot.HandlerFunc(func(ctx context.Context, r *bot.Request) {
		if r.Text == "boom" || r.CallbackData == "boom" {
			panic("boom")
		}
		cmds.Handle(ctx, r)
	}))
	if err := edge.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := edge.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()

	e := &e2e{sb: &sandbox{fake: fake}}
	u := person(5001, "Rudi", "id")
	start := e.say(t, u, "/start")
	mustContain(t, start.PlainText, "Halo, Rudi")
	fake.SendText(u, tgfake.Chat{}, "boom")
	mustContain(t, e.say(t, u, "/help").PlainText, "Perintah Keranjang")
	if ans := e.pressData(t, u, start, "boom"); ans.Params["text"] != "" {
		t.Errorf("the panicking press got the toast %q", ans.Params["text"])
	}
	settings := e.say(t, u, "/settings")
	mustContain(t, e.press(t, u, settings, "English").Params["text"], "Language set to English")

	if n := counterValue(t, reg, "keranjang_update_errors_total", "panic"); n != 2 {
		t.Errorf("%v panics counted, want 2", n)
	}
	e.checkAllAnswered(t)
	fake.CheckNoRejections(t)
}

// counterValue reads a counter from a registry by name and one label value.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// catalogueEnv is the configuration of the catalogue tests: automatic seller approval, two allowed shop
// hosts, and the test itself as a trusted proxy so X-Forwarded-For can stand for many visitors.
var catalogueEnv = adminEnv(map[string]string{
	"KERANJANG_SELLER_APPROVAL": "auto",
	"KERANJANG_SHOP_HOSTS":      "shop.example.id,tokoku.id",
	"KERANJANG_TRUSTED_PROXIES": "127.0.0.0/8",
	"KERANJANG_ADMIN_TOKEN":     e2eAdminToken,
})

const e2eAdminToken = "admin-token-0123456789abcdef"

// TestE2ECatalogue covers issue 3 on one running system: sellers add products (guided and one-line, with
// every validation rule), affiliates join (button, deep link, command), buyers click, and sellers and
// affiliates read the numbers in the bot and through the API, before and after a restart.
func TestE2ECatalogue(t *testing.T) {
	e := startE2E(t, catalogueEnv, Options{RateBurst: scripted})
	budi, wati := person(6001, "Budi", "en"), person(6002, "Wati", "id")
	ani, joe, citra := person(6101, "Ani", "id"), person(6102, "Joe", "en"), person(6103, "Citra", "id")
	admin := person(e2eAdminID, "Sari", "id")
	for _, u := range []tgfake.User{admin, budi, wati, ani, citra} { // Joe comes by the deep link
		e.say(t, u, "/start")
	}
	// KERANJANG_SELLER_APPROVAL=auto: approved at once, no admin involved.
	mustContain(t, e.say(t, budi, "/seller Batik Budi").PlainText, "Congratulations", "Batik Budi")
	mustContain(t, e.say(t, wati, "/seller Toko Wati").PlainText, "Selamat", "Toko Wati")
	e.waitHandled(t, 7)
	if n := e.sent(e2eAdminID); n != 1 {
		t.Errorf("the admin was told about automatically approved sellers:\n%s", dump(e.sb.fake.Sent(e2eAdminID)))
	}
	mustContain(t, e.say(t, budi, "/help").PlainText, "For sellers", "/addproduct")

	t.Run("guided addproduct re-asks every bad answer with the reason", func(t *testing.T) {
		mustContain(t, e.say(t, budi, "/addproduct").PlainText, "What is the product called?")
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
			got := e.say(t, budi, step.answer).PlainText
			mustContain(t, got, step.reason, step.next)
		}
		before := e.sent(budi.ID)
		e.sb.fake.SendPhoto(budi, tgfake.Chat{}, "")
		confirm := e.waitNew(t, budi.ID, before, 1)[0]
		mustContain(t, confirm.PlainText, "Kemeja Batik Lasem", "Rp350.000", "12.5%", "Rp43.750",
			"https://shop.example.id/kemeja?ref=bot", "Photo: yes")
		before = e.sent(budi.ID)
		e.press(t, budi, confirm, "Save")
		mustContain(t, e.waitNew(t, budi.ID, before, 1)[0].PlainText, "Product #1 Kemeja Batik Lasem added",
			"https://t.me/keranjang_bot?start=p_1")
		mustContain(t, e.say(t, budi, "/cancel").PlainText, "nothing to cancel")
	})

	t.Run("one-line addproduct and its validation", func(t *testing.T) {
		mustContain(t, e.say(t, budi, "/addproduct Selendang Sutra | 175.000 | 15 | https://tokoku.id/selendang").PlainText,
			"Product #2 Selendang Sutra added", "Rp175.000", "15%", "Rp26.250")
		mustContain(t, e.say(t, wati, "/addproduct Tas Anyaman | 120000 | 10 | https://shop.example.id/tas").PlainText,
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
				mustContain(t, e.say(t, budi, "/addproduct "+tc.line).PlainText, tc.want)
			})
		}
		mustContain(t, e.say(t, ani, "/addproduct Kaos | 50000 | 10 | https://tokoku.id/kaos").PlainText, "khusus penjual")
	})

	var aniCode, joeCode, citraCode string
	t.Run("joining", func(t *testing.T) {
		mustContain(t, e.say(t, wati, "/addproduct Tikar Pandan | 80000 | 8 | https://shop.example.id/tikar").PlainText, "Produk #6")
		list := e.say(t, ani, "/products")
		mustContain(t, list.PlainText, "halaman 1 dari 2, 6 produk", "#2 Selendang Sutra", "Komisi: 15%", "Toko: Batik Budi",
			"#6 Tikar Pandan", "Toko: Toko Wati")
		mustNotContain(t, list.PlainText, "#5 Topi")
		if strings.Index(list.PlainText, "#2 Selendang") > strings.Index(list.PlainText, "#1 Kemeja") {
			t.Errorf("best commission first:\n%s", list.PlainText)
		}
		sellerBefore := e.sent(budi.ID)
		before := e.sent(ani.ID)
		mustContain(t, e.press(t, ani, list, "Ikut: Kemeja Batik Lasem").Params["text"], "Link keranjang dikirim")
		joined := e.waitNew(t, ani.ID, before, 1)[0]
		if joined.Method != "sendPhoto" {
			t.Errorf("the product has a photo; the link came by %s", joined.Method)
		}
		mustContain(t, joined.PlainText, "Kemeja Batik Lasem", "12,5%", "Rp43.750", "7 hari", e.sb.baseURL()+"/r/")
		aniCode = basketCode(t, joined)
		mustContain(t, e.waitNew(t, budi.ID, sellerBefore, 1)[0].PlainText, "Ani joined your product #1 Kemeja Batik Lasem")

		// Five products a page, with ◀ ▶ buttons.
		e.press(t, ani, list, "▶")
		page2 := e.waitEdited(t, ani.ID, list.ID, 1)
		mustContain(t, page2.PlainText, "halaman 2 dari 2", "#5 Topi")
		mustNotContain(t, page2.PlainText, "#2 Selendang")
		if _, ok := page2.Button("◀"); !ok {
			t.Errorf("no ◀ on the last page: %v", page2.Buttons())
		}

		// The deep link from /addproduct joins too.
		sellerBefore = e.sent(budi.ID)
		m := e.say(t, joe, "/start p_1")
		mustContain(t, m.PlainText, "You are now promoting Kemeja Batik Lasem", "12.5%", "7 days")
		joeCode = basketCode(t, m)
		mustContain(t, e.waitNew(t, budi.ID, sellerBefore, 1)[0].PlainText, "Joe joined your product #1")
		if joeCode == aniCode {
			t.Fatal("two affiliates share a link")
		}

		// Joining twice gives the same link, and the seller hears nothing new.
		sellerBefore = e.sent(budi.ID)
		again := e.say(t, ani, "/join 1")
		mustContain(t, again.PlainText, "sudah ikut")
		if basketCode(t, again) != aniCode {
			t.Error("joining twice gave another link")
		}
		if got := basketCode(t, e.say(t, joe, "/start p_1")); got != joeCode {
			t.Error("the deep link twice gave another link")
		}
		mustContain(t, e.say(t, budi, "/myproducts").PlainText, "Affiliates: 2")
		if n := e.sent(budi.ID); n != sellerBefore+1 {
			t.Errorf("the seller was told about a second join:\n%s", dump(e.sb.fake.Sent(budi.ID)[sellerBefore:]))
		}

		// A paused product cannot be joined, and is not listed.
		mine := e.say(t, budi, "/myproducts")
		mustContain(t, e.press(t, budi, mine, "Pause #2").Params["text"], "Selendang Sutra paused")
		mine = e.waitEdited(t, budi.ID, mine.ID, 1)
		mustContain(t, mine.PlainText, "#2 Selendang Sutra — paused")
		if _, ok := mine.Button("Resume #2"); !ok {
			t.Errorf("no Resume button: %v", mine.Buttons())
		}
		// Nobody can pause another seller's product.
		mustContain(t, e.pressData(t, budi, mine, "pp:3:pause").Params["text"], "That product was not found")
		mustContain(t, e.pressData(t, budi, mine, "ed:6").Params["text"], "That product was not found")
		mustContain(t, e.say(t, citra, "/products tas").PlainText, "#3 Tas Anyaman")
		mustContain(t, e.say(t, citra, "/join 2").PlainText, "sedang dijeda")
		mustContain(t, e.say(t, citra, "/start p_2").PlainText, "sedang dijeda")
		mustNotContain(t, e.say(t, citra, "/products").PlainText, "Selendang")
		e.press(t, budi, mine, "Resume #2")
		mustContain(t, e.waitEdited(t, budi.ID, mine.ID, 2).PlainText, "#2 Selendang Sutra — active")
		sellerBefore = e.sent(budi.ID)
		citraJoin := e.say(t, citra, "/join #2")
		mustContain(t, citraJoin.PlainText, "Selendang Sutra", "15%")
		citraCode = basketCode(t, citraJoin)
		mustContain(t, e.waitNew(t, budi.ID, sellerBefore, 1)[0].PlainText, "Citra joined your product #2")

		for _, tc := range []struct {
			user       tgfake.User
			text, want string
		}{
			{budi, "/join 1", "your own product"},
			{ani, "/join 999", "tidak ditemukan"},
			{ani, "/join abc", "Pakai: /join"},
			{ani, "/start p_999", "tidak ditemukan"},
			{budi, "/editproduct 3 rate 5", "not found"}, // Wati's product
			{budi, "/affiliates 3", "not found"},
		} {
			mustContain(t, e.say(t, tc.user, tc.text).PlainText, tc.want)
		}
		e.checkAllAnswered(t)
	})

	budiKey := apiKey(t, e.say(t, budi, "/apikey"))
	watiKey := apiKey(t, e.say(t, wati, "/apikey"))
	if budiKey == watiKey {
		t.Fatal("two sellers share an API key")
	}
	mustContain(t, e.say(t, ani, "/apikey").PlainText, "khusus penjual")

	t.Run("clicks", func(t *testing.T) {
		if aniCode == "" {
			t.Skip("joining failed")
		}
		const (
			phone  = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
			laptop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
		)
		recorded := e.metric(t, "keranjang_click_batch_size_sum", "")
		for _, v := range []struct {
			method, code, ip, ua string
			status               int
		}{
			{http.MethodGet, aniCode, "203.0.113.10", phone, http.StatusFound},
			{http.MethodGet, aniCode, "203.0.113.10", phone, http.StatusFound},
			{http.MethodGet, aniCode, "198.51.100.7", phone, http.StatusFound},
			{http.MethodGet, aniCode, "203.0.113.10", phone, http.StatusFound},
			{http.MethodGet, aniCode, "192.0.2.44", laptop, http.StatusFound},
			{http.MethodGet, aniCode, "192.0.2.44", laptop, http.StatusFound},
			{http.MethodGet, aniCode, "149.154.167.99", "TelegramBot (like TwitterBot)", http.StatusFound},
			{http.MethodHead, aniCode, "203.0.113.99", laptop, http.StatusFound},
			{http.MethodGet, joeCode, "203.0.113.10", phone, http.StatusFound},
			{http.MethodGet, "NoSuchXy", "203.0.113.10", phone, http.StatusNotFound},
			{http.MethodGet, "bad!code", "203.0.113.10", phone, http.StatusNotFound},
		} {
			resp := e.visit(t, v.method, v.code, v.ip, v.ua)
			if resp.StatusCode != v.status {
				t.Fatalf("%s /r/%s: %d, want %d", v.method, v.code, resp.StatusCode, v.status)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s /r/%s: Cache-Control %q", v.method, v.code, resp.Header.Get("Cache-Control"))
			}
			if v.status == http.StatusFound {
				loc := resp.Header.Get("Location")
				if !strings.HasPrefix(loc, "https://shop.example.id/kemeja?ref=bot&kclid=") || len(loc) <= len("https://shop.example.id/kemeja?ref=bot&kclid=") {
					t.Errorf("%s /r/%s went to %q", v.method, v.code, loc)
				}
			}
		}
		// The click buffer writes within 100 ms; wait until this app has written all nine visits.
		eventually(t, "nine visits written", func() bool {
			return e.metric(t, "keranjang_click_batch_size_sum", "") >= recorded+9
		})
		checkCounts(t, e, budiKey, watiKey, aniCode, joeCode, citraCode, ani, budi)

		// The numbers survive a restart.
		e.restart(t)
		checkCounts(t, e, budiKey, watiKey, aniCode, joeCode, citraCode, ani, budi)
	})

	t.Run("rate cut and raise", func(t *testing.T) {
		if aniCode == "" {
			t.Skip("joining failed")
		}
		aniBefore, joeBefore, citraBefore := e.sent(ani.ID), e.sent(joe.ID), e.sent(citra.ID)
		mustContain(t, e.say(t, budi, "/editproduct 1 rate 5").PlainText, "#1 Kemeja Batik Lasem updated", "Commission: 5%")
		cut := e.waitNew(t, ani.ID, aniBefore, 1)[0]
		jkt, _ := time.LoadLocation("Asia/Jakarta")
		keptUntil := morningClock()().Add(affiliate.RateProtection).In(jkt)
		mustContain(t, cut.PlainText, "menurunkan komisi", "Kemeja Batik Lasem", "tetap dapat 12,5% (bukan 5%)")
		mustContain(t, e.waitNew(t, joe.ID, joeBefore, 1)[0].PlainText, "You keep 12.5% (instead of 5%) until",
			keptUntil.Format("January 2006"))
		if n := e.sent(citra.ID); n != citraBefore {
			t.Errorf("Citra, not enrolled in #1, was told about its rate")
		}
		// The enrolled affiliate keeps the old rate; a newcomer gets the new one.
		mustContain(t, e.say(t, ani, "/join 1").PlainText, "Komisi: 12,5% (Rp43.750 per penjualan)")
		mustContain(t, e.say(t, citra, "/join 1").PlainText, "Komisi: 5% (Rp17.500 per penjualan)")

		aniBefore, joeBefore, citraBefore = e.sent(ani.ID), e.sent(joe.ID), e.sent(citra.ID)
		mustContain(t, e.say(t, budi, "/editproduct 1 komisi 20").PlainText, "Commission: 20%")
		mustContain(t, e.waitNew(t, ani.ID, aniBefore, 1)[0].PlainText, "Komisi", "naik dari 5% ke 20%")
		mustContain(t, e.waitNew(t, joe.ID, joeBefore, 1)[0].PlainText, "went up from 5% to 20%")
		mustContain(t, e.waitNew(t, citra.ID, citraBefore, 1)[0].PlainText, "naik dari 5% ke 20%")
		mustContain(t, e.say(t, ani, "/join 1").PlainText, "Komisi: 20% (Rp70.000 per penjualan)")

		// Editing with the buttons: pick the product and the field, a bad value is explained, then saved.
		mine := e.say(t, budi, "/myproducts")
		before := e.sent(budi.ID)
		e.press(t, budi, mine, "Edit #1")
		pick := e.waitNew(t, budi.ID, before, 1)[0]
		mustContain(t, pick.PlainText, "What do you want to change in #1 Kemeja Batik Lasem?")
		before = e.sent(budi.ID)
		e.press(t, budi, pick, "Name")
		mustContain(t, e.waitNew(t, budi.ID, before, 1)[0].PlainText, "Send the new name for #1")
		mustContain(t, e.say(t, budi, strings.Repeat("x", 101)).PlainText, "at most 100 characters", "Try again, or /cancel")
		mustContain(t, e.say(t, budi, "Kemeja Batik Lasem Premium").PlainText, "#1 Kemeja Batik Lasem Premium updated")
		mustContain(t, e.say(t, budi, "/cancel").PlainText, "nothing to cancel")

		for _, tc := range []struct{ text, want string }{
			{"/editproduct 1 rate 0", "between 1% and 80%"},
			{"/editproduct 1 url http://tokoku.id/x", "must start with https://"},
			{"/editproduct 1 colour red", "Usage: /editproduct"},
			{"/editproduct 1 price 400000", "Price: Rp400.000"},
		} {
			mustContain(t, e.say(t, budi, tc.text).PlainText, tc.want)
		}
	})

	t.Run("qr and feedback", func(t *testing.T) {
		if aniCode == "" {
			t.Skip("joining failed")
		}
		qr := e.say(t, ani, "/qr "+aniCode)
		if qr.Method != "sendPhoto" || qr.Media == nil {
			t.Fatalf("/qr sent %s, want a photo", qr.Method)
		}
		if len(qr.Media.Data) < 8 || string(qr.Media.Data[:8]) != "\x89PNG\r\n\x1a\n" {
			t.Errorf("/qr is not a PNG: % x", qr.Media.Data[:min(8, len(qr.Media.Data))])
		}
		mustContain(t, qr.PlainText, e.sb.baseURL()+"/r/"+aniCode)
		for _, tc := range []struct{ text, want string }{
			{"/qr " + joeCode, "tidak ditemukan di antara link-mu"},
			{"/qr NoSuchXy", "tidak ditemukan di antara link-mu"},
			{"/qr <script>", "tidak ditemukan di antara link-mu"},
			{"/qr", "Pakai: /qr"},
		} {
			mustContain(t, e.say(t, ani, tc.text).PlainText, tc.want)
		}

		sellerBefore := e.sent(budi.ID)
		mustContain(t, e.say(t, ani, "/feedback 1 Kak, ukuran <XL> & XXL ready lagi kapan?").PlainText, "sudah dikirim ke penjual")
		mustContain(t, e.waitNew(t, budi.ID, sellerBefore, 1)[0].PlainText, "Feedback from affiliate Ani on #1 Kemeja Batik Lasem",
			"Kak, ukuran <XL> & XXL ready lagi kapan?")
		mustContain(t, e.say(t, ani, "/feedback 3 Bagus").PlainText, "Ikut dulu dengan /join 3")
		mustContain(t, e.say(t, ani, "/feedback 1").PlainText, "Pakai: /feedback")
	})

	t.Run("many links with long names", func(t *testing.T) {
		// Marketplace product names are long; an active reseller promotes dozens of them. Every list
		// still fits in one Telegram message.
		shop := person(6003, "Gita", "id")
		reseller := tgfake.User{ID: 6104, FirstName: "Rahmat 🛍️ Reseller Gamis Termurah Se-Indonesia 🇮🇩 Open Order",
			LastName: "Grosir & Eceran ✨ Kirim ke Seluruh Nusantara ✨ Fast Respon", LanguageCode: "id"}
		e.say(t, shop, "/start")
		e.say(t, shop, "/seller Grosir Gita")
		e.say(t, reseller, "/start")
		title := func(i int) string {
			// 100 characters, as marketplace titles are: emoji and ampersands included.
			r := []rune(fmt.Sprintf("%02d 🔥PROMO🔥 Gamis Syari Jumbo Busui & Wudhu Friendly ✨ Wolfis & Jersey Premium ✨ Free Hijab 🌸🌸🌸🌸🌸🌸🌸🌸", i))
			return string(r[:100])
		}
		for i := range 22 {
			long := title(i)
			added := e.say(t, shop, fmt.Sprintf("/addproduct %s | 250000 | 20 | https://shop.example.id/gamis-%d", long, i))
			mustContain(t, added.PlainText, "ditambahkan")
			id := strings.TrimPrefix(strings.Fields(added.PlainText)[2], "#")
			mustContain(t, e.say(t, reseller, "/join "+id).PlainText, "/r/")
		}
		links := e.say(t, reseller, "/links")
		mustContain(t, links.PlainText, "Link keranjangmu (22)", "Gamis", "link lagi")
		mustNotContain(t, links.PlainText, "gangguan")
		mine := e.say(t, shop, "/myproducts")
		mustContain(t, mine.PlainText, "Produkmu (22)", "dan 12 produk lagi")
		mustNotContain(t, mine.PlainText, "gangguan")
		aff := e.say(t, shop, "/affiliates")
		mustContain(t, aff.PlainText, "Rahmat 🛍️", "Laporan lengkap: GET /api/v1/affiliates")
		mustNotContain(t, aff.PlainText, "gangguan")
		mustNotContain(t, e.say(t, reseller, "/products gamis").PlainText, "gangguan")
	})

	t.Run("an affiliate erases their data", func(t *testing.T) {
		if citraCode == "" {
			t.Skip("joining failed")
		}
		confirm := e.say(t, citra, "/deleteme")
		e.press(t, citra, confirm, "Ya, hapus")
		e.waitEdited(t, citra.ID, confirm.ID, 1)
		mustContain(t, e.say(t, citra, "/links").PlainText, "Kirim /start dulu")
		// The seller's books keep the rows, without the name; the link still works.
		aff := e.say(t, budi, "/affiliates").PlainText
		mustContain(t, aff, "(erased) · #2 Selendang Sutra")
		mustNotContain(t, aff, "Citra")
		var report track.AffiliateReport
		if st := e.getJSON(t, "/api/v1/affiliates", budiKey, &report); st != http.StatusOK {
			t.Fatalf("affiliate report: %d", st)
		}
		for _, r := range report.Affiliates {
			if r.AffiliateID == citra.ID && r.AffiliateName != "" {
				t.Errorf("the report still names an erased affiliate: %+v", r)
			}
		}
		if resp := e.visit(t, http.MethodGet, citraCode, "203.0.113.77", "Mozilla/5.0"); resp.StatusCode != http.StatusFound {
			t.Errorf("the erased affiliate's link answers %d", resp.StatusCode)
		}
	})

	e.checkAllAnswered(t)
	e.checkNoRejections(t)
}

// checkCounts asserts the exact counts of the click scenario in the bot and through the API.
func checkCounts(t *testing.T, e *e2e, budiKey, watiKey, aniCode, joeCode, citraCode string, ani, budi tgfake.User) {
	t.Helper()
	for _, tc := range []struct {
		code  string
		token string
		want  track.LinkStats
	}{
		{aniCode, budiKey, track.LinkStats{LinkCode: aniCode, Clicks: 6, UniqueClicks: 3, BotVisits: 2}},
		{joeCode, budiKey, track.LinkStats{LinkCode: joeCode, Clicks: 1, UniqueClicks: 1}},
		{citraCode, budiKey, track.LinkStats{LinkCode: citraCode}},
		{aniCode, e2eAdminToken, track.LinkStats{LinkCode: aniCode, Clicks: 6, UniqueClicks: 3, BotVisits: 2}},
	} {
		var got track.LinkStats
		if st := e.getJSON(t, "/api/v1/links/"+tc.code+"/stats", tc.token, &got); st != http.StatusOK || got != tc.want {
			t.Errorf("stats of %s: %d %+v, want %+v", tc.code, st, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"another seller's link", "/api/v1/links/" + aniCode + "/stats", watiKey, http.StatusNotFound},
		{"unknown code", "/api/v1/links/NoSuchXy/stats", budiKey, http.StatusNotFound},
		{"malformed code", "/api/v1/links/no!/stats", budiKey, http.StatusNotFound},
		{"bad key", "/api/v1/links/" + aniCode + "/stats", "ksk_" + strings.Repeat("x", 32), http.StatusUnauthorized},
		{"no key", "/api/v1/links/" + aniCode + "/stats", "", http.StatusUnauthorized},
		{"report with a bad key", "/api/v1/affiliates", "nope", http.StatusUnauthorized},
		{"report with the admin token", "/api/v1/affiliates", e2eAdminToken, http.StatusUnauthorized},
		{"report with a bad date", "/api/v1/affiliates?from=kemarin", budiKey, http.StatusBadRequest},
	} {
		if st := e.getJSON(t, tc.path, tc.token, nil); st != tc.status {
			t.Errorf("%s: GET %s answered %d, want %d", tc.name, tc.path, st, tc.status)
		}
	}

	var report track.AffiliateReport
	if st := e.getJSON(t, "/api/v1/affiliates", budiKey, &report); st != http.StatusOK {
		t.Fatalf("affiliate report: %d", st)
	}
	type row struct {
		name    string
		product uint64
		code    string
		clicks  int64
		unique  int64
	}
	var got []row
	for _, r := range report.Affiliates {
		got = append(got, row{r.AffiliateName, r.ProductID, r.LinkCode, r.Clicks, r.UniqueClicks})
	}
	want := []row{{"Ani", 1, aniCode, 6, 3}, {"Joe", 1, joeCode, 1, 1}, {"Citra", 2, citraCode, 0, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("affiliate report rows\n got %v\nwant %v", got, want)
	}
	var other track.AffiliateReport
	if st := e.getJSON(t, "/api/v1/affiliates", watiKey, &other); st != http.StatusOK || len(other.Affiliates) != 0 {
		t.Errorf("another seller's report: %d %+v", st, other.Affiliates)
	}

	links := e.say(t, ani, "/links").PlainText
	mustContain(t, links, "Kemeja Batik Lasem", "Klik hari ini: 6 · total: 6 (unik: 3)")
	aff := e.say(t, budi, "/affiliates").PlainText
	mustContain(t, aff, "1. Ani · #1 Kemeja Batik Lasem\n    clicks 6 · unique 3", "2. Joe · #1 Kemeja Batik Lasem\n    clicks 1 · unique 1",
		"Citra · #2 Selendang Sutra\n    clicks 0 · unique 0")
	mustContain(t, e.say(t, budi, "/affiliates 2").PlainText, "1. Citra · #2")
	mustContain(t, e.say(t, budi, "/myproducts").PlainText, "Clicks: 7 (unique: 4) · Affiliates: 2")
}

// apiKey finds the API key in the /apikey answer.
func apiKey(t *testing.T, m tgfake.Message) string {
	t.Helper()
	key := apiKeyRe.FindString(m.PlainText)
	if key == "" {
		t.Fatalf("no API key in %q", m.PlainText)
	}
	mustContain(t, m.PlainText, "curl -H 'Authorization: Bearer "+key+"'")
	return key
}

// TestE2ERestart shows that languages, time zones, roles and an unfinished /addproduct survive a restart.
func TestE2ERestart(t *testing.T) {
	e := startE2E(t, adminEnv(nil), Options{RateBurst: scripted})
	admin, seller, u := person(e2eAdminID, "Sari", "id"), person(7001, "Eko", "id"), person(7002, "Maya", "en")
	e.say(t, admin, "/start")
	e.say(t, u, "/start")
	e.say(t, u, "/lang id")
	e.say(t, u, "/timezone WITA")
	e.say(t, seller, "/start")
	e.say(t, seller, "/lang en")
	before := e.sent(e2eAdminID)
	e.say(t, seller, "/seller Lurik Eko")
	e.waitNew(t, e2eAdminID, before, 1)
	mustContain(t, e.say(t, admin, "/approve 7001").PlainText, "disetujui")
	mustContain(t, e.say(t, seller, "/addproduct").PlainText, "What is the product called?")
	mustContain(t, e.say(t, seller, "Kain Lurik").PlainText, "What is the price")

	e.restart(t)

	// The flow goes on where it stopped, in the seller's language.
	mustContain(t, e.say(t, seller, "95000").PlainText, "What commission percentage")
	mustContain(t, e.say(t, seller, "10").PlainText, "https://")
	e.restart(t)
	photo := e.say(t, seller, "https://lurik.example.id/kain")
	mustContain(t, photo.PlainText, "Send a product photo")
	before = e.sent(seller.ID)
	e.press(t, seller, photo, "Skip")
	saveCard := e.waitNew(t, seller.ID, before, 1)[0]
	mustContain(t, saveCard.PlainText, "Kain Lurik", "Rp95.000", "10%", "Photo: no")
	before = e.sent(seller.ID)
	e.press(t, seller, saveCard, "Save")
	mustContain(t, e.waitNew(t, seller.ID, before, 1)[0].PlainText, "Product #1 Kain Lurik added")

	// A flow cancelled after a restart is gone.
	mustContain(t, e.say(t, seller, "/addproduct").PlainText, "What is the product called?")
	e.restart(t)
	mustContain(t, e.say(t, seller, "/cancel").PlainText, "Cancelled")
	mustContain(t, e.say(t, seller, "Kain Tenun").PlainText, "/help")

	// Language, zone and roles came through every restart.
	help := e.say(t, u, "/help").PlainText
	mustContain(t, help, "Perintah Keranjang")
	mustNotContain(t, help, "/addproduct")
	mustContain(t, e.say(t, u, "/settings").PlainText, "Pengaturan", "WITA (Asia/Makassar)")
	mustContain(t, e.say(t, seller, "/help").PlainText, "Keranjang commands", "For sellers", "/addproduct")
	mustContain(t, e.say(t, seller, "/myproducts").PlainText, "#1 Kain Lurik — active")
	mustContain(t, e.say(t, admin, "/help").PlainText, "Untuk admin")
	e.checkAllAnswered(t)
	e.checkNoRejections(t)
}

// TestE2EWebhook runs the bot in webhook mode: the fake Bot API delivers updates by POST to the app's own
// /telegram/webhook. Telegram only calls https URLs, so the configured URL is https and the fake's
// client plays the TLS-terminating proxy in front of the app, passing requests on over plain HTTP.
func TestE2EWebhook(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	const secretToken = "rahasia-webhook_123"
	proxy := &http.Client{Timeout: e2eWait, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme = "http"
		return http.DefaultTransport.RoundTrip(r)
	})}
	e := startE2E(t, map[string]string{
		"KERANJANG_HTTP_ADDR":      addr,
		"KERANJANG_PUBLIC_URL":     "http://" + addr,
		"KERANJANG_WEBHOOK_URL":    "https://" + addr + "/telegram/webhook",
		"KERANJANG_WEBHOOK_SECRET": secretToken,
	}, Options{RateBurst: scripted}, tgfake.WithWebhookClient(proxy))

	u := person(8001, "Hana", "id")
	mustContain(t, e.say(t, u, "/start").PlainText, "Halo, Hana")
	settings := e.say(t, u, "/settings")
	mustContain(t, e.press(t, u, settings, "English").Params["text"], "Language set to English")
	mustContain(t, e.say(t, u, "/help").PlainText, "Keranjang commands")
	if n := len(e.sb.fake.CallsTo("getUpdates")); n != 0 {
		t.Errorf("%d getUpdates calls in webhook mode", n)
	}
	hook, err := e.sb.fake.WaitCall(context.Background(), "setWebhook", nil)
	if err != nil || hook.Params["url"] != "https://"+addr+"/telegram/webhook" || hook.Params["secret_token"] != secretToken {
		t.Errorf("setWebhook: %v %v", err, hook.Params)
	}

	update := `{"update_id": 999, "message": {"message_id": 1, "date": 1, "chat": {"id": 8001, "type": "private"},
		"from": {"id": 8001, "is_bot": false, "first_name": "Palsu"}, "text": "/deleteme"}}`
	for _, tc := range []struct {
		name, secret, body string
		status             int
	}{
		{"no secret", "", update, http.StatusUnauthorized},
		{"wrong secret", "rahasia-lain", update, http.StatusUnauthorized},
		{"secret with a different case", strings.ToUpper(secretToken), update, http.StatusUnauthorized},
		{"right secret, not JSON", secretToken, "{", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.sb.baseURL()+"/telegram/webhook", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tc.secret)
		}
		resp, err := e.web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	// An update the Telegram library cannot decode is taken and skipped, not refused for ever.
	e.sb.fake.PushRaw(map[string]any{"message": map[string]any{"message_id": 900, "date": time.Now().Unix(),
		"chat": map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName},
		"from": map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName},
		"text": "/help", "forward_origin": map[string]any{"type": "future_origin", "date": 1}}})
	// The forged and undecodable updates did nothing: the next answer is to the next real message.
	mustContain(t, e.say(t, u, "/lang id").PlainText, "Bahasa diganti")
	e.checkAllAnswered(t)
	e.checkNoRejections(t)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestE2EShutdownWhileBusy times App.Shutdown while handlers are stuck in Bot API calls, against the
// 10-second contract, and checks that nothing acknowledged is lost: clicks that got their redirect are in
// the database, and updates the bot had not taken are answered after the next start.
func TestE2EShutdownWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold time.Duration // how long the Bot API takes to answer sendMessage; negative: never
	}{
		{"slow Bot API", 250 * time.Millisecond},
		{"Bot API stops answering", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newSlowAPI(t) // before the app, so that it is closed after it
			e := startE2E(t, catalogueEnv, Options{RateBurst: scripted})
			api.target.Store(mustParseURL(t, e.sb.fake.URL()))
			e.sb.cfg.BotAPIURL = api.URL()
			e.restart(t)

			seller, aff := person(9001, "Joni", "id"), person(9002, "Lia", "id")
			e.say(t, seller, "/start")
			e.say(t, aff, "/start")
			e.say(t, seller, "/seller Toko Joni")
			e.say(t, seller, "/addproduct Sarung | 90000 | 10 | https://tokoku.id/sarung")
			code := basketCode(t, e.say(t, aff, "/join 1"))
			users := make([]tgfake.User, 20)
			for i := range users {
				users[i] = person(int64(9100+i), fmt.Sprintf("Sibuk%02d", i), "id")
				e.say(t, users[i], "/start")
			}

			// Every handler now waits for the Bot API.
			api.hold(tc.hold)
			for _, u := range users {
				e.sb.fake.SendText(u, tgfake.Chat{}, "/help")
			}
			eventually(t, "handlers busy in Bot API calls", func() bool { return api.held() >= 5 })
			for i := range 5 {
				if resp := e.visit(t, http.MethodGet, code, fmt.Sprintf("203.0.113.%d", i+1), "Mozilla/5.0"); resp.StatusCode != http.StatusFound {
					t.Fatalf("click %d: %d", i, resp.StatusCode)
				}
			}

			sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer scancel()
			start := time.Now()
			err := e.sb.app.Shutdown(sctx)
			took := time.Since(start)
			e.sb.app = nil
			if took >= ShutdownTimeout {
				t.Errorf("shutdown took %v, the contract is %v", took, ShutdownTimeout)
			}
			t.Logf("shutdown took %v (err %v)", took.Round(time.Millisecond), err)

			// Every acknowledged click was written before the database closed.
			st, err := store.Open(e.sb.cfg.DB, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			counts, err := st.LinkCounts(t.Context(), code, time.Time{}, time.Time{})
			st.Close()
			if err != nil || counts.Clicks != 5 {
				t.Errorf("after shutdown the link has %+v (%v), want 5 clicks", counts, err)
			}

			answered := 0
			for _, u := range users {
				if e.sent(u.ID) > 1 {
					answered++
				}
			}
			t.Logf("%d of %d /help answered before the shutdown", answered, len(users))
			if tc.hold > 0 && (err != nil || answered < 5) {
				// A slow Bot API leaves time to finish every handler that was running.
				t.Errorf("shutdown: %v, %d answered; want no error and at least the 5 busy handlers' answers", err, answered)
			}

			// With the Bot API back, the next start answers the updates the bot had not taken.
			api.hold(0)
			ctx, cancel := waitCtx()
			defer cancel()
			if e.sb.app, err = Start(ctx, e.sb.cfg, e.sb.log, e.sb.opt); err != nil {
				t.Fatal(err)
			}
			if tc.hold > 0 {
				for _, u := range users {
					mustContain(t, e.waitNew(t, u.ID, 1, 1)[0].PlainText, "Perintah Keranjang")
				}
			}
			mustContain(t, e.say(t, aff, "/links").PlainText, "total: 5")
			e.checkNoRejections(t)
		})
	}
}

// slowAPI stands between the bot and the fake Bot API and can hold sendMessage calls, as a slow or hung
// Telegram would.
type slowAPI struct {
	srv     *httptest.Server
	holdFor atomic.Int64 // nanoseconds; 0: pass at once; negative: until the caller gives up
	holding atomic.Int64
	target  atomic.Pointer[url.URL]
	closed  chan struct{}
}

func newSlowAPI(t *testing.T) *slowAPI {
	a := &slowAPI{closed: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(a.target.Load()) },
		ErrorLog: log.New(io.Discard, "", 0),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(a.holdFor.Load()); d != 0 && strings.HasSuffix(r.URL.Path, "/sendMessage") {
			// Read the whole request first: only then does the server notice a caller that gives up.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			a.holding.Add(1)
			var timeout <-chan time.Time
			if d > 0 {
				timer := time.NewTimer(d)
				defer timer.Stop()
				timeout = timer.C
			}
			select {
			case <-timeout:
			case <-r.Context().Done():
			case <-a.closed:
			}
			a.holding.Add(-1)
			if r.Context().Err() != nil {
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(a.closed)
		a.srv.Close()
	})
	return a
}

func mustParseURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (a *slowAPI) URL() string          { return a.srv.URL }
func (a *slowAPI) hold(d time.Duration) { a.holdFor.Store(int64(d)) }
func (a *slowAPI) held() int64          { return a.holding.Load() }

// withStoppedApp shuts the app down in order, lets fn look at the database, and starts the app again.
func (e *e2e) withStoppedApp(t *testing.T, fn func(st *store.Store)) {
	t.Helper()
	e.waitConfirmed(t)
	if err := e.sb.stopApp(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	st, err := store.Open(e.sb.cfg.DB, store.Options{})
	if err != nil {
		t.Fatalf("open the store after shutdown: %v", err)
	}
	fn(st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := waitCtx()
	defer cancel()
	if e.sb.app, err = Start(ctx, e.sb.cfg, e.sb.log, e.sb.opt); err != nil {
		t.Fatalf("start again: %v", err)
	}
}

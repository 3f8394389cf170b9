package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/commands"
	"github.com/keranjang/keranjang/internal/clocktest"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/contract"
)

// testEdge covers the Telegram edge: groups, updates of every odd kind, the inbound rate limit, panicking
// handlers and webhook mode.
func testEdge(t *testing.T) {
	t.Run("commands in a group", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		rina := person(2001, "Rina", "id")
		e.say(t, rina, "/start")
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

	t.Run("odd updates", func(t *testing.T) {
		e := startE2E(t, nil, Options{RateBurst: scripted})
		john := person(2002, "John", "en")
		e.say(t, john, "/start")
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
		// A message queued for later is dropped at once.
		if _, err := e.sb.app.store.Enqueue(t.Context(), []affiliate.OutboxMessage{{Key: "later:tono", UserID: u.ID,
			ChatID: u.ID, Text: "later", NextAt: time.Now().Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		handled = e.handled(t)
		member("kicked")
		e.waitHandled(t, handled+1)
		e.withStoppedApp(t, func(st contract.Store) {
			got, err := st.GetUser(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reachable {
				t.Error("a user who blocked the bot is still reachable")
			}
			if ob, err := st.OutboxStats(t.Context()); err != nil || ob.Queued != 0 || ob.Dropped != 1 {
				t.Errorf("the blocked user's queued message: %+v %v, want it dropped", ob, err)
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
		mustContain(t, e.say(t, john, "/start").PlainText, "Hi again")
	})

	t.Run("inbound rate limit", testInboundRateLimit)
	t.Run("panicking handler", testPanickingHandler)
	t.Run("webhook", testWebhook)
}

// testInboundRateLimit floods the bot as one user. The clock only moves when the test says so, so the
// bucket refills exactly when expected.
func testInboundRateLimit(t *testing.T) {
	clock := clocktest.New(morningClock()())
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
}

// testPanickingHandler wires the real bot edge and commands by hand, with a handler in front that
// panics on one magic text and one magic button, and shows that the bot answers the next update, the
// pressed button's spinner stops, and the panics are counted.
func testPanickingHandler(t *testing.T) {
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

// testWebhook runs the bot in webhook mode: the fake Bot API delivers updates by POST to the app's own
// /telegram/webhook. Telegram only calls https URLs, so the configured URL is https and the fake's
// client plays the TLS-terminating proxy in front of the app, passing requests on over plain HTTP.
func testWebhook(t *testing.T) {
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
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package tgfake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

// keyboard is a keyboard type of the kind the bot package sends: each
// button carries exactly one action.
type keyboard struct {
	InlineKeyboard [][]button `json:"inline_keyboard"`
}

type button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

func TestPollingReceivesCommandWithEntity(t *testing.T) {
	f := newFake(t)
	got := make(chan *tgmodels.Update, 4)
	b := newClient(t, f, tgbot.WithDefaultHandler(func(_ context.Context, _ *tgbot.Bot, u *tgmodels.Update) {
		got <- u
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Start(ctx)

	sent := f.SendText(alice, Chat{}, "/start@keranjang_bot p_7 😀")
	select {
	case u := <-got:
		if u.ID != sent.ID || u.Message == nil {
			t.Fatalf("got update %+v, want message update %d", u, sent.ID)
		}
		m := u.Message
		if m.Chat.ID != alice.ID || m.Chat.Type != "private" || m.From.LanguageCode != "id" || m.From.Username != "alice" {
			t.Errorf("chat/from = %+v / %+v", m.Chat, m.From)
		}
		if len(m.Entities) != 1 || m.Entities[0].Type != tgmodels.MessageEntityTypeBotCommand ||
			m.Entities[0].Offset != 0 || m.Entities[0].Length != len("/start@keranjang_bot") {
			t.Errorf("entities = %+v", m.Entities)
		}
		if int64(m.ID) != sent.MessageID {
			t.Errorf("message id %d, want %d", m.ID, sent.MessageID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no update received")
	}
	f.CheckNoRejections(t)
	if len(f.CallsTo("getMe")) != 1 {
		t.Errorf("getMe calls = %d, want 1", len(f.CallsTo("getMe")))
	}
}

func TestCommandEntityCountsUTF16(t *testing.T) {
	tests := []struct {
		text string
		ok   bool
		len  int
	}{
		{"/help", true, 5},
		{"/help@keranjang_bot now", true, 19},
		{"/start\np_1", true, 6},
		{"hello /help", false, 0},
		{"/", false, 0},
		{"/ünï", false, 0},
	}
	for _, tt := range tests {
		e, ok := commandEntity(tt.text)
		if ok != tt.ok || (ok && e.Length != tt.len) {
			t.Errorf("commandEntity(%q) = %+v, %v; want len %d, %v", tt.text, e, ok, tt.len, tt.ok)
		}
	}
}

func TestSendMessageHTMLAndKeyboard(t *testing.T) {
	f := newFake(t)
	b := newClient(t, f)
	ctx := ctxTimeout(t, 20*time.Second)
	f.SendText(alice, Chat{}, "/products")

	msg, err := b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID:    alice.ID,
		Text:      "<b>Kopi 😀</b> &amp; <a href=\"https://example.com/p/1\">toko</a>",
		ParseMode: tgmodels.ParseModeHTML,
		ReplyMarkup: keyboard{InlineKeyboard: [][]button{{
			{Text: "Join", CallbackData: "join:1"}, {Text: "Shop", URL: "https://example.com"},
		}}},
		LinkPreviewOptions: &tgmodels.LinkPreviewOptions{IsDisabled: tgbot.True()},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if msg.Text != "Kopi 😀 & toko" || len(msg.Entities) != 2 {
		t.Errorf("result text %q entities %+v", msg.Text, msg.Entities)
	}
	if msg.ReplyMarkup == nil || msg.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "join:1" {
		t.Errorf("result markup %+v", msg.ReplyMarkup)
	}
	sent, err := f.WaitSent(ctx, alice.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := sent[0]
	if m.PlainText != "Kopi 😀 & toko" || m.ParseMode != "HTML" || m.ID != int64(msg.ID) {
		t.Errorf("recorded %+v", m)
	}
	if btn, ok := m.Button("Join"); !ok || btn.CallbackData != "join:1" {
		t.Errorf("Join button = %+v, %v", btn, ok)
	}
	if btn, _ := m.Button("Shop"); btn.URL != "https://example.com" {
		t.Errorf("Shop button = %+v", btn)
	}
	// "Kopi 😀" is 7 UTF-16 units: the emoji counts twice.
	if e := m.Entities[0]; e.Type != "bold" || e.Offset != 0 || e.Length != 7 {
		t.Errorf("bold entity %+v", e)
	}
	if e := m.Entities[1]; e.Type != "text_link" || e.Offset != 10 || e.URL != "https://example.com/p/1" {
		t.Errorf("link entity %+v", e)
	}
	f.CheckNoRejections(t)
}

func TestStockLibraryKeyboardIsRejected(t *testing.T) {
	f := newFake(t)
	b := newClient(t, f)
	ctx := ctxTimeout(t, 20*time.Second)
	f.SendText(alice, Chat{}, "hi")

	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID: alice.ID, Text: "pick",
		ReplyMarkup: &tgmodels.InlineKeyboardMarkup{InlineKeyboard: [][]tgmodels.InlineKeyboardButton{{
			{Text: "Join", CallbackData: "join:1"},
		}}},
	})
	if !errors.Is(err, tgbot.ErrorBadRequest) {
		t.Fatalf("stock keyboard: err = %v, want bad request", err)
	}
	rej := f.Rejected()
	if len(rej) != 1 || !contains(rej[0].Reason, "copy_text") {
		t.Fatalf("rejections = %v", rej)
	}

	f.Reset()
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID: alice.ID, Text: "pick",
		ReplyMarkup: keyboard{InlineKeyboard: [][]button{{{Text: "Join", CallbackData: "join:1"}}}},
	}); err != nil {
		t.Fatalf("own keyboard: %v", err)
	}
	f.CheckNoRejections(t)
}

func TestInjectedFaultsReachTheClient(t *testing.T) {
	f := newFake(t)
	b := newClient(t, f)
	ctx := ctxTimeout(t, 20*time.Second)
	f.SendText(alice, Chat{}, "hi")
	f.SendText(bob, Chat{}, "hi")
	send := func(chat int64) error {
		_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: chat, Text: "hello"})
		return err
	}

	f.Inject(Fault{Method: "sendMessage", ChatID: alice.ID, Code: 429, RetryAfter: 2, Times: 1})
	if err := send(bob.ID); err != nil {
		t.Fatalf("a fault for another chat must not fire: %v", err)
	}
	var tooMany *tgbot.TooManyRequestsError
	if err := send(alice.ID); !errors.As(err, &tooMany) || tooMany.RetryAfter != 2 {
		t.Fatalf("429: err = %v", err)
	}
	if err := send(alice.ID); err != nil {
		t.Fatalf("fault should fire once: %v", err)
	}

	f.FailNext("sendMessage", Fault{Code: 403})
	if err := send(alice.ID); !errors.Is(err, tgbot.ErrorForbidden) || !contains(err.Error(), "blocked by the user") {
		t.Fatalf("403: err = %v", err)
	}

	f.FailNext("sendMessage", Fault{Code: 400, MigrateToChatID: -1001234})
	var migrate *tgbot.MigrateError
	if err := send(alice.ID); !errors.As(err, &migrate) || migrate.MigrateToChatID != -1001234 ||
		!contains(err.Error(), "upgraded to a supergroup") {
		t.Fatalf("migrate: err = %v", err)
	}

	f.FailNext("sendMessage", Fault{Code: 400, Description: "Bad Request: PEER_ID_INVALID"})
	if err := send(alice.ID); !errors.Is(err, tgbot.ErrorBadRequest) || !contains(err.Error(), "PEER_ID_INVALID") {
		t.Fatalf("custom 400: err = %v", err)
	}

	for _, code := range []int{500, 502} {
		f.Inject(Fault{Method: "sendMessage", Code: code})
		if err := send(alice.ID); err == nil || !contains(err.Error(), strconv.Itoa(code)) {
			t.Fatalf("%d: err = %v", code, err)
		}
	}

	f.Inject(Fault{Method: "sendMessage", Code: 502, RawBody: "<html>502 Bad Gateway</html>", Times: -1})
	for range 2 {
		if err := send(alice.ID); err == nil {
			t.Fatal("HTML 502 body: no error")
		}
	}
	f.ClearFaults()
	if err := send(alice.ID); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}

	f.CheckNoRejections(t)
	injected := 0
	for _, c := range f.CallsTo("sendMessage") {
		if c.Injected {
			injected++
		}
	}
	if injected != 8 {
		t.Errorf("injected calls = %d, want 8", injected)
	}
}

func TestWebhookDeliveryWithSecret(t *testing.T) {
	f := newFake(t)
	type delivery struct {
		secret string
		body   []byte
	}
	got := make(chan delivery, 8)
	var mu sync.Mutex
	failFirst := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fail := failFirst
		failFirst = false
		mu.Unlock()
		if fail {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), body}
	}))
	defer hook.Close()

	b := newClient(t, f, tgbot.WithSkipGetMe())
	ctx := ctxTimeout(t, 20*time.Second)
	ok, err := b.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hook.URL + "/tg", SecretToken: "s3cret_token"})
	if err != nil || !ok {
		t.Fatalf("SetWebhook: %v", err)
	}
	u := f.SendText(alice, Chat{}, "/help")
	select {
	case d := <-got:
		if d.secret != "s3cret_token" {
			t.Errorf("secret header = %q", d.secret)
		}
		if !bytes.Contains(d.body, []byte(`"update_id":`+strconv.FormatInt(u.ID, 10))) {
			t.Errorf("body = %s", d.body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("webhook not delivered")
	}
	info, err := b.GetWebhookInfo(ctx)
	if err != nil || info.URL != hook.URL+"/tg" || info.LastErrorMessage == "" {
		t.Errorf("GetWebhookInfo = %+v, %v (the first delivery failed, so an error is recorded)", info, err)
	}

	// Polling while a webhook is set is what Telegram refuses with 409.
	if a := rawCall(t, f, "getUpdates", nil); a.ErrorCode != 409 {
		t.Errorf("getUpdates with webhook: %+v", a)
	}
	if len(f.Rejected()) != 1 {
		t.Errorf("the 409 should be recorded as a rejection: %v", f.Rejected())
	}
	f.Reset()

	if _, err := b.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{DropPendingUpdates: true}); err != nil {
		t.Fatal(err)
	}
	if a := rawCall(t, f, "getUpdates", map[string]string{"timeout": "0"}); !a.OK || string(a.Result) != "[]" {
		t.Errorf("getUpdates after deleteWebhook: %+v", a)
	}
	f.CheckNoRejections(t)
}

func TestGetFileAndDownload(t *testing.T) {
	f := newFake(t)
	b := newClient(t, f)
	ctx := ctxTimeout(t, 20*time.Second)
	content := []byte("sku,price\n1,15000\n")
	u := f.SendDocument(alice, Chat{}, "produk.csv", "text/csv", content, "import")

	file, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: u.FileID})
	if err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if file.FileSize != int64(len(content)) || !strings.HasSuffix(file.FilePath, ".csv") {
		t.Errorf("file = %+v", file)
	}
	resp, err := http.Get(b.FileDownloadLink(file))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("download: %d %q", resp.StatusCode, got)
	}

	photo := f.SendPhoto(alice, Chat{}, "produk")
	if _, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: photo.FileID}); err != nil {
		t.Errorf("GetFile(photo): %v", err)
	}

	// The bot uploads a document, then resends it by file_id.
	sent, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{
		ChatID:   alice.ID,
		Document: &tgmodels.InputFileUpload{Filename: "report.csv", Data: bytes.NewReader(content)},
		Caption:  "<b>laporan</b>", ParseMode: tgmodels.ParseModeHTML,
	})
	if err != nil {
		t.Fatalf("SendDocument: %v", err)
	}
	if _, err := b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: alice.ID, Photo: &tgmodels.InputFileString{Data: photo.FileID}}); err != nil {
		t.Fatalf("SendPhoto by file_id: %v", err)
	}
	if _, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: alice.ID, Document: &tgmodels.InputFileString{Data: sent.Document.FileID}}); err != nil {
		t.Fatalf("SendDocument by file_id: %v", err)
	}
	msgs := f.Sent(alice.ID)
	if len(msgs) != 3 || msgs[0].Media == nil || !bytes.Equal(msgs[0].Media.Data, content) || msgs[0].Media.FileName != "report.csv" ||
		msgs[0].PlainText != "laporan" || msgs[1].Media.Kind != "photo" || len(msgs[1].Media.Data) == 0 || !bytes.Equal(msgs[2].Media.Data, content) {
		t.Errorf("sent = %+v", msgs)
	}
	f.CheckNoRejections(t)
}

func TestCallbackQueryAndEdits(t *testing.T) {
	f := newFake(t)
	pressed := make(chan *tgmodels.CallbackQuery, 1)
	b := newClient(t, f, tgbot.WithDefaultHandler(func(_ context.Context, _ *tgbot.Bot, u *tgmodels.Update) {
		if u.CallbackQuery != nil {
			pressed <- u.CallbackQuery
		}
	}))
	ctx := ctxTimeout(t, 30*time.Second)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.Start(runCtx)

	f.SendText(alice, Chat{}, "/settings")
	kb := keyboard{InlineKeyboard: [][]button{{{Text: "Alerts on", CallbackData: "alerts:on"}}}}
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: alice.ID, Text: "Settings", ReplyMarkup: kb}); err != nil {
		t.Fatal(err)
	}
	msgs, err := f.WaitSent(ctx, alice.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	id := f.PressButton(alice, msgs[0], "alerts:on")
	var cq *tgmodels.CallbackQuery
	select {
	case cq = <-pressed:
	case <-ctx.Done():
		t.Fatal("no callback query")
	}
	if cq.ID != id || cq.Data != "alerts:on" || cq.Message.Message == nil || cq.Message.Message.Text != "Settings" {
		t.Fatalf("callback = %+v", cq)
	}
	if _, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: id, Text: "OK"}); err != nil {
		t.Fatalf("answer: %v", err)
	}

	edit := func(text string, markup any) error {
		_, err := b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: alice.ID, MessageID: int(msgs[0].ID), Text: text, ReplyMarkup: markup})
		return err
	}
	if err := edit("Settings", kb); !errors.Is(err, tgbot.ErrorBadRequest) || !contains(err.Error(), "not modified") {
		t.Errorf("identical edit: %v", err)
	}
	if err := edit("Settings", nil); err != nil {
		t.Errorf("edit removing the keyboard: %v", err)
	}
	if m, _ := f.LastSent(alice.ID); m.Keyboard != nil || m.Edits != 1 {
		t.Errorf("after edit without markup: %+v", m)
	}
	if _, err := b.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: int(msgs[0].ID), ReplyMarkup: kb}); err != nil {
		t.Errorf("EditMessageReplyMarkup: %v", err)
	}
	if ok, err := b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: alice.ID, MessageID: int(msgs[0].ID)}); err != nil || !ok {
		t.Errorf("DeleteMessage: %v", err)
	}
	if m, _ := f.LastSent(alice.ID); !m.Deleted || m.Keyboard == nil {
		t.Errorf("after delete: %+v", m)
	}
	// The identical edit is the only strictness rejection: Telegram refuses
	// it, and a bot must avoid it.
	if rej := f.Rejected(); len(rej) != 1 || rej[0].Method != "editMessageText" {
		t.Errorf("rejections = %v", rej)
	}

	if _, err := f.WaitCall(ctx, "answerCallbackQuery", func(c Call) bool { return c.Params["text"] == "OK" }); err != nil {
		t.Errorf("WaitCall: %v", err)
	}
}

func TestCommandsRoundTrip(t *testing.T) {
	f := newFake(t)
	b := newClient(t, f)
	ctx := ctxTimeout(t, 20*time.Second)
	f.SendText(alice, Chat{}, "hi")
	cmds := []tgmodels.BotCommand{{Command: "start", Description: "Mulai"}, {Command: "help", Description: "Bantuan"}}
	scope := &tgmodels.BotCommandScopeChat{ChatID: alice.ID}
	if _, err := b.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: cmds, Scope: scope, LanguageCode: "id"}); err != nil {
		t.Fatalf("SetMyCommands: %v", err)
	}
	got, err := b.GetMyCommands(ctx, &tgbot.GetMyCommandsParams{Scope: scope, LanguageCode: "id"})
	if err != nil || len(got) != 2 || got[1].Command != "help" {
		t.Fatalf("GetMyCommands = %+v, %v", got, err)
	}
	if got, _ := b.GetMyCommands(ctx, &tgbot.GetMyCommandsParams{}); len(got) != 0 {
		t.Errorf("default scope = %+v, want none", got)
	}
	if _, err := b.DeleteMyCommands(ctx, &tgbot.DeleteMyCommandsParams{Scope: scope, LanguageCode: "id"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.GetMyCommands(ctx, &tgbot.GetMyCommandsParams{Scope: scope, LanguageCode: "id"}); len(got) != 0 {
		t.Errorf("after delete = %+v", got)
	}
	if _, err := b.SendChatAction(ctx, &tgbot.SendChatActionParams{ChatID: alice.ID, Action: tgmodels.ChatActionTyping}); err != nil {
		t.Errorf("SendChatAction: %v", err)
	}
	f.CheckNoRejections(t)
}

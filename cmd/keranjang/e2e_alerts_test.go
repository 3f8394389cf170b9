package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/track"
)

// alertsWorld is a system with an admin, an approved seller with one product and three affiliates:
// Ani (joined the product), Joe (alerts off) and Citra (blocked the bot after /start).
type alertsWorld struct {
	*e2e
	admin, budi, ani, joe, citra tgfake.User
}

func newAlertsWorld(t *testing.T) *alertsWorld {
	t.Helper()
	w := &alertsWorld{
		e2e: startE2E(t, adminEnv(map[string]string{"KERANJANG_SELLER_APPROVAL": "auto", "KERANJANG_ADMIN_TOKEN": e2eAdminToken}),
			Options{RateBurst: scripted, ProgressEvery: 20 * time.Millisecond}),
		admin: person(e2eAdminID, "Sari", "id"), budi: person(6001, "Budi", "en"),
		ani: person(6101, "Ani", "id"), joe: person(6102, "Joe", "en"), citra: person(6103, "Citra", "id"),
	}
	for _, u := range []tgfake.User{w.admin, w.budi, w.ani, w.joe, w.citra} {
		w.say(t, u, "/start")
	}
	mustContain(t, w.say(t, w.budi, "/seller Toko Budi").PlainText, "Toko Budi")
	mustContain(t, w.say(t, w.budi, "/addproduct Kopi Gayo | 50000 | 10 | https://shop.example.id/kopi").PlainText, "#1")
	w.say(t, w.ani, "/join 1")
	mustContain(t, w.say(t, w.joe, "/alerts off").PlainText, "Policy alerts off")
	mustContain(t, w.say(t, w.joe, "/alerts").PlainText, "off")
	w.settle(t)
	// Citra blocks the bot: every message to her is refused from now on.
	w.sb.fake.Inject(tgfake.Fault{Method: "sendMessage", ChatID: w.citra.ID, Code: http.StatusForbidden, Times: -1})
	return w
}

func TestE2EAlerts(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		t.Run("Policy", testPolicyAlert)
		t.Run("API", testAlertsAPI)
		t.Run("Broadcast", testBroadcast)
	})
}

// An admin drafts a policy alert, sends it to all users and watches the progress message turn into the
// final report; each reachable user with alerts on gets it once.
func testPolicyAlert(t *testing.T) {
	w := newAlertsWorld(t)
	mustContain(t, w.say(t, w.ani, "/policy x").PlainText, "khusus admin")
	mustContain(t, w.say(t, w.admin, "/policy").PlainText, "/policy")

	preview := w.say(t, w.admin, "/policy Aturan baru <TikTok>\nPembayaran di dalam aplikasi dilarang.")
	mustContain(t, preview.PlainText, "Pratinjau", "Aturan baru <TikTok>", "Pembayaran di dalam aplikasi dilarang.")
	// Text while the draft waits does not send it.
	mustContain(t, w.say(t, w.admin, "kirim dong").PlainText, "tombol")
	before := map[int64]int{}
	for _, u := range []tgfake.User{w.admin, w.budi, w.ani, w.joe, w.citra} {
		before[u.ID] = w.sent(u.ID)
	}
	w.press(t, w.admin, preview, "Semua pengguna")
	var report tgfake.Message
	eventually(t, "the final report", func() bool {
		report = w.message(t, w.admin.ID, preview.ID)
		return strings.Contains(report.PlainText, "selesai")
	})
	mustContain(t, report.PlainText, "Terkirim: 3", "Tidak terjangkau (memblokir bot): 1", "Gagal: 0",
		"Dilewati (info mati): 1", "Antre: 0")
	if report.Edits < 2 {
		t.Fatalf("the progress message was edited %d times, want the progress and the report", report.Edits)
	}
	// A second press on the old preview sends nothing.
	call := w.press(t, w.admin, preview, "Semua pengguna")
	mustContain(t, call.Params["text"], "tidak berlaku")

	w.settle(t)
	for _, u := range []tgfake.User{w.admin, w.budi, w.ani} {
		got := w.sb.fake.Sent(u.ID)[before[u.ID]:]
		n := 0
		for _, m := range got {
			if strings.Contains(m.PlainText, "Aturan baru <TikTok>") && strings.Contains(m.PlainText, "/alerts off") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s got the alert %d times:\n%s", u.FirstName, n, dump(got))
		}
	}
	if got := w.sb.fake.Sent(w.joe.ID)[before[w.joe.ID]:]; len(got) != 0 {
		t.Fatalf("Joe (alerts off) got:\n%s", dump(got))
	}
	// /stats counts Citra as unreachable now.
	mustContain(t, w.say(t, w.admin, "/stats").PlainText, "Pengguna: 5 (terjangkau 4)", "Penjual: 1", "Produk: 1", "Link: 1")
	mustContain(t, w.say(t, w.ani, "/help").PlainText, "/alerts")
	mustNotContain(t, w.say(t, w.ani, "/help").PlainText, "/policy", "/broadcast", "/stats")
	mustContain(t, w.say(t, w.admin, "/help").PlainText, "/policy", "/stats")

	// A cancelled draft sends nothing.
	preview = w.say(t, w.admin, "/policy Batal")
	w.press(t, w.admin, preview, "Batal")
	mustContain(t, w.waitEdited(t, w.admin.ID, preview.ID, 1).PlainText, "dibatalkan")
}

// POST /api/v1/alerts queues an alert for an audience; GET /api/v1/alerts/{id} reports its counts.
func testAlertsAPI(t *testing.T) {
	w := newAlertsWorld(t)
	post := func(token, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, w.sb.baseURL()+"/api/v1/alerts", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := w.web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	body := `{"title":"Sellers: new rules","body":"Read them.","url":"https://policy.example.com/r","audience":"sellers"}`
	if code, _ := post("", body); code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", code)
	}
	if code, _ := post("wrong", body); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d", code)
	}
	if code, b := post(e2eAdminToken, `{"title":"t","audience":"sellers"}`); code != http.StatusBadRequest {
		t.Fatalf("without a body: %d %s", code, b)
	}
	before := w.sent(w.budi.ID)
	code, b := post(e2eAdminToken, body)
	var created track.AlertCreated
	if code != http.StatusAccepted || json.Unmarshal(b, &created) != nil || created.ID == 0 {
		t.Fatalf("create: %d %s", code, b)
	}
	if code := w.getJSON(t, fmt.Sprint("/api/v1/alerts/", created.ID), "", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET without a token: %d", code)
	}
	var st track.AlertStatus
	eventually(t, "the alert delivered", func() bool {
		w.getJSON(t, fmt.Sprint("/api/v1/alerts/", created.ID), e2eAdminToken, &st)
		return st.Done
	})
	if st.Delivered != 1 || st.Queued != 0 || st.Skipped != 0 || st.Unreachable != 0 || st.Audience != "sellers" {
		t.Fatalf("status %+v", st)
	}
	m := w.waitNew(t, w.budi.ID, before, 1)[0]
	mustContain(t, m.PlainText, "Sellers: new rules", "Read them.", "https://policy.example.com/r")
	if code := w.getJSON(t, "/api/v1/alerts/999", e2eAdminToken, nil); code != http.StatusNotFound {
		t.Fatalf("unknown alert: %d", code)
	}
}

// A seller broadcasts to the affiliates of their products after confirming, at most once an hour.
func testBroadcast(t *testing.T) {
	w := newAlertsWorld(t)
	mustContain(t, w.say(t, w.ani, "/broadcast halo").PlainText, "khusus penjual")
	mustContain(t, w.say(t, w.budi, "/broadcast").PlainText, "/broadcast")
	preview := w.say(t, w.budi, "/broadcast Diskon <50%> hari ini!")
	mustContain(t, preview.PlainText, "goes to 1 affiliates", "Diskon <50%> hari ini!")
	before := w.sent(w.ani.ID)
	w.press(t, w.budi, preview, "Send")
	mustContain(t, w.waitEdited(t, w.budi.ID, preview.ID, 1).PlainText, "queued for 1 affiliates")
	m := w.waitNew(t, w.ani.ID, before, 1)[0]
	mustContain(t, m.PlainText, "Pesan dari Toko Budi", "Diskon <50%> hari ini!")
	w.settle(t)
	// Within the hour the seller is told when the next one may go.
	mustContain(t, w.say(t, w.budi, "/broadcast Lagi").PlainText, "once an hour")
	if got := w.sb.fake.Sent(w.ani.ID)[before:]; len(got) != 1 {
		t.Fatalf("Ani got %d messages:\n%s", len(got), dump(got))
	}
	var buf bytes.Buffer
	for _, c := range w.sb.fake.CallsTo("sendMessage") {
		if strings.Contains(c.Params["text"], "Diskon") {
			buf.WriteString(c.Params["chat_id"] + " ")
		}
	}
	if strings.Contains(buf.String(), fmt.Sprint(w.joe.ID)) {
		t.Fatalf("the broadcast reached a user who joined nothing: chats %s", buf.String())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/contract"
	"github.com/keranjang/keranjang/track"
)

// TestE2EOrders runs the conversions API end to end: a shop's signed postbacks through real HTTP, the
// order in the store, and the affiliate's notices through the fake Bot API.
func TestE2EOrders(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		t.Run("postbacks", testPostbacks)
		t.Run("apikey snippet", testAPIKeySnippet)
	})
}

// post sends a signed postback as seller with key, at the app's clock shifted by skew; sig overrides the
// signature when not empty. It returns the status and body.
func (s *shop) post(t *testing.T, seller int64, key, body string, skew time.Duration, sig string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(s.sb.opt.Now().Add(skew).Unix(), 10)
	if sig == "" {
		sig = track.Sign(key, ts, []byte(body))
	}
	req, err := http.NewRequest(http.MethodPost, s.sb.baseURL()+"/api/v1/conversions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(track.HeaderSeller, strconv.FormatInt(seller, 10))
	req.Header.Set(track.HeaderTimestamp, ts)
	req.Header.Set(track.HeaderSignature, sig)
	resp, err := s.web.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v1/conversions: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(out))
}

func testPostbacks(t *testing.T) {
	s := newShop(t)
	s.joinAll(t)
	s.readKeys(t)
	// A buyer clicks Ani's link; the shop gets the click id in kclid.
	resp := s.visit(t, http.MethodGet, s.aniCode, "203.0.113.10", "Mozilla/5.0 (Linux; Android 14) Mobile")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("kclid") == "" {
		t.Fatalf("redirect %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	kclid := loc.Query().Get("kclid")
	eventually(t, "the click written", func() bool {
		var st track.LinkStats
		return s.getJSON(t, "/api/v1/links/"+s.aniCode+"/stats", s.budiKey, &st) == 200 && st.Clicks == 1
	})

	ok := func(body string) track.ConversionResult {
		t.Helper()
		status, out := s.post(t, s.budi.ID, s.budiKey, body, 0, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", body, status, out)
		}
		var r track.ConversionResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Kemeja Batik Lasem, Rp350.000 at 12.5%: commission Rp43.750.
	first := `{"order_id":"INV-7","click_id":"` + kclid + `","amount":350000,"status":"pending"}`
	before := s.sent(s.ani.ID)
	r := ok(first)
	if !r.Changed || r.AffiliateID != s.ani.ID || r.ClickID != kclid || r.LinkCode != s.aniCode || r.RateBP != 1250 ||
		r.Commission != 43750 || r.Status != affiliate.OrderPending {
		t.Fatalf("first report: %+v", r)
	}
	mustContain(t, s.waitNew(t, s.ani.ID, before, 1)[0].PlainText, "Pesanan baru", "Kemeja Batik Lasem", "Rp350.000", "Rp43.750")

	// The same postback again changes nothing and tells nobody: the next message Ani gets is the settle's.
	if again := ok(first); again.Changed || again.Commission != 43750 || !again.UpdatedAt.Equal(r.UpdatedAt) {
		t.Fatalf("repeat: %+v", again)
	}

	// Refused postbacks: each its status, nothing stored, nobody told.
	big := `{"order_id":"X-big","link_code":"` + s.aniCode + `","amount":1,"status":"pending","pad":"` +
		strings.Repeat("x", 1<<20) + `"}`
	refused := []struct {
		name   string
		seller int64
		key    string
		body   string
		skew   time.Duration
		sig    string
		status int
	}{
		{"bad signature", s.budi.ID, s.budiKey, `{"order_id":"X-1","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, 0, "sha256=" + strings.Repeat("ab", 32), 401},
		{"wrong key", s.budi.ID, s.watiKey, `{"order_id":"X-2","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, 0, "", 401},
		{"stale", s.budi.ID, s.budiKey, `{"order_id":"X-3","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, -6 * time.Minute, "", 401},
		{"future", s.budi.ID, s.budiKey, `{"order_id":"X-4","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, 6 * time.Minute, "", 401},
		{"unknown seller", 424242, s.budiKey, `{"order_id":"X-5","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, 0, "", 401},
		{"malformed", s.budi.ID, s.budiKey, `{"order_id":"X-6","link_code":`, 0, "", 400},
		{"unknown field", s.budi.ID, s.budiKey, `{"order_id":"X-7","link_code":"` + s.aniCode + `","amount":1000,"status":"pending","voucher":1}`, 0, "", 400},
		{"wrong type", s.budi.ID, s.budiKey, `{"order_id":"X-8","link_code":"` + s.aniCode + `","amount":"1000","status":"pending"}`, 0, "", 400},
		{"unknown click", s.budi.ID, s.budiKey, `{"order_id":"X-9","click_id":"` + kclid[:len(kclid)-1] + `Z","amount":1000,"status":"pending"}`, 0, "", 404},
		{"another seller's link", s.wati.ID, s.watiKey, `{"order_id":"X-10","link_code":"` + s.aniCode + `","amount":1000,"status":"pending"}`, 0, "", 404},
		{"before its click", s.budi.ID, s.budiKey, `{"order_id":"X-11","click_id":"` + kclid + `","amount":1000,"status":"pending","occurred_at":"` + s.sb.opt.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`, 0, "", 422},
		{"impossible transition", s.budi.ID, s.budiKey, `{"order_id":"INV-7","status":"pending","amount":999}`, 0, "", 409},
		{"oversize", s.budi.ID, s.budiKey, big, 0, "", 413},
	}
	for _, tt := range refused {
		status, out := s.post(t, tt.seller, tt.key, tt.body, tt.skew, tt.sig)
		var e struct {
			Error string `json:"error"`
		}
		if status != tt.status || json.Unmarshal([]byte(out), &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %.200s, want %d with a JSON error", tt.name, status, out, tt.status)
		}
	}

	// Settle, refund a part, refund the rest: each told once, in order.
	steps := []struct {
		body     string
		reversed affiliate.Rupiah
		words    []string
	}{
		{`{"order_id":"INV-7","status":"settled"}`, 0, []string{"selesai", "Rp43.750"}},
		{`{"order_id":"INV-7","status":"refunded","refunded_amount":100000}`, 12500, []string{"dikembalikan", "Rp100.000", "Rp12.500", "Rp31.250"}},
		{`{"order_id":"INV-7","status":"refunded","refunded_amount":350000}`, 43750, []string{"dikembalikan", "Rp350.000", "Rp43.750", "Rp0"}},
	}
	for _, st := range steps {
		before := s.sent(s.ani.ID)
		r := ok(st.body)
		if !r.Changed || r.CommissionReversed != st.reversed || r.Commission != 43750 {
			t.Fatalf("%s: %+v", st.body, r)
		}
		mustContain(t, s.waitNew(t, s.ani.ID, before, 1)[0].PlainText, st.words...)
	}
	s.withStoppedApp(t, func(st contract.Store) {
		o, err := st.GetOrder(t.Context(), s.budi.ID, "INV-7")
		if err != nil || o.Status != affiliate.OrderRefunded || o.Reversed != 43750 || o.RefundedAmount != 350000 {
			t.Fatalf("stored %+v %v", o, err)
		}
		for _, seller := range []int64{s.budi.ID, s.wati.ID} {
			for i := 1; i <= 11; i++ {
				if o, err := st.GetOrder(t.Context(), seller, fmt.Sprintf("X-%d", i)); err == nil {
					t.Errorf("a refused postback was stored: %+v", o)
				}
			}
			if _, err := st.GetOrder(t.Context(), seller, "X-big"); err == nil {
				t.Error("the oversize postback was stored")
			}
		}
	})
	if got := s.sent(s.ani.ID); got != before+4 {
		t.Fatalf("Ani got %d messages since the first postback, want 4 (new, settled, two refunds)", got-before)
	}
}

// testAPIKeySnippet runs the signed curl that /apikey shows, as a seller would paste it into a shell, on
// a system with the real clock (the snippet signs with `date +%s`).
func testAPIKeySnippet(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	s := &shop{e2e: startE2E(t, catalogueEnv, Options{Now: time.Now, RateBurst: scripted}),
		budi: person(6001, "Budi", "en"), ani: person(6101, "Ani", "id")}
	s.say(t, s.budi, "/start")
	s.say(t, s.ani, "/start")
	s.say(t, s.budi, "/seller Batik Budi")
	s.say(t, s.budi, "/addproduct Selendang Sutra | 175.000 | 15 | https://tokoku.id/selendang")
	code := basketCode(t, s.say(t, s.ani, "/join 1"))
	m := s.say(t, s.budi, "/apikey")
	key := apiKey(t, m)
	i := strings.Index(m.PlainText, "KEY='")
	if i < 0 {
		t.Fatalf("no signed example in %q", m.PlainText)
	}
	snippet := strings.ReplaceAll(m.PlainText[i:], "AbCd1234", code)
	mustContain(t, snippet, "KEY='"+key+"'", "openssl dgst -sha256 -hmac", "X-Keranjang-Signature: sha256=$SIG", s.sb.baseURL())
	before := s.sent(s.ani.ID)
	out, err := exec.Command("bash", "-c", "set -e\n"+snippet).Output()
	if err != nil {
		t.Fatalf("the snippet failed: %v\n%s\n%s", err, snippet, out)
	}
	var r track.ConversionResult
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&r); err != nil || !r.Changed || r.OrderID != "INV-1001" ||
		r.Commission != 22500 {
		t.Fatalf("the snippet's answer %s (%v)", out, err)
	}
	mustContain(t, s.waitNew(t, s.ani.ID, before, 1)[0].PlainText, "Pesanan baru", "Selendang Sutra")
}

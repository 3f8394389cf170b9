package track

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

func TestAlertsAPI(t *testing.T) {
	var st *store.Store
	f := newFixture(t, func(c *Config) { c.Alerts = storeAlertsLater{&st} })
	st = f.st
	post := func(token, body string) (int, string) {
		t.Helper()
		h := map[string]string{"Content-Type": "application/json"}
		if token != "" {
			h["Authorization"] = "Bearer " + token
		}
		resp, b := f.do(t, req{method: http.MethodPost, path: "/api/v1/alerts", header: h, body: strings.NewReader(body)})
		return resp.StatusCode, string(b)
	}
	good := `{"title":"Aturan baru","body":"Pembayaran di dalam aplikasi dilarang.","url":"https://policy.example.com/a","audience":"affiliates"}`
	// Auth failures: no token, a seller's key, a wrong token.
	for _, token := range []string{"", f.keyA, "wrong"} {
		if code, body := post(token, good); code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
			t.Fatalf("token %q: %d %s", token, code, body)
		}
	}
	getJSON(t, f, "/api/v1/alerts/1", "", 401, nil)
	getJSON(t, f, "/api/v1/alerts/1", f.keyA, 401, nil)
	for _, tc := range []struct{ body, reason string }{
		{`{"title":"t","body":"b","audience":"all","extra":1}`, "unknown_field"},
		{`{"title":"t","title":"u","body":"b","audience":"all"}`, "duplicate_field"},
		{`{"title":"t","body":"b"}`, "missing_audience"},
		{`{"title":"t","body":"","audience":"all"}`, "missing_body"},
		{`{"title":"","body":"b","audience":"all"}`, "alert_title_empty"},
		{`{"title":"` + strings.Repeat("x", 201) + `","body":"b","audience":"all"}`, "alert_title_long"},
		{`{"title":"t","body":"` + strings.Repeat("x", 3001) + `","audience":"all"}`, "alert_body_long"},
		{`{"title":"t","body":"b","url":"http://policy.example.com","audience":"all"}`, "url_not_https"},
		{`{"title":"t","body":"b","audience":"everyone"}`, "invalid_audience"},
		{`{"title":1,"body":"b","audience":"all"}`, "invalid_title"},
		{`{"title":"t","body":"b","audience":"all"} {}`, "invalid_json"},
	} {
		if code, body := post(adminToken, tc.body); code != http.StatusBadRequest || !strings.Contains(body, tc.reason) {
			t.Fatalf("%s: %d %s, want 400 %s", tc.body, code, body, tc.reason)
		}
	}
	code, body := post(adminToken, good)
	if code != http.StatusAccepted {
		t.Fatalf("create: %d %s", code, body)
	}
	var created AlertCreated
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == 0 {
		t.Fatalf("create answer %s: %v", body, err)
	}
	a, err := f.st.GetAlert(t.Context(), created.ID)
	if err != nil || a.Audience != affiliate.AudienceAffiliates || a.Source != "api" || a.URL != "https://policy.example.com/a" {
		t.Fatalf("stored alert %+v %v", a, err)
	}
	if _, err := f.st.AdvanceFanout(t.Context(), a.ID, 0, 10, 2); err != nil {
		t.Fatal(err)
	}
	var status AlertStatus
	getJSON(t, f, "/api/v1/alerts/"+jsonID(created.ID), adminToken, 200, &status)
	if status.ID != created.ID || status.Skipped != 2 || status.Done || status.Title != "Aturan baru" {
		t.Fatalf("status %+v", status)
	}
	getJSON(t, f, "/api/v1/alerts/999", adminToken, 404, nil)
	getJSON(t, f, "/api/v1/alerts/x", adminToken, 404, nil)
}

// Without an admin token the alerts API does not exist.
func TestAlertsAPIOff(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AdminToken = "" })
	resp, _ := f.do(t, req{method: http.MethodPost, path: "/api/v1/alerts", body: strings.NewReader(`{}`)})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// storeAlertsLater is the alert service on the fixture's store, which exists only once the fixture is
// built; sending stores the alert (the fan-out is the scheduler's, tested there).
type storeAlertsLater struct{ st **store.Store }

func (s storeAlertsLater) SendAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error) {
	return (*s.st).CreateAlert(ctx, a)
}

func (s storeAlertsLater) GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error) {
	return (*s.st).GetAlert(ctx, id)
}

func (s storeAlertsLater) AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error) {
	return (*s.st).AlertCounts(ctx, id)
}

func jsonID(id uint64) string { b, _ := json.Marshal(id); return string(b) }

// FuzzDecodeAlert checks that any body is either refused as invalid or gives an alert within the limits.
func FuzzDecodeAlert(f *testing.F) {
	f.Add([]byte(`{"title":"Aturan","body":"Isi","audience":"all"}`))
	f.Add([]byte(`{"title":"T","body":"B","url":"https://x.example.com/a","audience":"sellers"}`))
	f.Add([]byte(`{"title":"\u0000","body":" ","audience":"ALL"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAlert(body)
		if err != nil {
			if affiliate.ErrorCode(err) != affiliate.EInvalid {
				t.Fatalf("error %v is not invalid input", err)
			}
			return
		}
		if n := len([]rune(a.Title)); n == 0 || n > affiliate.MaxAlertTitleLen || a.Body == "" ||
			len([]rune(a.Body)) > affiliate.MaxAlertBodyLen {
			t.Fatalf("alert out of limits: %+v", a)
		}
		if _, ok := affiliate.ParseAudience(string(a.Audience)); !ok {
			t.Fatalf("audience %q", a.Audience)
		}
	})
}

package track

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/syncbuf"
	"github.com/keranjang/keranjang/store"
)

const (
	browserUA  = "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	adminToken = "admin-secret-token"
	sellerA    = int64(1001)
	sellerB    = int64(1002)
	affX       = int64(2001)
	affY       = int64(2002)
)

// fixture is a real store in a temp dir with two sellers, one product each and two affiliates, and the
// real server listening on 127.0.0.1:0.
type fixture struct {
	st      *store.Store
	srv     *Server
	base    string
	now     time.Time
	keyA    string
	keyB    string
	linkAX  affiliate.Link // affiliate X on seller A's product
	linkAY  affiliate.Link // affiliate Y on seller A's product
	linkBX  affiliate.Link // affiliate X on seller B's product
	prodA   affiliate.Product
	client  *http.Client
	reg     *prometheus.Registry
	stopped bool
}

func newFixture(t testing.TB, mutate func(*Config)) *fixture {
	t.Helper()
	now := time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{Now: clock})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{st: st, now: now, reg: prometheus.NewRegistry()}
	for _, id := range []int64{sellerA, sellerB, affX, affY} {
		if _, _, err := st.RegisterUser(t.Context(), affiliate.User{ID: id, ChatID: id, FirstName: fmt.Sprintf("User%d", id), Lang: affiliate.LangID, TimeZone: "Asia/Jakarta"}); err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	for _, id := range []int64{sellerA, sellerB} {
		if _, err := st.ApplySeller(t.Context(), id, fmt.Sprintf("Shop%d", id)); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if _, _, err := st.DecideApplication(t.Context(), id, true, 1); err != nil {
			t.Fatalf("approve: %v", err)
		}
	}
	f.prodA, err = st.CreateProduct(t.Context(), affiliate.Product{SellerID: sellerA, Name: "Batik", Price: 150000, Rate: 1000, URL: "https://shop.example.com/p/batik?ref=abc&x=1"})
	if err != nil {
		t.Fatalf("product: %v", err)
	}
	prodB, err := st.CreateProduct(t.Context(), affiliate.Product{SellerID: sellerB, Name: "Kopi", Price: 50000, Rate: 500, URL: "https://kopi.example.com/item"})
	if err != nil {
		t.Fatalf("product: %v", err)
	}
	join := func(aff int64, p uint64) affiliate.Link {
		l, _, err := st.JoinProduct(t.Context(), aff, p)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		return l
	}
	f.linkAX, f.linkAY, f.linkBX = join(affX, f.prodA.ID), join(affY, f.prodA.ID), join(affX, prodB.ID)
	if f.keyA, err = st.APIKey(t.Context(), sellerA); err != nil {
		t.Fatalf("api key: %v", err)
	}
	if f.keyB, err = st.APIKey(t.Context(), sellerB); err != nil {
		t.Fatalf("api key: %v", err)
	}

	cfg := Config{
		Addr:          "127.0.0.1:0",
		AdminToken:    adminToken,
		Now:           clock,
		Logger:        zerolog.New(io.Discard),
		Registry:      f.reg,
		FlushInterval: 10 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	f.srv = New(cfg, st)
	if err := f.srv.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	f.base = "http://" + f.srv.Addr()
	f.client = &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() { f.shutdown(t) })
	return f
}

func (f *fixture) shutdown(t testing.TB) {
	t.Helper()
	if f.stopped {
		return
	}
	f.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

type req struct {
	method string
	path   string
	ua     string
	header map[string]string
	body   io.Reader
}

func (f *fixture) do(t testing.TB, r req) (*http.Response, []byte) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr, err := http.NewRequest(r.method, f.base+r.path, r.body)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	hr.Header.Set("User-Agent", r.ua)
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := f.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// waitRecorded waits until the click writer has stored n clicks and bot visits in total.
func (f *fixture) waitRecorded(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.Recorded() < n {
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d, want %d", f.srv.Recorded(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := f.srv.Recorded(); got != n {
		t.Fatalf("recorded %d, want %d", got, n)
	}
}

func (f *fixture) counts(t testing.TB, code string) affiliate.Counts {
	t.Helper()
	c, err := f.st.LinkCounts(t.Context(), code, time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("link counts: %v", err)
	}
	return c
}

func TestRedirect(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		link   affiliate.Link
		prefix string
		suffix string
	}{
		{"keeps query", f.linkAX, "https://shop.example.com/p/batik?ref=abc&x=1&kclid=", ""},
		{"adds a query", f.linkBX, "https://kopi.example.com/item?kclid=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := f.do(t, req{path: "/r/" + tt.link.Code, ua: browserUA})
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want 302", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, tt.prefix) || !strings.HasSuffix(loc, tt.suffix) {
				t.Fatalf("Location %q, want %q…%q", loc, tt.prefix, tt.suffix)
			}
			id := strings.TrimSuffix(strings.TrimPrefix(loc, tt.prefix), tt.suffix)
			if len(id) != ClickIDLen {
				t.Fatalf("click id %q", id)
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Query()["kclid"]; len(got) != 1 || got[0] != id {
				t.Fatalf("kclid %v", got)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q", cc)
			}
			if rp := resp.Header.Get("Referrer-Policy"); rp == "" {
				t.Fatal("no Referrer-Policy")
			}
		})
	}
	f.waitRecorded(t, 2)
	// The click id in Location is the one stored.
	if c := f.counts(t, f.linkAX.Code); c.Clicks != 1 || c.UniqueClicks != 1 || c.BotVisits != 0 {
		t.Fatalf("counts %+v", c)
	}
}

func TestRedirectStoresClickID(t *testing.T) {
	f := newFixture(t, nil)
	resp, _ := f.do(t, req{path: "/r/" + f.linkAY.Code, ua: browserUA})
	u, _ := url.Parse(resp.Header.Get("Location"))
	id := u.Query().Get("kclid")
	if len(id) != ClickIDLen || id[:clickIDTimeLen] != newClickID(f.now)[:clickIDTimeLen] {
		t.Fatalf("click id %q does not start with the click's time", id)
	}
	f.waitRecorded(t, 1)
	c, err := f.st.GetClick(t.Context(), id)
	if err != nil {
		t.Fatalf("get click %q: %v", id, err)
	}
	want := affiliate.Click{ID: id, Code: f.linkAY.Code, ProductID: f.prodA.ID, AffiliateID: affY, SellerID: sellerA, At: f.now, Unique: true}
	c.Visitor = 0
	if !c.At.Equal(want.At) {
		t.Fatalf("click at %v, want %v", c.At, want.At)
	}
	c.At = want.At
	if c != want {
		t.Fatalf("click %+v, want %+v", c, want)
	}
}

func TestRedirectNotFound(t *testing.T) {
	f := newFixture(t, nil)
	paths := []string{"/r/ZZZZZZZZ", "/r/short", "/r/toolong123", "/r/abc-defg", "/r/%E2%9C%93abcdefg", "/r/" + strings.Repeat("a", 500)}
	for _, p := range paths {
		resp, body := f.do(t, req{path: p, ua: browserUA})
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", p, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: content type %q", p, ct)
		}
		if !strings.Contains(string(body), "Tautan tidak ditemukan") || !strings.Contains(string(body), "Link not found") {
			t.Fatalf("%s: body %s", p, body)
		}
	}
	f.shutdown(t)
	st, err := f.st.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Orphans != int64(len(paths)) || st.Clicks != 0 {
		t.Fatalf("stats %+v, want %d orphans", st, len(paths))
	}
}

func TestBotVisits(t *testing.T) {
	f := newFixture(t, nil)
	visits := []req{
		{method: http.MethodHead, ua: browserUA},
		{ua: ""},
		{ua: "TelegramBot (like TwitterBot)"},
		{ua: "WhatsApp/2.23.20.0"},
		{ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"},
		{ua: "Twitterbot/1.0"},
		{ua: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
		{ua: "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"},
		{ua: "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"},
		{ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
		{ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"},
	}
	for _, v := range visits {
		v.path = "/r/" + f.linkAX.Code
		resp, _ := f.do(t, v)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") == "" {
			t.Fatalf("%s %q: status %d", v.method, v.ua, resp.StatusCode)
		}
	}
	f.waitRecorded(t, int64(len(visits)))
	if c := f.counts(t, f.linkAX.Code); c != (affiliate.Counts{BotVisits: int64(len(visits))}) {
		t.Fatalf("counts %+v, want only %d bot visits", c, len(visits))
	}
	var stats LinkStats
	getJSON(t, f, "/api/v1/links/"+f.linkAX.Code+"/stats", f.keyA, http.StatusOK, &stats)
	if stats.Clicks != 0 || stats.BotVisits != int64(len(visits)) {
		t.Fatalf("stats %+v", stats)
	}
}

func TestUniqueClicks(t *testing.T) {
	f := newFixture(t, nil)
	// The test client always connects from 127.0.0.1, so visitors differ by user agent here; addresses
	// are covered by TestForwardedFor.
	uas := []string{browserUA, browserUA, browserUA, browserUA + " v2", browserUA + " v2", "curl/8.5.0"}
	for _, ua := range uas {
		if resp, _ := f.do(t, req{path: "/r/" + f.linkAY.Code, ua: ua}); resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	f.waitRecorded(t, int64(len(uas)))
	if c := f.counts(t, f.linkAY.Code); c != (affiliate.Counts{Clicks: 6, UniqueClicks: 3}) {
		t.Fatalf("counts %+v, want 6 clicks, 3 unique", c)
	}
}

func TestForwardedFor(t *testing.T) {
	tests := []struct {
		name       string
		trusted    []netip.Prefix
		xff        []string
		wantUnique int64
	}{
		{"untrusted peer: header ignored", nil, []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}, 1},
		{"other proxy trusted: header ignored", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []string{"198.51.100.1", "198.51.100.2"}, 1},
		{"trusted proxy: one visitor per address", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.1"}, 3},
		{"trusted proxy: spoofed left part ignored", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []string{"1.1.1.1, 198.51.100.1", "2.2.2.2, 198.51.100.1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.TrustedProxies = tt.trusted })
			for _, x := range tt.xff {
				f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA, header: map[string]string{"X-Forwarded-For": x}})
			}
			f.waitRecorded(t, int64(len(tt.xff)))
			if c := f.counts(t, f.linkAX.Code); c.Clicks != int64(len(tt.xff)) || c.UniqueClicks != tt.wantUnique {
				t.Fatalf("counts %+v, want %d unique", c, tt.wantUnique)
			}
		})
	}
}

func getJSON(t testing.TB, f *fixture, path, token string, wantStatus int, v any) {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	resp, body := f.do(t, req{path: path, header: h})
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, wantStatus, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

func TestSellerAPIs(t *testing.T) {
	f := newFixture(t, nil)
	// X clicks A's link twice, Y once with another browser, a bot once; X clicks B's link once.
	for _, v := range []struct {
		code, ua string
	}{
		{f.linkAX.Code, browserUA}, {f.linkAX.Code, browserUA}, {f.linkAY.Code, browserUA + " Y"},
		{f.linkAX.Code, "Twitterbot/1.0"}, {f.linkBX.Code, browserUA},
	} {
		f.do(t, req{path: "/r/" + v.code, ua: v.ua})
	}
	f.waitRecorded(t, 5)

	t.Run("link stats", func(t *testing.T) {
		tests := []struct {
			name   string
			code   string
			token  string
			status int
			want   LinkStats
		}{
			{"owner", f.linkAX.Code, f.keyA, 200, LinkStats{LinkCode: f.linkAX.Code, Clicks: 2, UniqueClicks: 1, BotVisits: 1}},
			{"admin", f.linkAX.Code, adminToken, 200, LinkStats{LinkCode: f.linkAX.Code, Clicks: 2, UniqueClicks: 1, BotVisits: 1}},
			{"owner B", f.linkBX.Code, f.keyB, 200, LinkStats{LinkCode: f.linkBX.Code, Clicks: 1, UniqueClicks: 1}},
			{"other seller", f.linkAX.Code, f.keyB, 404, LinkStats{}},
			{"unknown link", "ZZZZZZZZ", f.keyA, 404, LinkStats{}},
			{"malformed link", "zz", f.keyA, 404, LinkStats{}},
			{"no token", f.linkAX.Code, "", 401, LinkStats{}},
			{"bad token", f.linkAX.Code, "ksk_" + strings.Repeat("x", 32), 401, LinkStats{}},
			{"admin token with junk", f.linkAX.Code, adminToken + "x", 401, LinkStats{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got LinkStats
				var e errorBody
				if tt.status == 200 {
					getJSON(t, f, "/api/v1/links/"+tt.code+"/stats", tt.token, 200, &got)
					if got != tt.want {
						t.Fatalf("stats %+v, want %+v", got, tt.want)
					}
					return
				}
				getJSON(t, f, "/api/v1/links/"+tt.code+"/stats", tt.token, tt.status, &e)
				if e.Error == "" {
					t.Fatal("no error message")
				}
			})
		}
	})

	t.Run("affiliate report", func(t *testing.T) {
		var rep AffiliateReport
		getJSON(t, f, "/api/v1/affiliates?from=2024-03-10&to=2024-03-10", f.keyA, 200, &rep)
		if rep.From != "2024-03-10" || rep.To != "2024-03-10" || rep.TimeZone != "Asia/Jakarta" {
			t.Fatalf("report header %+v", rep)
		}
		want := []AffiliateReportRow{
			{AffiliateID: affX, AffiliateName: "User2001", ProductID: f.prodA.ID, ProductName: "Batik", LinkCode: f.linkAX.Code, Clicks: 2, UniqueClicks: 1},
			{AffiliateID: affY, AffiliateName: "User2002", ProductID: f.prodA.ID, ProductName: "Batik", LinkCode: f.linkAY.Code, Clicks: 1, UniqueClicks: 1},
		}
		if fmt.Sprint(rep.Affiliates) != fmt.Sprint(want) {
			t.Fatalf("rows %+v, want %+v", rep.Affiliates, want)
		}
		// The default period (the last 30 days) includes today.
		getJSON(t, f, "/api/v1/affiliates", f.keyA, 200, &rep)
		if len(rep.Affiliates) != 2 || rep.To != "2024-03-10" || rep.From != "2024-02-10" {
			t.Fatalf("default report %+v", rep)
		}
		// Another day has no activity (the store may still list the seller's affiliates, with zeros).
		getJSON(t, f, "/api/v1/affiliates?from=2024-03-11&to=2024-03-12", f.keyA, 200, &rep)
		for _, row := range rep.Affiliates {
			if row.Clicks != 0 || row.UniqueClicks != 0 {
				t.Fatalf("activity on another day: %+v", rep.Affiliates)
			}
		}
		// Seller B sees only their own product.
		getJSON(t, f, "/api/v1/affiliates?from=2024-03-10&to=2024-03-10", f.keyB, 200, &rep)
		if len(rep.Affiliates) != 1 || rep.Affiliates[0].LinkCode != f.linkBX.Code {
			t.Fatalf("seller B rows %+v", rep.Affiliates)
		}
	})

	t.Run("affiliate report errors", func(t *testing.T) {
		tests := []struct {
			query, token string
			status       int
		}{
			{"", "", 401},
			{"", "nonsense", 401},
			{"", adminToken, 401}, // the report is per seller; the admin token is not a seller key
			{"?from=2024-13-01", f.keyA, 400},
			{"?to=10-03-2024", f.keyA, 400},
			{"?from=2024-03-11&to=2024-03-10", f.keyA, 400},
			{"?from=2023-01-01&to=2024-03-10", f.keyA, 400},
		}
		for _, tt := range tests {
			var e errorBody
			getJSON(t, f, "/api/v1/affiliates"+tt.query, tt.token, tt.status, &e)
			if e.Error == "" {
				t.Fatalf("%s: no error message", tt.query)
			}
		}
	})
}

func TestSellerWithoutProducts(t *testing.T) {
	f := newFixture(t, nil)
	if _, _, err := f.st.RegisterUser(t.Context(), affiliate.User{ID: 1003, FirstName: "C"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ApplySeller(t.Context(), 1003, "ShopC"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.DecideApplication(t.Context(), 1003, true, 1); err != nil {
		t.Fatal(err)
	}
	key, err := f.st.APIKey(t.Context(), 1003)
	if err != nil {
		t.Fatal(err)
	}
	f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA})
	f.waitRecorded(t, 1)
	var rep AffiliateReport
	getJSON(t, f, "/api/v1/affiliates", key, 200, &rep)
	if rep.Affiliates == nil || len(rep.Affiliates) != 0 {
		t.Fatalf("report %+v, want an empty list", rep)
	}
}

func TestBodyLimit(t *testing.T) {
	var webhookErr atomic.Value
	webhook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err != nil {
			webhookErr.Store(err)
			writeError(w, zerolog.Nop(), err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	f := newFixture(t, func(c *Config) { c.Webhook = webhook })
	big := strings.Repeat("x", MaxBodyBytes+1)
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		status int
	}{
		{"webhook small", http.MethodPost, "/telegram/webhook", strings.NewReader(`{"update_id":1}`), 200},
		{"webhook with length", http.MethodPost, "/telegram/webhook", strings.NewReader(big), 413},
		{"webhook chunked", http.MethodPost, "/telegram/webhook", io.MultiReader(strings.NewReader(big)), 413},
		{"any route", http.MethodGet, "/healthz", strings.NewReader(big), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, req{method: tt.method, path: tt.path, body: tt.body})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 413 && strings.TrimSpace(string(body)) != `{"error":"request_too_large"}` {
				t.Fatalf("body %s", body)
			}
		})
	}
}

func TestHealthAndReady(t *testing.T) {
	var notReady atomic.Bool
	f := newFixture(t, func(c *Config) {
		c.Ready = func() error {
			if notReady.Load() {
				return fmt.Errorf("bot not started")
			}
			return nil
		}
	})
	getJSON(t, f, "/healthz", "", 200, nil)
	getJSON(t, f, "/readyz", "", 200, nil)
	notReady.Store(true)
	var e errorBody
	getJSON(t, f, "/readyz", "", 503, &e)
	if e.Error != "not_ready" {
		t.Fatalf("error %q", e.Error)
	}
	getJSON(t, f, "/healthz", "", 200, nil)
	getJSON(t, f, "/no/such/route", "", 404, &e)
}

func TestBackup(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.AdminToken = "" })
		getJSON(t, f, "/admin/backup", "", 404, nil)
		getJSON(t, f, "/admin/backup", adminToken, 404, nil)
	})
	t.Run("named for the backend", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.BackupExt = ".dump.gz" })
		resp, _ := f.do(t, req{path: "/admin/backup", header: map[string]string{"Authorization": "Bearer " + adminToken}})
		if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 || !strings.Contains(cd, `filename="keranjang-20240310T050000Z.dump.gz"`) {
			t.Fatalf("status %d, Content-Disposition %q", resp.StatusCode, cd)
		}
	})
	t.Run("enabled", func(t *testing.T) {
		f := newFixture(t, nil)
		getJSON(t, f, "/admin/backup", "", 401, nil)
		getJSON(t, f, "/admin/backup", f.keyA, 401, nil)
		resp, body := f.do(t, req{path: "/admin/backup", header: map[string]string{"Authorization": "Bearer " + adminToken}})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="keranjang-20240310T050000Z.db"`) {
			t.Fatalf("Content-Disposition %q", cd)
		}
		if len(body) < 4096 {
			t.Fatalf("backup of %d bytes", len(body))
		}
		// The copy is a working database.
		path := filepath.Join(t.TempDir(), "copy.db")
		if err := writeFile(path, body); err != nil {
			t.Fatal(err)
		}
		cp, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("open backup: %v", err)
		}
		defer cp.Close()
		if _, err := cp.GetLink(t.Context(), f.linkAX.Code); err != nil {
			t.Fatalf("backup lacks the link: %v", err)
		}
	})
}

func TestShutdownFlushesAllClicks(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.FlushInterval = 100 * time.Millisecond })
	const workers, each = 16, 150
	var found atomic.Int64
	var wg sync.WaitGroup
	codes := []string{f.linkAX.Code, f.linkAY.Code, f.linkBX.Code}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ua := browserUA
				if i%10 == 0 {
					ua = "Googlebot/2.1"
				}
				hr, _ := http.NewRequest(http.MethodGet, f.base+"/r/"+codes[(w+i)%len(codes)], nil)
				hr.Header.Set("User-Agent", ua)
				resp, err := f.client.Do(hr)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusFound {
					found.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	f.shutdown(t)
	var total affiliate.Counts
	for _, c := range codes {
		total.Add(f.counts(t, c))
	}
	if got := total.Clicks + total.BotVisits; got != found.Load() || got != workers*each {
		t.Fatalf("recorded %d (%+v), answered %d 302s", got, total, found.Load())
	}
	if f.srv.Dropped() != 0 {
		t.Fatalf("dropped %d", f.srv.Dropped())
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	ms := NewMetricsServer("127.0.0.1:0", f.reg, zerolog.Nop())
	if err := ms.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer ms.Shutdown(context.Background())
	f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA})
	f.do(t, req{path: "/r/" + f.linkAX.Code, ua: "Twitterbot/1.0"})
	f.do(t, req{path: "/r/nothere1", ua: browserUA})
	f.do(t, req{path: "/healthz"})
	f.waitRecorded(t, 2)

	if resp, _ := f.do(t, req{path: "/metrics"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the public listener answers /metrics with %d, want 404", resp.StatusCode)
	}
	resp, err := f.client.Get("http://" + ms.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the metrics listener answers %d", resp.StatusCode)
	}
	for _, want := range []string{
		`keranjang_redirects_total{result="tracked"} 1`,
		`keranjang_redirects_total{result="bot"} 1`,
		`keranjang_redirects_total{result="orphan"} 1`,
		`keranjang_clicks_dropped_total 0`,
		`keranjang_click_batch_size_count`,
		`keranjang_click_flush_seconds_bucket`,
		`keranjang_http_requests_total{code="302",route="GET /r/{code}"} 2`,
		`keranjang_http_requests_total{code="404",route="GET /r/{code}"} 1`,
		`keranjang_http_requests_total{code="200",route="GET /healthz"} 1`,
		`keranjang_http_requests_total{code="503",route="GET /readyz"} 0`,
		`keranjang_http_requests_total{code="404",route="/"} 1`,
		`keranjang_http_request_duration_seconds_bucket{route="GET /r/{code}"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Only series for what a route can answer exist.
	for _, never := range []string{
		`{code="302",route="GET /healthz"}`,
		`{code="409",route="GET /r/{code}"}`,
		`{code="500",route="GET /healthz"}`,
		`route="GET /metrics"`,
	} {
		if strings.Contains(string(body), never) {
			t.Errorf("metrics have the impossible series %s", never)
		}
	}
	if resp, err := f.client.Get("http://" + ms.Addr() + "/r/" + f.linkAX.Code); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the metrics listener must serve only /metrics: %v %v", resp, err)
	}
}

// TestRequestID checks that every answer but a basket-link redirect carries an X-Request-Id, that the
// access log line and the request's context logger carry the same id, and that a redirect's access line
// still names one; a sane id from a proxy is kept.
func TestRequestID(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFixture(t, func(c *Config) { c.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel) })
	resp, _ := f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA})
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		t.Fatalf("a basket-link redirect carries X-Request-Id %q", id)
	}
	if !regexp.MustCompile(`"request_id":"[0-9a-f]{12}"[^\n]*"route":"GET /r/\{code\}"`).MatchString(logs.String()) {
		t.Fatalf("the redirect's access line lacks a request_id:\n%s", logs.String())
	}
	seen := make(map[string]bool)
	for _, path := range []string{"/healthz", "/nowhere"} {
		resp, _ := f.do(t, req{path: path, ua: browserUA})
		id := resp.Header.Get("X-Request-Id")
		if len(id) != 12 || seen[id] {
			t.Fatalf("%s: request id %q", path, id)
		}
		seen[id] = true
		if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("%s: the access log lacks request_id %s:\n%s", path, id, logs.String())
		}
	}
	resp, _ = f.do(t, req{path: "/healthz", header: map[string]string{"X-Request-Id": "lb-42.abc"}})
	if got := resp.Header.Get("X-Request-Id"); got != "lb-42.abc" {
		t.Fatalf("a proxy's id was replaced by %q", got)
	}
	resp, _ = f.do(t, req{path: "/healthz", header: map[string]string{"X-Request-Id": "bad id\"<x>"}})
	if got := resp.Header.Get("X-Request-Id"); len(got) != 12 {
		t.Fatalf("an unsafe id was kept: %q", got)
	}
	if strings.Contains(logs.String(), `"duration"`) || !strings.Contains(logs.String(), `"duration_ms"`) {
		t.Fatalf("the access log must say the unit of its duration:\n%s", logs.String())
	}
}

// TestRequestLoggerInContext checks that API handlers find the request's logger, with its id, in the
// request's context.
func TestRequestLoggerInContext(t *testing.T) {
	var logs syncbuf.Buffer
	s := &Server{log: zerolog.New(&logs)}
	h := s.requestID(withRequestLogger(s.log, func(w http.ResponseWriter, r *http.Request) {
		zerolog.Ctx(r.Context()).Info().Msg("inside")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/affiliates", nil))
	id := w.Header().Get("X-Request-Id")
	if id == "" || !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Fatalf("context logger lacks the request id %q: %s", id, logs.String())
	}
}

func TestBufferFullDrops(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BufferSize = 1 })
	// Stop the writer's intake: fill the one slot, then count the overflow. The writer may take the
	// first click out at any time, so only "no redirect fails" and "answered = recorded + dropped" hold.
	const n = 50
	for i := 0; i < n; i++ {
		if resp, _ := f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA}); resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	f.shutdown(t)
	if got := f.srv.Recorded() + f.srv.Dropped(); got != n {
		t.Fatalf("recorded %d + dropped %d != %d", f.srv.Recorded(), f.srv.Dropped(), n)
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// TestShutdownCutsOffSlowRequests: a request that outlives the shutdown budget (a stuck webhook call, a
// long backup download) is cut off early enough that the buffered clicks are still written.
func TestShutdownCutsOffSlowRequests(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	f := newFixture(t, func(c *Config) {
		c.FlushInterval = 100 * time.Millisecond
		c.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			select {
			case <-release:
			case <-time.After(time.Minute):
			}
		})
	})
	const clicks = 20
	for i := 0; i < clicks; i++ {
		resp, _ := f.do(t, req{path: "/r/" + f.linkAX.Code, ua: browserUA})
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	go func() {
		resp, err := http.Post(f.base+"/telegram/webhook", "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	f.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	if err == nil {
		t.Fatal("shutdown with a stuck request should report that it cut it off")
	}
	select {
	case <-f.srv.buf.done:
	default:
		t.Fatal("Shutdown returned while the click writer was still running: the stuck request used the whole budget")
	}
	if c := f.counts(t, f.linkAX.Code); c.Clicks != clicks {
		t.Fatalf("clicks written %d, want %d (the stuck request must not eat the flush)", c.Clicks, clicks)
	}
}

package track

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// readUAs reads a corpus of user agents from testdata: one a line, without blank lines and # comments.
func readUAs(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var uas []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if line != "" && !strings.HasPrefix(line, "#") {
			uas = append(uas, line)
		}
	}
	if len(uas) < 20 {
		t.Fatalf("%s has only %d user agents", name, len(uas))
	}
	return uas
}

func TestIsBotCorpus(t *testing.T) {
	for _, ua := range readUAs(t, "ua_bots.txt") {
		if !isBot(ua) {
			t.Errorf("isBot(%q) = false, want a bot", ua)
		}
	}
	for _, ua := range readUAs(t, "ua_humans.txt") {
		if isBot(ua) {
			t.Errorf("isBot(%q) = true, want a person", ua)
		}
	}
}

func TestIsBot(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{"", true},
		// Case does not matter.
		{"GOOGLEBOT", true},
		{"OkHttp/3.12.1", true},
		// A token far into a long user agent is still found.
		{strings.Repeat("x", 5000) + " Googlebot/2.1", true},
		// Anchored tokens: only at the start ("^Silk/") or the end ("SSL Labs$").
		{"Silk/1.0", true},
		{"Mozilla/5.0 (Linux; Android 9; KFTRWI) Silk/124.2.1 like Chrome/124.0 Safari/537.36", false},
		{"BW/1.1; bit.ly/3eZNDnO", true},
		{"Mozilla/5.0 (X11) CBW/1.0", false},
		{"SSL Labs", true},
		{"SSL Labs x", false},
		{"sentry/24.1.0 (https://sentry.io)", true},
		{"x sentry/24.1.0", true},
		{"xsentry/24.1.0", false},
		// The CUBOT phone brand hides "bot" only inside itself.
		{"CUBOT X30", false},
		{"cUbOt", false},
		{"CUBOT X30 bot", true},
		{"cubotbot", true},
		{"Cubo", false},
		{"robot", true},
	}
	for _, tt := range tests {
		if got := isBot(tt.ua); got != tt.want {
			t.Errorf("isBot(%q) = %v, want %v", tt.ua, got, tt.want)
		}
	}
}

// TestIsBotUpstreamSamples checks every sample user agent of the vendored crawler-user-agents list, except
// those of the patterns botgen leaves out on purpose (they are listed at the end of bots_gen.go).
func TestIsBotUpstreamSamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("botdata", "crawler-user-agents.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		Pattern   string   `json:"pattern"`
		Instances []string `json:"instances"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	gen, err := os.ReadFile("bots_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	_, leftOut, _ := strings.Cut(string(gen), "Upstream patterns left out:")
	n := 0
	for _, e := range entries {
		if strings.Contains(leftOut, strconv.Quote(e.Pattern)+":") {
			continue
		}
		for _, ua := range e.Instances {
			n++
			if !isBot(ua) {
				t.Errorf("pattern %q: isBot(%q) = false", e.Pattern, ua)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d upstream samples checked", n)
	}
	t.Logf("%d samples of %s are bots", n, botSource)
}

// benchUAs are user agents for the benchmarks and the allocation test.
var benchUAs = struct{ browser, inApp, crawler, long string }{
	browser: "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	inApp:   "Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/110.0.5481.153 Mobile Safari/537.36 trill_290203 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/29.2.3 ByteLocale/id-ID ByteFullLocale/id-ID Region/ID AppId/1180 Spark/1.2.7.3-bugfix AppVersion/29.2.3 BytedanceWebview/d8a21c6",
	crawler: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	long:    strings.Repeat("Mozilla/5.0 (Linux; Android 13; SM-A536E) ", 50),
}

func TestIsBotAllocations(t *testing.T) {
	for _, ua := range []string{benchUAs.browser, benchUAs.inApp, benchUAs.crawler, benchUAs.long, "CUBOT X30 bot"} {
		if n := testing.AllocsPerRun(100, func() { isBot(ua) }); n != 0 {
			t.Fatalf("isBot(%.40q…) allocates %v times", ua, n)
		}
	}
}

// TestIsBotCacheFlood asks for many distinct user agents from several goroutines at once, each often
// enough to hit, evict and refill cache slots, and checks every answer against the matcher (run with
// -race for the cache's memory ordering).
func TestIsBotCacheFlood(t *testing.T) {
	uas := make([]string, 3*botCacheSize)
	for i := range uas {
		switch i % 3 {
		case 0:
			uas[i] = fmt.Sprintf("Mozilla/5.0 (Linux; Android %d; SM-A%d) Chrome/%d.0 Mobile", i%14, i, i)
		case 1:
			uas[i] = fmt.Sprintf("Mozilla/5.0 (compatible; Googlebot/%d.1)", i)
		default:
			uas[i] = fmt.Sprintf("CUBOT X%d Build/%d", i, i) // an exception that contains a token
		}
	}
	uas = append(uas, benchUAs.long, benchUAs.long+"Spider")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20000 {
				ua := uas[rng.IntN(len(uas))]
				if rng.IntN(4) == 0 {
					ua = uas[rng.IntN(8)] // a few hot ones
				}
				if got, want := isBot(ua), botMatcher().match(ua); got != want {
					t.Errorf("isBot(%q) = %v, want %v", ua, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkIsBotUncached is the matcher alone on the mobile Chrome user agent, as on a cache miss.
func BenchmarkIsBotUncached(b *testing.B) {
	ua := benchUAs.browser
	m := botMatcher()
	b.ReportAllocs()
	for b.Loop() {
		m.match(ua)
	}
}

// BenchmarkIsBot is a mobile Chrome user agent, the common case: a person, answered from the cache.
func BenchmarkIsBot(b *testing.B) {
	ua := benchUAs.browser
	b.ReportAllocs()
	for b.Loop() {
		isBot(ua)
	}
}

// BenchmarkIsBotInApp is the long user agent of TikTok's in-app browser.
func BenchmarkIsBotInApp(b *testing.B) {
	ua := benchUAs.inApp
	b.ReportAllocs()
	b.SetBytes(int64(len(ua)))
	for b.Loop() {
		isBot(ua)
	}
}

// BenchmarkIsBotCrawler is Googlebot's smartphone user agent, whose token comes near the end.
func BenchmarkIsBotCrawler(b *testing.B) {
	ua := benchUAs.crawler
	b.ReportAllocs()
	for b.Loop() {
		isBot(ua)
	}
}

// BenchmarkIsBotLong is a 2 KB user agent without a token.
func BenchmarkIsBotLong(b *testing.B) {
	ua := benchUAs.long
	b.ReportAllocs()
	b.SetBytes(int64(len(ua)))
	for b.Loop() {
		isBot(ua)
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"peer only", "203.0.113.7:5555", nil, proxies, "203.0.113.7"},
		{"untrusted peer ignores xff", "203.0.113.7:5555", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"no proxies configured", "10.0.0.2:5555", []string{"198.51.100.1"}, nil, "10.0.0.2"},
		{"trusted peer", "10.0.0.2:5555", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"right-most untrusted", "10.0.0.2:5555", []string{"1.1.1.1, 198.51.100.1, 10.0.0.9"}, proxies, "198.51.100.1"},
		{"several headers", "10.0.0.2:5555", []string{"1.1.1.1", "198.51.100.1"}, proxies, "198.51.100.1"},
		{"spoofed left part ignored", "10.0.0.2:5555", []string{"6.6.6.6,198.51.100.1"}, proxies, "198.51.100.1"},
		{"garbage stops at last good hop", "10.0.0.2:5555", []string{"nonsense, 10.0.0.9"}, proxies, "10.0.0.9"},
		{"all trusted", "10.0.0.2:5555", []string{"10.1.1.1"}, proxies, "10.1.1.1"},
		{"ipv6 peer", "[::1]:5555", []string{"2001:db8::1"}, proxies, "2001:db8::1"},
		{"mapped v4", "[::ffff:203.0.113.7]:1", nil, proxies, "203.0.113.7"},
		{"empty xff", "10.0.0.2:5555", []string{""}, proxies, "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/r/abc", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, tt.trusted).String(); got != tt.want {
				t.Fatalf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClickID(t *testing.T) {
	seen := map[string]bool{}
	counts := map[byte]int{}
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		id := newClickID(at)
		if len(id) != ClickIDLen {
			t.Fatalf("id %q has length %d", id, len(id))
		}
		for j := 0; j < len(id); j++ {
			if !strings.ContainsRune(affiliate.Alphabet, rune(id[j])) {
				t.Fatalf("id %q has a character outside the alphabet", id)
			}
			if j >= clickIDTimeLen {
				counts[id[j]]++
			}
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	// 180000 random characters over 62 symbols: about 2903 each; a biased generator would be far off.
	for c, n := range counts {
		if n < 2500 || n > 3300 {
			t.Errorf("character %q appears %d times", c, n)
		}
	}
	if len(counts) != len(affiliate.Alphabet) {
		t.Errorf("%d distinct characters, want %d", len(counts), len(affiliate.Alphabet))
	}
}

func TestClickIDTimeOrder(t *testing.T) {
	prefix := func(at time.Time) string { return newClickID(at)[:clickIDTimeLen] }
	// The prefix is affiliate.PutClickTime's (its table test lives there); here: newClickID uses it.
	for _, at := range []time.Time{time.Unix(0, 0), time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)} {
		var want [clickIDTimeLen]byte
		affiliate.PutClickTime(want[:], at)
		if got := prefix(at); got != string(want[:]) {
			t.Errorf("prefix(%v) = %q, want %q", at, got, want)
		}
	}
	// Byte order of ids is time order at millisecond resolution, over the whole range and around today.
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC).UnixMilli()
	for range 20000 {
		var a, b int64
		if rng.IntN(2) == 0 {
			a, b = rng.Int64N(maxClickMilli+1), rng.Int64N(maxClickMilli+1)
		} else {
			a, b = now+rng.Int64N(1e6), now+rng.Int64N(1e6)
		}
		ia, ib := newClickID(time.UnixMilli(a)), newClickID(time.UnixMilli(b))
		if (a < b) != (ia < ib) && a != b {
			t.Fatalf("ids %q (%d ms) and %q (%d ms) sort against their times", ia, a, ib, b)
		}
		if a == b && ia[:clickIDTimeLen] != ib[:clickIDTimeLen] {
			t.Fatalf("same millisecond, prefixes %q and %q", ia, ib)
		}
	}
}

func TestRedirectToAllocations(t *testing.T) {
	s := &Server{}
	target := affiliate.Target{Code: "AAAAAAAA", URL: "https://shop.example.com/p/1?ref=abc"}
	var id [ClickIDLen]byte
	copy(id[:], "0123456789abcdef")
	loc, clickID := s.redirectTo(target, &id)
	if loc != "https://shop.example.com/p/1?ref=abc&kclid=0123456789abcdef" || clickID != "0123456789abcdef" {
		t.Fatalf("redirectTo = %q, %q", loc, clickID)
	}
	if n := testing.AllocsPerRun(100, func() { s.redirectTo(target, &id) }); n != 1 {
		t.Fatalf("redirectTo allocates %v times, want 1", n)
	}
}

func TestVisitorHash(t *testing.T) {
	a := newVisitorHasher([]byte("salt-a"))
	b := newVisitorHasher([]byte("salt-b"))
	ip1, ip2 := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("203.0.113.8")
	if again := newVisitorHasher([]byte("salt-a")); a.hash(ip1, "ua") != again.hash(ip1, "ua") {
		t.Fatal("the same salt must give the same hash (visitors stay the same across restarts)")
	}
	if a.hash(ip1, "ua") == a.hash(ip2, "ua") || a.hash(ip1, "ua") == a.hash(ip1, "ub") {
		t.Fatal("different visitors hash the same")
	}
	if a.hash(ip1, "ua") == b.hash(ip1, "ua") {
		t.Fatal("salt does not change the hash")
	}
	// sync.Pool drops items at random under the race detector, so allocations are only checked without it.
	if n := testing.AllocsPerRun(100, func() { a.hash(ip1, "Mozilla/5.0") }); n != 0 && !raceEnabled {
		t.Fatalf("hash allocates %v times", n)
	}
}

// location is redirectTo for a click id of any length.
func (s *Server) location(t affiliate.Target, id string) string {
	if lt := s.template(t); lt.ok {
		return lt.prefix + id + lt.suffix
	}
	return affiliate.ClickURL(t.URL, id)
}

func TestLocationTemplate(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"https://shop.example.com/p/1", "https://shop.example.com/p/1?kclid=ID"},
		{"https://shop.example.com/p/1?ref=abc&x=1", "https://shop.example.com/p/1?ref=abc&x=1&kclid=ID"},
		{"https://shop.example.com/p/1?ref=abc#top", "https://shop.example.com/p/1?ref=abc&kclid=ID#top"},
		{"https://shop.example.com/p/1?kclid=old&ref=abc", "https://shop.example.com/p/1?ref=abc&kclid=ID"},
		{"https://shop.example.com/p/1?a=1&KCLID=x&kclid=y", "https://shop.example.com/p/1?a=1&KCLID=x&kclid=ID"},
		{"https://shop.example.com/p/%C3%A9?q=a+b", "https://shop.example.com/p/%C3%A9?q=a+b&kclid=ID"},
	}
	s := &Server{}
	for _, tt := range tests {
		got := s.location(affiliate.Target{Code: "AAAAAAAA", URL: tt.url}, "ID")
		if got != tt.want {
			t.Errorf("location(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
	// A changed product URL replaces the cached template.
	if got := s.location(affiliate.Target{Code: "AAAAAAAA", URL: "https://other.example.com/"}, "ID"); got != "https://other.example.com/?kclid=ID" {
		t.Errorf("after edit: %q", got)
	}
}

func TestHTTPError(t *testing.T) {
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{affiliate.Errorf(affiliate.EInvalid, "bad_thing"), 400, "bad_thing"},
		{errUnauthorized, 401, "unauthorized"},
		{affiliate.Errorf(affiliate.EForbidden, "role"), 403, "role"},
		{affiliate.ErrLinkNotFound, 404, "link_not_found"},
		{affiliate.ErrProductPaused, 409, "product_paused"},
		{affiliate.Errorf(affiliate.EInternal, "db_secret_detail"), 500, "internal_error"},
		{http.ErrBodyNotAllowed, 500, "internal_error"},
		{&http.MaxBytesError{Limit: 1}, 413, "request_too_large"},
		{errNotReady, 503, "not_ready"},
	}
	for _, tt := range tests {
		status, msg := httpError(tt.err)
		if status != tt.status || msg != tt.msg {
			t.Errorf("httpError(%v) = %d %q, want %d %q", tt.err, status, msg, tt.status, tt.msg)
		}
	}
}

// batchStore is a ClickStore that keeps the size of every RecordClicks batch, and sends it on wrote when
// that channel is set.
type batchStore struct {
	mu      sync.Mutex
	batches []int
	clicks  []affiliate.Click
	wrote   chan int
}

func (s *batchStore) Target(context.Context, string) (affiliate.Target, error) {
	return affiliate.Target{}, nil
}
func (s *batchStore) AddOrphans(context.Context, int64) error { return nil }
func (s *batchStore) VisitorSalt() []byte                     { return nil }
func (s *batchStore) RecordClicks(_ context.Context, c []affiliate.Click) ([]affiliate.Click, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, len(c))
	s.clicks = append(s.clicks, c...)
	if s.wrote != nil {
		s.wrote <- len(c)
	}
	return c, nil
}

func (s *batchStore) total() (int, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clicks), slices.Clone(s.batches)
}

func TestClickBufferBatches(t *testing.T) {
	st := &batchStore{wrote: make(chan int, 16)}
	m := newMetrics(prometheus.NewRegistry())
	// A tick that never comes during the test: only a full batch or close writes.
	b := newClickBuffer(st, 3*MaxBatch, time.Hour, m, zerolog.Nop())
	at := time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)
	for i := range MaxBatch - 1 {
		if !b.add(affiliate.Click{ID: strconv.Itoa(i), At: at.Add(time.Duration(MaxBatch-i) * time.Microsecond)}) {
			t.Fatal("click refused")
		}
	}
	b.add(affiliate.Click{ID: "last", At: at})
	// The first write is the whole queue: a write before the queue was full would have been smaller.
	select {
	case n := <-st.wrote:
		if n != MaxBatch {
			t.Fatalf("first write of %d clicks, want one full batch of %d", n, MaxBatch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a full queue was not written")
	}
	// Each batch reaches the store in time order.
	st.mu.Lock()
	sorted := slices.IsSortedFunc(st.clicks, func(x, y affiliate.Click) int { return x.At.Compare(y.At) })
	st.mu.Unlock()
	if !sorted {
		t.Fatal("batch not in time order")
	}
	for range 5 {
		b.add(affiliate.Click{At: at})
	}
	if err := b.close(nil); err != nil {
		t.Fatal(err)
	}
	if b.add(affiliate.Click{At: at}) {
		t.Fatal("click accepted after close")
	}
	n, batches := st.total()
	if n != MaxBatch+5 || b.recorded.Load() != int64(n) || b.dropped.Load() != 1 {
		t.Fatalf("written %d (batches %v), recorded %d, dropped %d", n, batches, b.recorded.Load(), b.dropped.Load())
	}
	for _, size := range batches {
		if size > MaxBatch {
			t.Fatalf("batch of %d", size)
		}
	}
}

func TestClickBufferFull(t *testing.T) {
	st := &batchStore{}
	b := newClickBuffer(st, 10, time.Hour, newMetrics(prometheus.NewRegistry()), zerolog.Nop())
	accepted := 0
	for range 25 {
		if b.add(affiliate.Click{}) {
			accepted++
		}
	}
	if err := b.close(nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.total(); accepted != 10 || n != 10 || b.dropped.Load() != 15 {
		t.Fatalf("accepted %d, written %d, dropped %d", accepted, n, b.dropped.Load())
	}
}

func TestTokenMatcherRefusesNestedTokens(t *testing.T) {
	for _, tokens := range [][]string{{"bot", "robot"}, {"robot", "bot"}, {"bot", "bots"}, {"bots", "bot"}, {"xboty", "bot"}, {"bot", "xboty"}, {"bot", "bot"}, {"Bot"}, {""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("newTokenMatcher(%q) did not panic", tokens)
				}
			}()
			newTokenMatcher(tokens, nil)
		}()
	}
	m := newTokenMatcher([]string{"bot", "crawl", "\nsilk/"}, []string{"cubot"})
	for ua, want := range map[string]bool{"Crawler": true, "silk/1": true, "a silk/1": false, "cubot": false, "xbot": true} {
		if got := m.match(ua); got != want {
			t.Errorf("match(%q) = %v, want %v", ua, got, want)
		}
	}
}

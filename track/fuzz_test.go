package track

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/affiliate"
)

// FuzzRedirectPath sends any code segment through the whole handler chain with a real store: it must
// never panic and must answer only 302 (a known code) or 404. Segments that ServeMux itself rewrites
// ("." and "..", which it answers with a 301 to the cleaned path before any handler runs) are skipped.
func FuzzRedirectPath(f *testing.F) {
	fx := newFixture(f, nil)
	for _, s := range []string{fx.linkAX.Code, "ZZZZZZZZ", "", "a", "abc/def", "%zz", "\x00", "ÄÖÜßabcd", strings.Repeat("A", 9), fx.linkAX.Code + "/x"} {
		f.Add(s)
	}
	h := fx.srv.Handler()
	f.Fuzz(func(t *testing.T, seg string) {
		p := "/r/" + seg
		if path.Clean(p) != p && path.Clean(p)+"/" != p {
			t.Skip("ServeMux redirects unclean paths")
		}
		r := &http.Request{
			Method:     http.MethodGet,
			URL:        &url.URL{Path: p, RawPath: "/r/" + url.PathEscape(seg)},
			Header:     http.Header{"User-Agent": {browserUA}},
			RemoteAddr: "203.0.113.9:1234",
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Body: http.NoBody,
		}
		r = r.WithContext(t.Context())
		w := newDiscardWriter()
		h.ServeHTTP(w, r)
		switch w.status {
		case http.StatusFound:
			if seg != fx.linkAX.Code && seg != fx.linkAY.Code && seg != fx.linkBX.Code {
				t.Fatalf("302 for %q", seg)
			}
		case http.StatusNotFound:
		default:
			t.Fatalf("status %d for %q", w.status, seg)
		}
	})
}

// FuzzClickURL checks the redirect target for any valid shop URL: it parses, keeps every original query
// parameter, has exactly one kclid and that one last in the query, and matches affiliate.ClickURL when the
// stored URL has no kclid of its own.
func FuzzClickURL(f *testing.F) {
	for _, s := range []string{
		"https://shop.example.com/p/1", "https://shop.example.com/p/1?ref=abc&x=1", "https://a.b/?q=a+b&r=%20",
		"https://a.b/x?kclid=old", "https://a.b/x?&&a=1&", "https://a.b/%E2%9C%93?a=%E2%9C%93", "https://a.b:8443/?a=1;b=2",
		"https://a.b/x?a=1#frag",
	} {
		f.Add(s)
	}
	const id = "AbCdEfGh12345678"
	f.Fuzz(func(t *testing.T, raw string) {
		valid, err := affiliate.ValidateShopURL(raw, nil)
		if err != nil {
			t.Skip()
		}
		s := &Server{}
		var idb [ClickIDLen]byte
		copy(idb[:], id)
		loc, gotID := s.redirectTo(affiliate.Target{Code: "AAAAAAAA", URL: valid}, &idb)
		if gotID != id {
			t.Fatalf("redirectTo returned click id %q, want %q", gotID, id)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("location %q does not parse: %v", loc, err)
		}
		if !strings.HasSuffix(u.RawQuery, "kclid="+id) {
			t.Fatalf("location %q: kclid is not last", loc)
		}
		q, _ := url.ParseQuery(u.RawQuery)
		if got := q["kclid"]; len(got) != 1 || got[0] != id {
			t.Fatalf("location %q: kclid %v", loc, got)
		}
		ou, err := url.Parse(valid)
		if err != nil {
			t.Fatalf("valid URL %q does not parse", valid)
		}
		orig, _ := url.ParseQuery(ou.RawQuery)
		for k, vs := range orig {
			if k == "kclid" {
				continue
			}
			if strings.Join(q[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("location %q: parameter %q is %v, want %v", loc, k, q[k], vs)
			}
		}
		if _, had := orig["kclid"]; !had && !strings.Contains(ou.RawQuery, "kclid") {
			if want := affiliate.ClickURL(valid, id); loc != want {
				t.Fatalf("location %q, affiliate.ClickURL %q", loc, want)
			}
		}
	})
}

// isBotByContains is the plain reading of the rule that isBot implements in one pass: some occurrence of
// a token in "\n"+lower(ua)+"\n" lies outside every occurrence of an exception. Tests compare the two.
func isBotByContains(ua string) bool {
	if len(ua) == 0 {
		return true
	}
	b := []byte("\n" + ua + "\n")
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	v := string(b)
	for _, tok := range botTokens {
		for i := 0; i+len(tok) <= len(v); i++ {
			if v[i:i+len(tok)] != tok {
				continue
			}
			covered := false
			for _, ex := range botExceptions {
				for j := max(0, i+len(tok)-len(ex)); j <= i && j+len(ex) <= len(v); j++ {
					if v[j:j+len(ex)] == ex {
						covered = true
					}
				}
			}
			if !covered {
				return true
			}
		}
	}
	return false
}

// FuzzIsBot checks isBot against isBotByContains on any user agent; isBot must never panic.
func FuzzIsBot(f *testing.F) {
	for _, s := range []string{"", "Googlebot", "CUBOT X30", "cubot bot", "xCuBoTbOt", "Slack-ImgProxy", "sp", "s",
		"Silk/1.0", "x Silk/1.0", "BW/1.1", "sentry/1", "a sentry/1", "GoogleAssociationService", "\n", "bot\n",
		"Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		strings.Repeat("x", 254) + "BOT", strings.Repeat("a", 400) + "Spider"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		if got, want := isBot(ua), isBotByContains(ua); got != want {
			t.Fatalf("isBot(%q) = %v, want %v", ua, got, want)
		}
	})
}

// TestIsBotMatchesContains builds random user agents from pieces of tokens and exceptions in random case
// and compares isBot with isBotByContains.
func TestIsBotMatchesContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var pieces []string
	for _, p := range append(append([]string{}, botTokens...), botExceptions...) {
		pieces = append(pieces, p, p[:len(p)/2], p[len(p)/2:])
	}
	pieces = append(pieces, "Mozilla/5.0 ", "(Linux; Android 13) ", "AppleWebKit/537.36 ", "x", " ", "é", "\x00")
	bots := 0
	for range 20000 {
		var b strings.Builder
		for n := rng.IntN(12); n > 0; n-- {
			p := []byte(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) > 0 {
				p = p[:len(p)/3]
			}
			for i := range p {
				if rng.IntN(2) == 0 && 'a' <= p[i] && p[i] <= 'z' {
					p[i] -= 'a' - 'A'
				}
			}
			b.Write(p)
		}
		ua := b.String()
		got, want := isBot(ua), isBotByContains(ua)
		if got != want {
			t.Fatalf("isBot(%q) = %v, want %v", ua, got, want)
		}
		if got {
			bots++
		}
	}
	if bots < 1000 || bots > 19000 {
		t.Fatalf("%d of 20000 random user agents are bots: the test does not exercise both answers", bots)
	}
}

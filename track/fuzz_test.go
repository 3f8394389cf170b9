package track

import (
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
		loc := s.location(affiliate.Target{Code: "AAAAAAAA", URL: valid}, id)
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

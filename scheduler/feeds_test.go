package scheduler

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// feedServer serves an RSS feed and an Atom feed whose items the test sets, or fails on demand.
type feedServer struct {
	mu    sync.Mutex
	items []string // newest last
	fail  bool
	srv   *httptest.Server
}

func newFeedServer(t *testing.T) *feedServer {
	f := &feedServer{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		var b strings.Builder
		switch r.URL.Path {
		case "/rss":
			b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Kebijakan</title>`)
			for i := len(f.items) - 1; i >= 0; i-- {
				fmt.Fprintf(&b, `<item><title>%s</title><link>https://policy.example.com/%s</link><guid>rss-%s</guid>`+
					`<description>&lt;p&gt;Isi &lt;b&gt;%s&lt;/b&gt;&lt;/p&gt;</description></item>`, f.items[i], f.items[i], f.items[i], f.items[i])
			}
			b.WriteString(`</channel></rss>`)
		case "/atom":
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Kebijakan</title>`)
			for i := len(f.items) - 1; i >= 0; i-- {
				fmt.Fprintf(&b, `<entry><title>%s</title><id>urn:atom:%s</id><updated>2026-03-01T00:00:00Z</updated>`+
					`<link href="http://policy.example.com/%s"/><summary>Ringkasan %s</summary></entry>`, f.items[i], f.items[i], f.items[i], f.items[i])
			}
			b.WriteString(`</feed>`)
		default:
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feedServer) set(fail bool, items ...string) {
	f.mu.Lock()
	f.fail, f.items = fail, items
	f.mu.Unlock()
}

func TestPolicyFeeds(t *testing.T) {
	srv := newFeedServer(t)
	rss, atom := srv.srv.URL+"/rss", srv.srv.URL+"/atom"
	path := filepath.Join(t.TempDir(), "k.db")
	st := openStore2(t, path)
	kicks := 0
	job := func(st *store.Store) Job {
		return PolicyFeeds(st, srv.srv.Client(), []string{rss, atom}, func() { kicks++ })
	}
	ctx := zerolog.Nop().WithContext(t.Context())
	pending := func() []affiliate.Alert {
		t.Helper()
		p, err := st.PendingAlerts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The first read only remembers what is there.
	srv.set(false, "a", "b")
	if err := job(st)(ctx); err != nil {
		t.Fatal(err)
	}
	if p := pending(); len(p) != 0 || kicks != 0 {
		t.Fatalf("first poll made alerts %+v (kicks %d)", p, kicks)
	}
	// A new item becomes one alert per feed; the fan-out is kicked.
	srv.set(false, "a", "b", "c")
	if err := job(st)(ctx); err != nil {
		t.Fatal(err)
	}
	p := pending()
	if len(p) != 2 || kicks != 1 {
		t.Fatalf("alerts after a new item: %+v (kicks %d)", p, kicks)
	}
	byFeed := map[string]affiliate.Alert{}
	for _, a := range p {
		byFeed[a.Source] = a
	}
	if a := byFeed["feed:"+rss]; a.Title != "c" || a.Body != "Isi c" || a.URL != "https://policy.example.com/c" || a.Audience != affiliate.AudienceAll {
		t.Fatalf("rss alert %+v", a)
	}
	if a := byFeed["feed:"+atom]; a.Title != "c" || a.Body != "Ringkasan c" || a.URL != "" {
		t.Fatalf("atom alert (its http link dropped) %+v", a)
	}
	// The same items again, after a restart too, make nothing.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore2(t, path)
	if err := job(st)(ctx); err != nil {
		t.Fatal(err)
	}
	if p := pending(); len(p) != 2 || kicks != 1 {
		t.Fatalf("a repeated poll made alerts: %+v (kicks %d)", p, kicks)
	}
	// A failing feed makes no alert and is read again next time; what came meanwhile is alerted once.
	srv.set(true, "a", "b", "c", "d")
	if err := job(st)(ctx); err != nil {
		t.Fatal(err)
	}
	if p := pending(); len(p) != 2 {
		t.Fatalf("a failed poll made alerts: %+v", p)
	}
	srv.set(false, "a", "b", "c", "d")
	for range 2 {
		if err := job(st)(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p := pending(); len(p) != 4 || kicks != 2 {
		t.Fatalf("after the retry: %+v (kicks %d)", p, kicks)
	}
}

// A feed that is not a feed, or too large, fails without recording anything.
func TestPolicyFeedsBadFeed(t *testing.T) {
	big := strings.Repeat("x", MaxFeedBytes+10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>` + big + `</title></channel></rss>`))
			return
		}
		_, _ = w.Write([]byte("<html>not a feed</html>"))
	}))
	defer srv.Close()
	st := openStore(t)
	for _, p := range []string{"/big", "/html"} {
		if _, err := pollFeed(t.Context(), st, srv.Client(), srv.URL+p); err == nil {
			t.Fatalf("%s: no error", p)
		}
		if _, polled, _ := st.FeedItems(t.Context(), srv.URL+p); polled {
			t.Fatalf("%s: recorded as read", p)
		}
	}
}

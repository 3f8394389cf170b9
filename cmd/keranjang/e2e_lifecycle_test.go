package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// testLifecycle covers restarts and the ordered shutdown.
func testLifecycle(t *testing.T) {
	t.Run("restart keeps flows languages and roles", testRestart)
	t.Run("shutdown while busy", testShutdownWhileBusy)
}

// testRestart shows that languages, time zones, roles and an unfinished /addproduct survive a restart.
func testRestart(t *testing.T) {
	e := startE2E(t, adminEnv(nil), Options{RateBurst: scripted})
	admin, seller, u := person(e2eAdminID, "Sari", "id"), person(7001, "Eko", "id"), person(7002, "Maya", "en")
	e.say(t, admin, "/start")
	e.say(t, u, "/start")
	e.say(t, u, "/lang id")
	e.say(t, u, "/timezone WITA")
	e.say(t, seller, "/start")
	e.say(t, seller, "/lang en")
	before := e.sent(e2eAdminID)
	e.say(t, seller, "/seller Lurik Eko")
	e.waitNew(t, e2eAdminID, before, 1)
	before = e.sent(seller.ID)
	mustContain(t, e.say(t, admin, "/approve 7001").PlainText, "disetujui")
	// The seller's notice goes through the outbox: it comes before the next reply is looked for.
	mustContain(t, e.waitNew(t, seller.ID, before, 1)[0].PlainText, "Congratulations")
	mustContain(t, e.say(t, seller, "/addproduct").PlainText, "What is the product called?")
	mustContain(t, e.say(t, seller, "Kain Lurik").PlainText, "What is the price")

	e.restart(t)

	// The flow goes on where it stopped, in the seller's language.
	mustContain(t, e.say(t, seller, "95000").PlainText, "What commission percentage")
	mustContain(t, e.say(t, seller, "10").PlainText, "https://")
	e.restart(t)
	photo := e.say(t, seller, "https://lurik.example.id/kain")
	mustContain(t, photo.PlainText, "Send a product photo")
	before = e.sent(seller.ID)
	e.press(t, seller, photo, "Skip")
	saveCard := e.waitNew(t, seller.ID, before, 1)[0]
	mustContain(t, saveCard.PlainText, "Kain Lurik", "Rp95.000", "10%", "Photo: no")
	before = e.sent(seller.ID)
	e.press(t, seller, saveCard, "Save")
	mustContain(t, e.waitNew(t, seller.ID, before, 1)[0].PlainText, "Product #1 Kain Lurik added")

	// A flow cancelled after a restart is gone.
	mustContain(t, e.say(t, seller, "/addproduct").PlainText, "What is the product called?")
	e.restart(t)
	mustContain(t, e.say(t, seller, "/cancel").PlainText, "Cancelled")
	mustContain(t, e.say(t, seller, "Kain Tenun").PlainText, "/help")

	// Language, zone and roles came through every restart.
	help := e.say(t, u, "/help").PlainText
	mustContain(t, help, "Perintah Keranjang")
	mustNotContain(t, help, "/addproduct")
	mustContain(t, e.say(t, u, "/settings").PlainText, "Pengaturan", "WITA (Asia/Makassar)")
	mustContain(t, e.say(t, seller, "/help").PlainText, "Keranjang commands", "For sellers", "/addproduct")
	mustContain(t, e.say(t, seller, "/myproducts").PlainText, "#1 Kain Lurik — active")
	mustContain(t, e.say(t, admin, "/help").PlainText, "Untuk admin")
}

// testShutdownWhileBusy times App.Shutdown while handlers are stuck in Bot API calls, against the
// 10-second contract, and checks that nothing acknowledged is lost: clicks that got their redirect are in
// the database, and updates the bot had not taken are answered after the next start.
func testShutdownWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name string
		hold time.Duration // how long the Bot API takes to answer sendMessage; negative: never
	}{
		{"slow Bot API", 250 * time.Millisecond},
		{"Bot API stops answering", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newSlowAPI(t) // before the app, so that it is closed after it
			e := startE2E(t, catalogueEnv, Options{RateBurst: scripted})
			api.target.Store(mustParseURL(t, e.sb.fake.URL()))
			e.sb.cfg.BotAPIURL = api.URL()
			e.restart(t)

			seller, aff := person(9001, "Joni", "id"), person(9002, "Lia", "id")
			e.say(t, seller, "/start")
			e.say(t, aff, "/start")
			e.say(t, seller, "/seller Toko Joni")
			e.say(t, seller, "/addproduct Sarung | 90000 | 10 | https://tokoku.id/sarung")
			code := basketCode(t, e.say(t, aff, "/join 1"))
			users := make([]tgfake.User, 20)
			for i := range users {
				users[i] = person(int64(9100+i), fmt.Sprintf("Sibuk%02d", i), "id")
				e.say(t, users[i], "/start")
			}

			// Every handler now waits for the Bot API.
			api.hold(tc.hold)
			for _, u := range users {
				e.sb.fake.SendText(u, tgfake.Chat{}, "/help")
			}
			eventually(t, "handlers busy in Bot API calls", func() bool { return api.held() >= 5 })
			for i := range 5 {
				if resp := e.visit(t, http.MethodGet, code, fmt.Sprintf("203.0.113.%d", i+1), "Mozilla/5.0"); resp.StatusCode != http.StatusFound {
					t.Fatalf("click %d: %d", i, resp.StatusCode)
				}
			}

			sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer scancel()
			start := time.Now()
			err := e.sb.app.Shutdown(sctx)
			took := time.Since(start)
			e.sb.app = nil
			if took >= ShutdownTimeout {
				t.Errorf("shutdown took %v, the contract is %v", took, ShutdownTimeout)
			}
			t.Logf("shutdown took %v (err %v)", took.Round(time.Millisecond), err)

			// Every acknowledged click was written before the database closed.
			st, err := e.openStore(t)
			if err != nil {
				t.Fatal(err)
			}
			counts, err := st.LinkCounts(t.Context(), code, time.Time{}, time.Time{})
			st.Close()
			if err != nil || counts.Clicks != 5 {
				t.Errorf("after shutdown the link has %+v (%v), want 5 clicks", counts, err)
			}

			answered := 0
			for _, u := range users {
				if e.sent(u.ID) > 1 {
					answered++
				}
			}
			t.Logf("%d of %d /help answered before the shutdown", answered, len(users))
			if tc.hold > 0 && (err != nil || answered < 5) {
				// A slow Bot API leaves time to finish every handler that was running.
				t.Errorf("shutdown: %v, %d answered; want no error and at least the 5 busy handlers' answers", err, answered)
			}

			// With the Bot API back, the next start answers the updates the bot had not taken.
			api.hold(0)
			ctx, cancel := waitCtx()
			defer cancel()
			if e.sb.app, err = Start(ctx, e.sb.cfg, e.sb.log, e.sb.opt); err != nil {
				t.Fatal(err)
			}
			if tc.hold > 0 {
				for _, u := range users {
					mustContain(t, e.waitNew(t, u.ID, 1, 1)[0].PlainText, "Perintah Keranjang")
				}
			}
			mustContain(t, e.say(t, aff, "/links").PlainText, "total: 5")
		})
	}
}

// slowAPI stands between the bot and the fake Bot API and can hold sendMessage calls, as a slow or hung
// Telegram would.
type slowAPI struct {
	srv     *httptest.Server
	holdFor atomic.Int64 // nanoseconds; 0: pass at once; negative: until the caller gives up
	holding atomic.Int64
	target  atomic.Pointer[url.URL]
	closed  chan struct{}
}

func newSlowAPI(t *testing.T) *slowAPI {
	a := &slowAPI{closed: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(a.target.Load()) },
		ErrorLog: log.New(io.Discard, "", 0),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(a.holdFor.Load()); d != 0 && strings.HasSuffix(r.URL.Path, "/sendMessage") {
			// Read the whole request first: only then does the server notice a caller that gives up.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			a.holding.Add(1)
			var timeout <-chan time.Time
			if d > 0 {
				timer := time.NewTimer(d)
				defer timer.Stop()
				timeout = timer.C
			}
			select {
			case <-timeout:
			case <-r.Context().Done():
			case <-a.closed:
			}
			a.holding.Add(-1)
			if r.Context().Err() != nil {
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(a.closed)
		a.srv.Close()
	})
	return a
}

func mustParseURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (a *slowAPI) URL() string          { return a.srv.URL }
func (a *slowAPI) hold(d time.Duration) { a.holdFor.Store(int64(d)) }
func (a *slowAPI) held() int64          { return a.holding.Load() }

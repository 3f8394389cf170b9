package main

import (
	"net/http"
	"strings"
	"testing"
)

// testTracking covers basket links: buyers click, crawlers and link previews are kept apart, and the
// affiliate and the seller read the same numbers in the bot, before and after a restart.
func testTracking(t *testing.T) {
	t.Run("clicks unique visitors and link previews", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.clickScenario(t)
		s.checkBotCounts(t)
	})

	t.Run("counts survive a restart", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.readKeys(t)
		s.clickScenario(t)
		s.restart(t)
		s.checkBotCounts(t)
		s.checkLinkStats(t)
	})
}

// clickScenario has buyers, a laptop, Telegram's link preview and a HEAD request visit Ani's and Joe's
// links (and two unknown codes), checks every redirect, and waits until the click buffer has written the
// nine visits: Ani's link gets 6 clicks from 3 visitors and 2 bot visits, Joe's 1 click.
func (s *shop) clickScenario(t *testing.T) {
	t.Helper()
	const (
		phone  = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
		laptop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
	)
	recorded := s.metric(t, "keranjang_click_batch_size_sum", "")
	for _, v := range []struct {
		method, code, ip, ua string
		status               int
	}{
		{http.MethodGet, s.aniCode, "203.0.113.10", phone, http.StatusFound},
		{http.MethodGet, s.aniCode, "203.0.113.10", phone, http.StatusFound},
		{http.MethodGet, s.aniCode, "198.51.100.7", phone, http.StatusFound},
		{http.MethodGet, s.aniCode, "203.0.113.10", phone, http.StatusFound},
		{http.MethodGet, s.aniCode, "192.0.2.44", laptop, http.StatusFound},
		{http.MethodGet, s.aniCode, "192.0.2.44", laptop, http.StatusFound},
		{http.MethodGet, s.aniCode, "149.154.167.99", "TelegramBot (like TwitterBot)", http.StatusFound},
		{http.MethodHead, s.aniCode, "203.0.113.99", laptop, http.StatusFound},
		{http.MethodGet, s.joeCode, "203.0.113.10", phone, http.StatusFound},
		{http.MethodGet, "NoSuchXy", "203.0.113.10", phone, http.StatusNotFound},
		{http.MethodGet, "bad!code", "203.0.113.10", phone, http.StatusNotFound},
	} {
		resp := s.visit(t, v.method, v.code, v.ip, v.ua)
		if resp.StatusCode != v.status {
			t.Fatalf("%s /r/%s: %d, want %d", v.method, v.code, resp.StatusCode, v.status)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s /r/%s: Cache-Control %q", v.method, v.code, resp.Header.Get("Cache-Control"))
		}
		if v.status == http.StatusFound {
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, "https://shop.example.id/kemeja?ref=bot&kclid=") || len(loc) <= len("https://shop.example.id/kemeja?ref=bot&kclid=") {
				t.Errorf("%s /r/%s went to %q", v.method, v.code, loc)
			}
		}
	}
	// The click buffer writes within 100 ms; wait until this app has written all nine visits.
	eventually(t, "nine visits written", func() bool {
		return s.metric(t, "keranjang_click_batch_size_sum", "") >= recorded+9
	})
}

// checkBotCounts asserts the click scenario's numbers as the bot shows them to Ani and to Budi.
func (s *shop) checkBotCounts(t *testing.T) {
	t.Helper()
	links := s.say(t, s.ani, "/links").PlainText
	mustContain(t, links, "Kemeja Batik Lasem", "Klik hari ini: 6 · total: 6 (unik: 3)")
	aff := s.say(t, s.budi, "/affiliates").PlainText
	mustContain(t, aff, "1. Ani · #1 Kemeja Batik Lasem\n    clicks 6 · unique 3", "2. Joe · #1 Kemeja Batik Lasem\n    clicks 1 · unique 1",
		"Citra · #2 Selendang Sutra\n    clicks 0 · unique 0")
	mustContain(t, s.say(t, s.budi, "/affiliates 2").PlainText, "1. Citra · #2")
	mustContain(t, s.say(t, s.budi, "/myproducts").PlainText, "Clicks: 7 (unique: 4) · Affiliates: 2")
}

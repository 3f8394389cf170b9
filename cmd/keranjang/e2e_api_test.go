package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/track"
)

// testAPI covers the seller and admin HTTP APIs: link stats, the affiliate report, and who may read what.
func testAPI(t *testing.T) {
	t.Run("link stats", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.readKeys(t)
		s.clickScenario(t)
		s.checkLinkStats(t)
	})

	t.Run("affiliate report", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.readKeys(t)
		s.clickScenario(t)
		var report track.AffiliateReport
		if st := s.getJSON(t, "/api/v1/affiliates", s.budiKey, &report); st != http.StatusOK {
			t.Fatalf("affiliate report: %d", st)
		}
		type row struct {
			name    string
			product uint64
			code    string
			clicks  int64
			unique  int64
		}
		var got []row
		for _, r := range report.Affiliates {
			got = append(got, row{r.AffiliateName, r.ProductID, r.LinkCode, r.Clicks, r.UniqueClicks})
		}
		want := []row{{"Ani", 1, s.aniCode, 6, 3}, {"Joe", 1, s.joeCode, 1, 1}, {"Citra", 2, s.citraCode, 0, 0}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("affiliate report rows\n got %v\nwant %v", got, want)
		}
		// The default period is the last 30 days of the seller's zone, today included.
		jkt, err := time.LoadLocation("Asia/Jakarta")
		if err != nil {
			t.Fatal(err)
		}
		today := morningClock()().In(jkt)
		if wantFrom := today.AddDate(0, 0, -29).Format(time.DateOnly); report.From != wantFrom ||
			report.To != today.Format(time.DateOnly) || report.TimeZone != "Asia/Jakarta" {
			t.Errorf("report period %s to %s (%s), want %s to %s (Asia/Jakarta)", report.From, report.To, report.TimeZone,
				wantFrom, today.Format(time.DateOnly))
		}
		// A period that ended before the clicks has the rows' products but no clicks.
		past := today.AddDate(0, 0, -40).Format(time.DateOnly)
		var old track.AffiliateReport
		if st := s.getJSON(t, "/api/v1/affiliates?from="+past+"&to="+past, s.budiKey, &old); st != http.StatusOK {
			t.Fatalf("past report: %d", st)
		}
		for _, r := range old.Affiliates {
			if r.Clicks != 0 {
				t.Errorf("clicks of today in a report of %s: %+v", past, r)
			}
		}
		var other track.AffiliateReport
		if st := s.getJSON(t, "/api/v1/affiliates", s.watiKey, &other); st != http.StatusOK || len(other.Affiliates) != 0 {
			t.Errorf("another seller's report: %d %+v", st, other.Affiliates)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		s := newShop(t)
		s.joinAll(t)
		s.readKeys(t)
		if s.budiKey == s.watiKey {
			t.Fatal("two sellers share an API key")
		}
		for _, tc := range []struct {
			name, path, token string
			status            int
		}{
			{"another seller's link", "/api/v1/links/" + s.aniCode + "/stats", s.watiKey, http.StatusNotFound},
			{"unknown code", "/api/v1/links/NoSuchXy/stats", s.budiKey, http.StatusNotFound},
			{"malformed code", "/api/v1/links/no!/stats", s.budiKey, http.StatusNotFound},
			{"bad key", "/api/v1/links/" + s.aniCode + "/stats", "ksk_" + strings.Repeat("x", 32), http.StatusUnauthorized},
			{"no key", "/api/v1/links/" + s.aniCode + "/stats", "", http.StatusUnauthorized},
			{"report with a bad key", "/api/v1/affiliates", "nope", http.StatusUnauthorized},
			{"report with the admin token", "/api/v1/affiliates", e2eAdminToken, http.StatusUnauthorized},
			{"report with a bad date", "/api/v1/affiliates?from=kemarin", s.budiKey, http.StatusBadRequest},
			{"report from after to", "/api/v1/affiliates?from=2024-03-06&to=2024-03-05", s.budiKey, http.StatusBadRequest},
			{"report over a year", "/api/v1/affiliates?from=2023-01-01&to=2024-01-02", s.budiKey, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if st := s.getJSON(t, tc.path, tc.token, nil); st != tc.status {
					t.Errorf("GET %s answered %d, want %d", tc.path, st, tc.status)
				}
			})
		}
	})
}

// checkLinkStats asserts the click scenario's numbers through GET /api/v1/links/{code}/stats, for the
// seller who owns the product and for the admin.
func (s *shop) checkLinkStats(t *testing.T) {
	t.Helper()
	for _, tc := range []struct {
		code  string
		token string
		want  track.LinkStats
	}{
		{s.aniCode, s.budiKey, track.LinkStats{LinkCode: s.aniCode, Clicks: 6, UniqueClicks: 3, BotVisits: 2}},
		{s.joeCode, s.budiKey, track.LinkStats{LinkCode: s.joeCode, Clicks: 1, UniqueClicks: 1}},
		{s.citraCode, s.budiKey, track.LinkStats{LinkCode: s.citraCode}},
		{s.aniCode, e2eAdminToken, track.LinkStats{LinkCode: s.aniCode, Clicks: 6, UniqueClicks: 3, BotVisits: 2}},
	} {
		var got track.LinkStats
		if st := s.getJSON(t, "/api/v1/links/"+tc.code+"/stats", tc.token, &got); st != http.StatusOK || got != tc.want {
			t.Errorf("stats of %s: %d %+v, want %+v", tc.code, st, got, tc.want)
		}
	}
}

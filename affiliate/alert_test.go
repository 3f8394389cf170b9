package affiliate

import (
	"strings"
	"testing"
	"time"
)

func TestAlertFateOf(t *testing.T) {
	for _, tc := range []struct {
		u    User
		aud  Audience
		want AlertFate
	}{
		{User{AlertsOn: true, Reachable: true}, AudienceAll, AlertQueue},
		{User{AlertsOn: true, Reachable: true}, AudienceAffiliates, AlertQueue},
		{User{AlertsOn: true, Reachable: true}, AudienceSellers, AlertNotAudience},
		{User{AlertsOn: true, Reachable: true, Seller: true}, AudienceAffiliates, AlertNotAudience},
		{User{AlertsOn: true, Reachable: true, Seller: true}, AudienceSellers, AlertQueue},
		{User{AlertsOn: false, Reachable: true}, AudienceAll, AlertSkipOff},
		{User{AlertsOn: false, Reachable: false}, AudienceAll, AlertSkipOff},
		{User{AlertsOn: true, Reachable: false}, AudienceAll, AlertQueue}, // the outbox drops it, counted unreachable
		{User{AlertsOn: true, Reachable: true}, Audience("x"), AlertNotAudience},
	} {
		if got := AlertFateOf(&tc.u, tc.aud); got != tc.want {
			t.Errorf("%+v to %s: %v, want %v", tc.u, tc.aud, got, tc.want)
		}
	}
}

func TestNewAlertAndSplit(t *testing.T) {
	title, body := SplitPolicyText("  Aturan baru \r\nBaris satu\nBaris dua \n")
	if title != "Aturan baru" || body != "Baris satu\nBaris dua" {
		t.Fatalf("split %q %q", title, body)
	}
	if title, body := SplitPolicyText("Hanya judul"); title != "Hanya judul" || body != "" {
		t.Fatalf("split %q %q", title, body)
	}
	for _, tc := range []struct {
		title, body, url string
		aud              Audience
		reason           string
	}{
		{"", "b", "", AudienceAll, "alert_title_empty"},
		{strings.Repeat("é", 201), "b", "", AudienceAll, "alert_title_long"},
		{"t", strings.Repeat("é", 3001), "", AudienceAll, "alert_body_long"},
		{"t", "b", "http://x.example.com", AudienceAll, "url_not_https"},
		{"t", "b", "https://user@x.example.com", AudienceAll, "url_userinfo"},
		{"t", "b", "", Audience("everyone"), "alert_audience"},
	} {
		if _, err := NewAlert(tc.title, tc.body, tc.url, tc.aud, ""); ErrorReason(err) != tc.reason {
			t.Errorf("%+v: %v, want %s", tc, err, tc.reason)
		}
	}
	a, err := NewAlert(" Aturan   baru ", strings.Repeat("é", 3000), "https://X.example.com/a#f", AudienceSellers, "api")
	if err != nil || a.Title != "Aturan baru" || a.URL != "https://x.example.com/a" || a.Audience != AudienceSellers {
		t.Fatalf("alert %+v %v", a, err)
	}
}

func TestFeedItemID(t *testing.T) {
	d := time.Date(2026, 3, 1, 7, 0, 0, 0, time.FixedZone("WIB", 7*3600))
	for _, tc := range []struct {
		guid, link, title string
		date              time.Time
		want              string
	}{
		{"g1", "https://x/1", "T", d, "g:g1"},
		{" ", "https://x/1", "T", d, "l:https://x/1"},
		{"", "", "T", d, "t:T|2026-03-01T00:00:00Z"},
		{"", "", "T", time.Time{}, "t:T"},
		{"", "", " ", d, ""},
	} {
		if got := FeedItemID(tc.guid, tc.link, tc.title, tc.date); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc, got, tc.want)
		}
	}
	long := FeedItemID("", "https://x.example.com/"+strings.Repeat("a", 300), "", time.Time{})
	if !strings.HasPrefix(long, "h:") || len(long) != 66 || long != FeedItemID("", "https://x.example.com/"+strings.Repeat("a", 300), "x", d) {
		t.Fatalf("long id %q", long)
	}
}

func TestPlainText(t *testing.T) {
	if got := PlainText("<p>Isi &amp; <b>tebal</b></p>\n\n<p>Kedua\t baris</p>", 100); got != "Isi & tebal\n\nKedua baris" {
		t.Fatalf("plain %q", got)
	}
	if got := PlainText("abcdefghij", 5); got != "abcd…" {
		t.Fatalf("cut %q", got)
	}
}

func TestBroadcastRules(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if !BroadcastAllowed(time.Time{}, t0) || BroadcastAllowed(t0, t0.Add(59*time.Minute)) || !BroadcastAllowed(t0, t0.Add(time.Hour)) {
		t.Fatal("broadcast interval")
	}
	if k := BroadcastKey(10, 3, 42); k != "broadcast:10:3:42" {
		t.Fatalf("key %q", k)
	}
	if _, err := ValidateBroadcast("  "); ErrorReason(err) != "broadcast_empty" {
		t.Fatal(err)
	}
	if _, err := ValidateBroadcast(strings.Repeat("x", MaxBroadcastLen+1)); ErrorReason(err) != "broadcast_long" {
		t.Fatal(err)
	}
}

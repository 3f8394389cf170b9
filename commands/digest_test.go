package commands

import (
	"strings"
	"testing"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// /digest sets, shows and turns off the daily digest in the user's own zone, and the settings row does
// the same with a plain-text toast.
func TestDigestCommand(t *testing.T) {
	x := newHarness(t, Config{})
	a := tgfake.User{ID: 300, FirstName: "Rina", LanguageCode: "id"}
	x.say(t, a, "/start")
	x.say(t, a, "/timezone WITA")
	mustContain(t, x.say(t, a, "/digest").PlainText, "21:00")
	mustContain(t, x.say(t, a, "/digest 20:30").PlainText, "20:30")
	if u, _ := x.st.GetUser(t.Context(), a.ID); u.DigestMinute != 20*60+30 {
		t.Fatalf("digest minute %d, want 1230", u.DigestMinute)
	}
	for _, bad := range []string{"/digest 25:00", "/digest 9", "/digest pagi"} {
		x.say(t, a, bad)
		if u, _ := x.st.GetUser(t.Context(), a.ID); u.DigestMinute != 20*60+30 {
			t.Fatalf("%s changed the digest time to %d", bad, u.DigestMinute)
		}
	}
	x.say(t, a, "/digest off")
	if u, _ := x.st.GetUser(t.Context(), a.ID); u.DigestMinute != -1 {
		t.Fatalf("/digest off left %d", u.DigestMinute)
	}
	settings := x.say(t, a, "/settings")
	toast := x.press(t, a, settings, "digest:2100")
	if u, _ := x.st.GetUser(t.Context(), a.ID); u.DigestMinute != 21*60 {
		t.Fatalf("the settings button set %d", u.DigestMinute)
	}
	if !strings.Contains(toast, "21:00") || strings.ContainsAny(toast, "<>") {
		t.Fatalf("toast %q: want the time, as plain text", toast)
	}
}

package bot

import (
	"strings"
	"testing"
	"unicode/utf8"

	tgmodels "github.com/go-telegram/bot/models"
)

func cmdEntity(text, cmd string) []tgmodels.MessageEntity {
	i := strings.Index(text, cmd)
	if i < 0 {
		return nil
	}
	return []tgmodels.MessageEntity{{Type: tgmodels.MessageEntityTypeBotCommand,
		Offset: UTF16Len(text[:i]), Length: UTF16Len(cmd)}}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		name, text, entity string
		noEntity           bool
		cmd, args          string
	}{
		{name: "plain", text: "/start", entity: "/start", cmd: "start"},
		{name: "args", text: "/join 12", entity: "/join", cmd: "join", args: "12"},
		{name: "addressed to us", text: "/help@keranjang_bot", entity: "/help@keranjang_bot", cmd: "help"},
		{name: "addressed to us any case", text: "/help@Keranjang_Bot x", entity: "/help@Keranjang_Bot", cmd: "help", args: "x"},
		{name: "addressed to another bot", text: "/help@other_bot", entity: "/help@other_bot", cmd: ""},
		{name: "upper case", text: "/START p_1", entity: "/START", cmd: "start", args: "p_1"},
		{name: "emoji before", text: "Halo kak 🙏🏽 /products batik", entity: "/products", cmd: "products", args: "batik"},
		{name: "multiline args", text: "/addproduct Kaos | 50000\n| 10 | https://x.id", entity: "/addproduct", cmd: "addproduct", args: "Kaos | 50000\n| 10 | https://x.id"},
		{name: "no entity fallback", text: "/lang en", noEntity: true, cmd: "lang", args: "en"},
		{name: "no entity with bot", text: "/lang@keranjang_bot en", noEntity: true, cmd: "lang", args: "en"},
		{name: "not a command", text: "halo", noEntity: true, cmd: ""},
		{name: "slash only", text: "/", noEntity: true, cmd: ""},
		{name: "path is not a command", text: "/ etc", noEntity: true, cmd: ""},
		{name: "non-ascii args", text: "/seller Toko Ñoño 😀", entity: "/seller", cmd: "seller", args: "Toko Ñoño 😀"},
		{name: "too long", text: "/" + strings.Repeat("a", 33), entity: "/" + strings.Repeat("a", 33), cmd: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ents []tgmodels.MessageEntity
			if !tc.noEntity {
				ents = cmdEntity(tc.text, tc.entity)
			}
			cmd, args := ParseCommand(tc.text, ents, "keranjang_bot")
			if cmd != tc.cmd || (tc.cmd != "" && args != tc.args) {
				t.Errorf("ParseCommand(%q) = %q, %q; want %q, %q", tc.text, cmd, args, tc.cmd, tc.args)
			}
		})
	}
}

func TestParseCommandBadEntity(t *testing.T) {
	// An entity pointing past the text or into the middle of a surrogate pair is ignored safely.
	for _, e := range []tgmodels.MessageEntity{
		{Type: tgmodels.MessageEntityTypeBotCommand, Offset: 50, Length: 3},
		{Type: tgmodels.MessageEntityTypeBotCommand, Offset: 1, Length: 2},
		{Type: tgmodels.MessageEntityTypeBotCommand, Offset: -1, Length: 2},
	} {
		cmd, _ := ParseCommand("😀/x", []tgmodels.MessageEntity{e}, "")
		if cmd != "" && cmd != "x" {
			t.Errorf("entity %+v gave %q", e, cmd)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/start", "/help@keranjang_bot x", "Halo 🙏 /join 5", "", "/", "/a@", "\xff/x"} {
		f.Add(s, 0, 0)
	}
	f.Fuzz(func(t *testing.T, text string, off, length int) {
		ents := []tgmodels.MessageEntity{{Type: tgmodels.MessageEntityTypeBotCommand, Offset: off, Length: length}}
		for _, e := range [][]tgmodels.MessageEntity{nil, ents} {
			cmd, args := ParseCommand(text, e, "keranjang_bot")
			if cmd == "" {
				continue
			}
			if len(cmd) > MaxCommandLen || strings.ToLower(cmd) != cmd || strings.ContainsAny(cmd, "@/ ") {
				t.Fatalf("bad command %q from %q", cmd, text)
			}
			if !strings.Contains(text, args) {
				t.Fatalf("args %q not from text %q", args, text)
			}
			if utf8.ValidString(text) && !utf8.ValidString(args) {
				t.Fatalf("args %q split a character of %q", args, text)
			}
		}
	})
}

func TestEscapeAndLimits(t *testing.T) {
	if got := Escape(`<b>"Tom & Jerry"</b>`); got != "&lt;b&gt;&quot;Tom &amp; Jerry&quot;&lt;/b&gt;" {
		t.Errorf("Escape = %q", got)
	}
	if UTF16Len("a😀") != 3 {
		t.Error("UTF16Len counts surrogate pairs as two")
	}
	long := Message{Text: strings.Repeat("😀", 2049)}
	if long.validate() == nil {
		t.Error("4098 UTF-16 units must be refused")
	}
	bad := Message{Text: "x", Keyboard: Keyboard{{Data("a", strings.Repeat("x", 65))}}}
	if bad.validate() == nil {
		t.Error("65-byte callback data must be refused")
	}
	two := Message{Text: "x", Keyboard: Keyboard{{Button{Text: "a", CallbackData: "x", URL: "https://a.id"}}}}
	if two.validate() == nil {
		t.Error("a button with two actions must be refused")
	}
	if Truncate("abcdef", 4) != "abc…" || Truncate("ab", 4) != "ab" {
		t.Error("Truncate")
	}
}

func TestInboundLimiter(t *testing.T) {
	now := fixedClock()
	l := newInboundLimiter(10, 1e9, now.Now)
	for i := 0; i < 10; i++ {
		if ok, _ := l.allow(1); !ok {
			t.Fatalf("update %d of the burst refused", i)
		}
	}
	ok, warn := l.allow(1)
	if ok || !warn {
		t.Fatalf("11th: ok=%v warn=%v, want refused with a warning", ok, warn)
	}
	if ok, warn := l.allow(1); ok || warn {
		t.Fatalf("12th: ok=%v warn=%v, want refused silently", ok, warn)
	}
	if ok, _ := l.allow(2); !ok {
		t.Fatal("another user is not limited")
	}
	now.Advance(1e9)
	if ok, _ := l.allow(1); !ok {
		t.Fatal("a token refills after a second")
	}
}

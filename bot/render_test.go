package bot

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// TestMessageLengthAfterParsing checks that limits count the text as Telegram does, after parsing the
// HTML: an escaped quote is one character, tags count nothing, surrounding whitespace is trimmed.
func TestMessageLengthAfterParsing(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		ok   bool
	}{
		{"4096 escaped quotes", strings.Repeat("&quot;", MaxTextLen), true},
		{"4097 escaped quotes", strings.Repeat("&quot;", MaxTextLen+1), false},
		{"feedback of 1000 ampersands", "<b>Feedback</b>\n" + Escape(strings.Repeat("&", 1000)), true},
		{"five names of 200 quotes", strings.Repeat("\n\n<b>"+Escape(strings.Repeat(`"`, 200))+"</b> <code>https://k.id/r/abc</code>", 5), true},
		{"tags count nothing", "<b>" + strings.Repeat("a", MaxTextLen) + "</b>", true},
		{"numeric entities", strings.Repeat("&#x1F600;", MaxTextLen/2), true},
		{"numeric entities over", strings.Repeat("&#128512;", MaxTextLen/2) + "a", false},
		{"surrounding whitespace trimmed", "\n  " + strings.Repeat("a", MaxTextLen) + " \n", true},
		{"plain over", strings.Repeat("a", MaxTextLen+1), false},
		{"only whitespace", " \n\t ", false},
		{"only tags", "<b></b>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Message{Text: tc.text}.validate()
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadMessage) {
				t.Errorf("accepted, want ErrBadMessage")
			}
		})
	}
	caption := strings.Repeat("&amp;", MaxCaptionLen)
	if err := (Upload{Kind: UploadPhoto, FileID: "x", Caption: caption}).validate(); err != nil {
		t.Errorf("caption of %d escaped ampersands refused: %v", MaxCaptionLen, err)
	}
	if err := (Upload{Kind: UploadPhoto, FileID: "x", Caption: caption + "a"}).validate(); !errors.Is(err, ErrBadMessage) {
		t.Error("caption over the limit accepted")
	}
}

func TestTextLen(t *testing.T) {
	for _, tc := range []struct {
		html string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"&quot;&amp;&lt;&gt;", 4},
		{"<b>bold</b> <i>x</i>", 6},
		{`<a href="https://k.id/?a=1&amp;b=>2">link</a>`, 4},
		{"<pre><code class=\"language-go\">x := 1</code></pre>", 6},
		{"&#65;&#x42;&#X43;", 3},
		{"&#x1F600;", 2},
		{"😀", 2},
		{"  \n<b> x </b>\n\t ", 1},
		{"&#32;x&#10;", 1},
		{"a\u00a0", 2},
		{"&nbsp;", 6},    // not an entity Telegram knows: the fake refuses it; counted as text
		{"a < b & c", 9}, // likewise
		{"&#0;&#xD800;", 12},
	} {
		if got := TextLen(tc.html); got != tc.want {
			t.Errorf("TextLen(%q) = %d, want %d", tc.html, got, tc.want)
		}
	}
}

// FuzzTextLen checks that TextLen counts every text the fake accepts exactly as the fake does, so the
// limits the bot checks are the limits the fake (and Telegram) enforce.
func FuzzTextLen(f *testing.F) {
	for _, s := range []string{
		"<b>x</b>", " a &amp; b ", `<a href='x>y'>y</a>`, `<a href=x"y>z</a>`, "&#x1F600;", "&#X41;",
		"<pre><code class=\"language-go\">x</code></pre>", "<span class=\"tg-spoiler\">s</span>",
		"<tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>", "<blockquote expandable>q</blockquote>",
		"\n\t<i> </i>x\r\n", "&#32;", "<b >x</b >", "<B>x</b>", strings.Repeat("&quot;", 10),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := tgfake.TextLen(s)
		if err != nil {
			return
		}
		if got := TextLen(s); got != want {
			t.Fatalf("TextLen(%q) = %d, the fake counts %d", s, got, want)
		}
	})
}

func TestFitLines(t *testing.T) {
	more := func(n int) string {
		return "\n\n<i>" + strings.Repeat("…", 3) + " dan " + strconv.Itoa(n) + " lagi</i>"
	}
	rows := func(n int, row string) []string {
		r := make([]string, n)
		for i := range r {
			r[i] = "\n\n" + strconv.Itoa(i) + ". " + row
		}
		return r
	}
	quotes := "<b>" + Escape(strings.Repeat(`"`, 200)) + "</b> <code>https://k.id/r/abc</code>"
	amps := Escape(strings.Repeat("&", 1000))
	for _, tc := range []struct {
		name    string
		head    string
		rows    []string
		tail    func(int) string
		hidden  int
		limit   int
		kept    int
		hasTail bool
	}{
		{name: "all fit", head: "<b>Daftar</b>", rows: rows(3, "a"), tail: more, kept: 3},
		{name: "no rows", head: "<b>Daftar</b>", tail: more, kept: 0},
		{name: "quote-heavy rows all fit", head: "<b>Produk</b>", rows: rows(10, quotes), tail: more, kept: 10},
		// Rows of 224 or 225 units after a head of 6: 18 rows are 4046 units, the tail 17 more.
		{name: "quote-heavy rows cut", head: "<b>Produk</b>", rows: rows(30, quotes), tail: more, kept: 18, hasTail: true},
		{name: "ampersand-heavy rows cut", head: "h", rows: rows(5, amps), tail: more, kept: 4, hasTail: true},
		{name: "small limit", head: "head", rows: rows(5, "abcdefgh"), tail: more, limit: 40, kept: 1, hasTail: true},
		{name: "last row needs no room for the tail", head: "", rows: []string{strings.Repeat("a", 4000), strings.Repeat("b", 96)}, tail: more, kept: 2},
		{name: "nil tail", head: "h", rows: rows(30, quotes), kept: 18},
		{name: "limit over the maximum", head: "h", rows: rows(30, quotes), limit: 1 << 20, kept: 18},
		{name: "first row too long", head: "h", rows: []string{strings.Repeat("x", 5000), "y"}, tail: more, kept: 0, hasTail: true},
		{name: "hidden rows keep the tail", head: "h", rows: rows(2, "a"), hidden: 12, tail: more, kept: 2, hasTail: true},
		{name: "hidden rows leave room for the tail", head: "", rows: []string{strings.Repeat("a", 4000), strings.Repeat("b", 96)}, hidden: 1, tail: more, kept: 1, hasTail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, kept := FitLines(tc.head, tc.rows, tc.hidden, tc.tail, tc.limit)
			if kept != tc.kept {
				t.Errorf("kept %d rows, want %d", kept, tc.kept)
			}
			limit := tc.limit
			if limit <= 0 || limit > MaxTextLen {
				limit = MaxTextLen
			}
			if n := TextLen(got); n > limit {
				t.Fatalf("TextLen = %d, over %d", n, limit)
			}
			want := tc.head
			for _, r := range tc.rows[:tc.kept] {
				want += r
			}
			if tc.hasTail {
				want += tc.tail(len(tc.rows) - tc.kept + tc.hidden)
			}
			if got != want {
				t.Errorf("got %d units with %q…, want %d rows (tail %v)", TextLen(got), got[max(0, len(got)-60):], tc.kept, tc.hasTail)
			}
			if err := (Message{Text: got}).validate(); err != nil && got != "" {
				t.Errorf("result refused: %v", err)
			}
		})
	}
}

// TestSendCountsLikeTheFake sends texts at the limit through the fake, which checks them as Telegram does.
func TestSendCountsLikeTheFake(t *testing.T) {
	f := newFake(t)
	b := newTestBot(t, f, nil, nil)
	ctx := testCtx(t)
	f.SendText(alice, tgfake.Chat{}, "hi")
	for _, text := range []string{
		strings.Repeat("&quot;", MaxTextLen),
		"\n " + Escape(strings.Repeat("&", MaxTextLen-1)) + "<b>!</b>\n",
		fitted(FitLines("<b>Produk</b>", []string{"\n\n" + Escape(strings.Repeat(`"`, 3000)), "\n\n" + Escape(strings.Repeat(`"`, 3000))}, 0,
			func(n int) string { return "\n\n… " + strconv.Itoa(n) }, 0)),
	} {
		if _, err := b.Send(ctx, alice.ID, Message{Text: text}); err != nil {
			t.Errorf("Send of %d units: %v", TextLen(text), err)
		}
	}
	if _, err := b.Send(ctx, alice.ID, Message{Text: strings.Repeat("&quot;", MaxTextLen+1)}); !errors.Is(err, ErrBadMessage) {
		t.Errorf("over the limit: %v, want ErrBadMessage", err)
	}
	f.CheckNoRejections(t)
}

func fitted(text string, _ int) string { return text }

package bot

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// trimmedSpace is the whitespace Telegram trims from both ends of a text after parsing it. Only ASCII
// whitespace: trimming less than Telegram can only make a count too high, never too low.
const trimmedSpace = " \t\r\n"

// TextLen is the length of an HTML text as Telegram measures it against MaxTextLen and MaxCaptionLen:
// UTF-16 units of the text after parsing, so tags count nothing, each of &lt; &gt; &amp; &quot; and the
// numeric entities (&#NN; and &#xHH;) counts as the character it stands for, and whitespace at both ends
// is not counted. Markup Telegram would refuse counts as text.
func TextLen(html string) int {
	return UTF16Len(strings.Trim(plainText(html), trimmedSpace))
}

// plainText is html with its tags removed and its entities decoded.
// PlainText is an HTML message text as the user reads it: tags dropped, entities decoded. Toasts (button
// answers) are plain text, so a catalogue message meant for a chat is turned into one with it.
func PlainText(html string) string { return plainText(html) }

func plainText(s string) string {
	var out strings.Builder
	out.Grow(len(s))
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if end := tagEnd(s, i); end > 0 {
				i = end
				continue
			}
		case '&':
			if end := strings.IndexByte(s[i:min(len(s), i+13)], ';'); end > 0 {
				if r, ok := decodeEntity(s[i+1 : i+end]); ok {
					out.WriteRune(r)
					i += end + 1
					continue
				}
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		out.WriteString(s[i : i+size])
		i += size
	}
	return out.String()
}

// tagEnd returns the index just past the tag starting at s[i] ('<'), or 0 when no tag starts there. An
// end tag runs to the next '>'; a start tag is a name and attributes, whose quoted values may hold '>'.
func tagEnd(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '/' {
		if end := strings.IndexByte(s[i:], '>'); end > 0 {
			return i + end + 1
		}
		return 0
	}
	j := i + 1
	for j < len(s) && isTagNameByte(s[j]) {
		j++
	}
	if j == i+1 {
		return 0
	}
	for {
		for j < len(s) && strings.IndexByte(" \t\n\r", s[j]) >= 0 {
			j++
		}
		switch {
		case j >= len(s):
			return 0
		case s[j] == '>':
			return j + 1
		case !isTagNameByte(s[j]) && s[j] != '_':
			return 0
		}
		for j < len(s) && (isTagNameByte(s[j]) || s[j] == '_') {
			j++
		}
		if j >= len(s) || s[j] != '=' {
			continue
		}
		j++
		if j >= len(s) {
			return 0
		}
		if q := s[j]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[j+1:], q)
			if end < 0 {
				return 0
			}
			j += end + 2
			continue
		}
		for j < len(s) && strings.IndexByte(" >\t\n", s[j]) < 0 {
			j++
		}
	}
}

func isTagNameByte(c byte) bool {
	return c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// decodeEntity decodes the name of an HTML entity (between '&' and ';'): the four named entities Telegram
// knows and any numeric one that is a valid character.
func decodeEntity(name string) (rune, bool) {
	switch name {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	}
	num, ok := strings.CutPrefix(name, "#")
	if !ok || num == "" {
		return 0, false
	}
	base := 10
	if rest, ok := strings.CutPrefix(num, "x"); ok {
		num, base = rest, 16
	} else if rest, ok := strings.CutPrefix(num, "X"); ok {
		num, base = rest, 16
	}
	n, err := strconv.ParseUint(num, base, 32)
	if err != nil || n == 0 || n > utf8.MaxRune || n >= 0xD800 && n <= 0xDFFF {
		return 0, false
	}
	return rune(n), true
}

// FitLines builds a list message that fits in one Telegram message: head, then as many of rows as fit in
// order, then, when rows were left out, tail(omitted). hidden counts rows the caller left out already
// (say a cap on the rows worth reading), so omitted is hidden plus the rows that did not fit. Nothing is
// put between the parts: rows and tail carry their own separators (say a leading "\n\n"). tail may be
// nil. limit is in TextLen units; zero, negative or over MaxTextLen means MaxTextLen. It returns the text
// and how many of rows it kept (the first kept), so that buttons can follow the rows shown. The text is
// never longer than limit unless head alone is (a programming error Send reports as ErrBadMessage); when
// head and the tail do not fit together, the tail is dropped.
func FitLines(head string, rows []string, hidden int, tail func(omitted int) string, limit int) (text string, kept int) {
	if limit <= 0 || limit > MaxTextLen {
		limit = MaxTextLen
	}
	// The parts are measured untrimmed and summed: whole tags and entities never span two parts, so the
	// sum is the length of the joined text before trimming, which can only be longer than after it.
	size := func(s string) int { return UTF16Len(plainText(s)) }
	tailOf := func(omitted int) string {
		if tail == nil || omitted == 0 {
			return ""
		}
		return tail(omitted)
	}
	var b strings.Builder
	b.WriteString(head)
	n := size(head)
	for ; kept < len(rows); kept++ {
		need := n + size(rows[kept]) + size(tailOf(len(rows)-kept-1+hidden))
		if need > limit {
			break
		}
		b.WriteString(rows[kept])
		n += size(rows[kept])
	}
	if t := tailOf(len(rows) - kept + hidden); t != "" && n+size(t) <= limit {
		b.WriteString(t)
	}
	return b.String(), kept
}

package tgfake

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Entity is a Telegram MessageEntity. Offsets and lengths are in UTF-16 code
// units, as Telegram counts them.
type Entity struct {
	Type          string `json:"type"`
	Offset        int    `json:"offset"`
	Length        int    `json:"length"`
	URL           string `json:"url,omitempty"`
	Language      string `json:"language,omitempty"`
	CustomEmojiID string `json:"custom_emoji_id,omitempty"`
}

// utf16Len returns the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++ // An invalid rune, as U+FFFD.
		}
	}
	return n
}

// trimmedSpace is the whitespace Telegram trims from both ends of a message
// text or caption after parsing it. Only ASCII whitespace, as TDLib trims.
const trimmedSpace = " \t\r\n"

// trimText trims a parsed text as Telegram does before checking its length.
func trimText(s string) string { return strings.Trim(s, trimmedSpace) }

// TextLen returns the length of a text sent with parse_mode HTML as the fake
// checks it against the 4096 and 1024 limits: the UTF-16 units of the parsed
// text, trimmed at both ends. It fails where the fake refuses the markup.
func TextLen(html string) (int, error) {
	text, _, err := parseHTML(html)
	if err != nil {
		return 0, err
	}
	return utf16Len(trimText(text)), nil
}

// htmlTags maps each tag Telegram accepts to the entity type it produces.
var htmlTags = map[string]string{
	"b": "bold", "strong": "bold",
	"i": "italic", "em": "italic",
	"u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
	"a":          "text_link",
	"code":       "code",
	"pre":        "pre",
	"blockquote": "blockquote",
	"tg-spoiler": "spoiler", "span": "spoiler",
	"tg-emoji": "custom_emoji",
}

type openTag struct {
	name   string
	offset int // UTF-16 offset of the tag's content
	attrs  map[string]string
	byteAt int
}

// parseHTML parses text the way Telegram does for parse_mode=HTML and returns
// the plain text and its entities, or an error worded like Telegram's
// "can't parse entities" errors.
func parseHTML(s string) (string, []Entity, error) {
	var (
		out   strings.Builder
		pos   int // UTF-16 length of out
		stack []openTag
		ents  []Entity
	)
	fail := func(format string, args ...any) (string, []Entity, error) {
		return "", nil, fmt.Errorf("Bad Request: can't parse entities: "+format, args...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '<' && i+1 < len(s) && s[i+1] == '/':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return fail("Can't find end of the tag at byte offset %d", i)
			}
			name := strings.ToLower(strings.TrimSpace(s[i+2 : i+end]))
			if len(stack) == 0 {
				return fail("Unexpected end tag at byte offset %d", i)
			}
			top := stack[len(stack)-1]
			if name != top.name {
				return fail("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top.name, name)
			}
			stack = stack[:len(stack)-1]
			if e, ok := closeEntity(top, pos, stack); ok {
				ents = append(ents, e)
			}
			i += end + 1
		case c == '<':
			j := i + 1
			for j < len(s) && isTagNameByte(s[j]) {
				j++
			}
			if j == i+1 {
				return fail("Unsupported start tag at byte offset %d: character '<' must be escaped as &lt;", i)
			}
			name := strings.ToLower(s[i+1 : j])
			if _, ok := htmlTags[name]; !ok {
				return fail("Unsupported start tag \"%s\" at byte offset %d", name, i)
			}
			attrs, next, err := parseAttrs(s, j)
			if err != nil {
				return fail("%s in tag \"%s\" at byte offset %d", err.Error(), name, i)
			}
			switch name {
			case "a":
				if attrs["href"] == "" {
					return fail("Tag \"a\" at byte offset %d must have a non-empty href attribute", i)
				}
			case "span":
				if attrs["class"] != "tg-spoiler" {
					return fail("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", i)
				}
			case "tg-emoji":
				if _, err := strconv.ParseInt(attrs["emoji-id"], 10, 64); err != nil {
					return fail("Tag \"tg-emoji\" must have a numeric emoji-id attribute at byte offset %d", i)
				}
			case "blockquote":
				for _, o := range stack {
					if o.name == "blockquote" {
						return fail("Blockquote entities can't be nested (byte offset %d)", i)
					}
				}
			}
			stack = append(stack, openTag{name: name, offset: pos, attrs: attrs, byteAt: i})
			i = next
		case c == '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 || end > 12 {
				return fail("Character '&' at byte offset %d does not start an entity; escape it as &amp;", i)
			}
			r, ok := decodeEntity(s[i+1 : i+end])
			if !ok {
				return fail("Unsupported HTML entity \"%s\" at byte offset %d", s[i:i+end+1], i)
			}
			out.WriteRune(r)
			pos += utf16Len(string(r))
			i += end + 1
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return fail("Strings must be encoded in UTF-8 (byte offset %d)", i)
			}
			out.WriteString(s[i : i+size])
			pos += utf16Len(s[i : i+size])
			i += size
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return fail("Can't find end tag corresponding to start tag \"%s\" at byte offset %d", top.name, top.byteAt)
	}
	sort.SliceStable(ents, func(a, b int) bool { return ents[a].Offset < ents[b].Offset })
	return out.String(), ents, nil
}

func closeEntity(t openTag, pos int, outer []openTag) (Entity, bool) {
	if pos == t.offset {
		return Entity{}, false
	}
	e := Entity{Type: htmlTags[t.name], Offset: t.offset, Length: pos - t.offset}
	switch t.name {
	case "a":
		e.URL = t.attrs["href"]
	case "blockquote":
		if _, ok := t.attrs["expandable"]; ok {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		e.CustomEmojiID = t.attrs["emoji-id"]
	case "code":
		if len(outer) > 0 && outer[len(outer)-1].name == "pre" {
			if lang, ok := strings.CutPrefix(t.attrs["class"], "language-"); ok {
				outer[len(outer)-1].attrs["\x00language"] = lang
			}
			return Entity{}, false // Folded into the enclosing pre as its language.
		}
	case "pre":
		// A <pre><code class="language-x"> pair becomes one pre entity.
		// The code tag is already closed, so its class was recorded on pre.
		e.Language = t.attrs["\x00language"]
	}
	return e, true
}

func isTagNameByte(c byte) bool {
	return c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseAttrs reads attributes from s[i:] up to and including the closing '>'.
func parseAttrs(s string, i int) (map[string]string, int, error) {
	attrs := map[string]string{}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("Can't find end of the tag")
		}
		if s[i] == '>' {
			return attrs, i + 1, nil
		}
		if s[i] == '/' && i+1 < len(s) && s[i+1] == '>' {
			return nil, 0, fmt.Errorf("Self-closing tags are unsupported")
		}
		j := i
		for j < len(s) && (isTagNameByte(s[j]) || s[j] == '_') {
			j++
		}
		if j == i {
			return nil, 0, fmt.Errorf("Expected an attribute name")
		}
		name := strings.ToLower(s[i:j])
		i = j
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			if i >= len(s) {
				return nil, 0, fmt.Errorf("Unclosed attribute value")
			}
			if q := s[i]; q == '"' || q == '\'' {
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return nil, 0, fmt.Errorf("Unclosed attribute value")
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				j := i
				for j < len(s) && s[j] != ' ' && s[j] != '>' && s[j] != '\t' && s[j] != '\n' {
					j++
				}
				val = s[i:j]
				i = j
			}
		}
		val = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&amp;", "&").Replace(val)
		attrs[name] = val
	}
}

// decodeEntity decodes the body of an HTML entity (between '&' and ';').
// Telegram supports the four named entities below and all numeric ones.
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
	if rest, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
		num, base = rest, 16
	}
	n, err := strconv.ParseUint(num, base, 32)
	if err != nil || n == 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
		return 0, false
	}
	return rune(n), true
}

package affiliate

import (
	"strings"
	"unicode/utf8"
)

// CleanText removes from free text what no person types and no database should store: bytes that are
// not UTF-8 become U+FFFD, and control characters other than tab and line breaks (NUL above all, which
// PostgreSQL refuses in text) are dropped. Every validator of free text (names, descriptions, feedback,
// alerts, broadcasts) starts with it, so both backends store the same string.
func CleanText(s string) string {
	if !strings.ContainsFunc(s, isDropped) && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isDropped(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func isDropped(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
}

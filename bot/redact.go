package bot

import (
	"strings"

	"github.com/keranjang/keranjang/internal/secret"
)

// redact removes the bot token from an error's text: the client puts the token in request URLs, and a
// URL (or an error that quotes one, such as *url.Error) may carry it as is or percent-encoded: the colon
// alone (%3A, %3a), every byte, or encoded twice (%253A). All of these are replaced by "***". The part
// after the colon is the secret (the part before is the bot's public user id), so it is removed on its
// own too, wherever it stands.
func redact(err error, token secret.Secret) error {
	if err == nil || !token.IsSet() {
		return err
	}
	tok := token.Reveal()
	needles := []string{tok}
	if _, part, ok := strings.Cut(tok, ":"); ok && len(part) >= minSecretPart {
		needles = append(needles, part)
	}
	msg, found := replaceEncoded(err.Error(), needles)
	if !found {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// minSecretPart is the shortest secret part removed on its own; a shorter one (only in tests) could
// match ordinary words.
const minSecretPart = 8

// replaceEncoded replaces with "***" every occurrence in s of one of needles, tried in order, each byte
// of a needle written as itself, as %XX or as %25XX (hex of either case).
func replaceEncoded(s string, needles []string) (string, bool) {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		for _, needle := range needles {
			if n := matchEncoded(s[i:], needle); n > 0 {
				b.WriteString(s[last:i])
				b.WriteString("***")
				i += n - 1
				last = i + 1
				break
			}
		}
	}
	if last == 0 {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// matchEncoded returns the length of the prefix of s that spells needle, or 0 if s does not start with it.
func matchEncoded(s, needle string) int {
	j := 0
	for k := 0; k < len(needle); k++ {
		n := matchByte(s[j:], needle[k])
		if n == 0 {
			return 0
		}
		j += n
	}
	return j
}

// matchByte returns how many bytes at the start of s spell c: 1 for c itself, 3 for %XX, 5 for %25XX.
func matchByte(s string, c byte) int {
	switch {
	case len(s) >= 1 && s[0] == c:
		return 1
	case len(s) >= 3 && s[0] == '%' && unhex(s[1], s[2]) == int(c):
		return 3
	case len(s) >= 5 && s[:3] == "%25" && unhex(s[3], s[4]) == int(c):
		return 5
	}
	return 0
}

// unhex decodes two hex digits of either case, or returns -1.
func unhex(hi, lo byte) int {
	h, l := hexDigit(hi), hexDigit(lo)
	if h < 0 || l < 0 {
		return -1
	}
	return h<<4 | l
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; the wrapped error's own text still holds the token, so callers log
// only Error().
func (e *redactedError) Unwrap() error { return e.err }

package bot

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/secret"
)

const testToken = "123456:ABC-def_Ghi789jkl"

// percentAll encodes every byte of s as %XX, with upper or lower case hex.
func percentAll(s string, lower bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		h := fmt.Sprintf("%%%02X", s[i])
		if lower {
			h = strings.ToLower(h)
		}
		b.WriteString(h)
	}
	return b.String()
}

// decodeLoosely undoes percent-encoding, leaving malformed escapes as they are.
func decodeLoosely(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// leaks reports whether the secret part of the token can be read from msg, as is or decoded once or twice.
func leaks(msg string) bool {
	_, part, _ := strings.Cut(testToken, ":")
	once := decodeLoosely(msg)
	return strings.Contains(msg, part) || strings.Contains(once, part) || strings.Contains(decodeLoosely(once), part)
}

// TestRedactURLError redacts the token from real errors of an HTTP client whose request URL holds it in
// each form a URL can carry it.
func TestRedactURLError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // connections to it are now refused
	client := &http.Client{Timeout: 5 * time.Second}
	tok := secret.Secret(testToken)
	for _, tc := range []struct{ name, url string }{
		{"raw", addr + "/bot" + testToken + "/getMe"},
		{"colon encoded", addr + "/bot" + strings.Replace(testToken, ":", "%3A", 1) + "/getMe"},
		{"colon encoded lower case", addr + "/bot" + strings.Replace(testToken, ":", "%3a", 1) + "/getMe"},
		{"path-escaped", addr + "/bot" + url.PathEscape(testToken) + "/getMe"},
		{"query-escaped", addr + "/getMe?token=" + url.QueryEscape(testToken)},
		{"fully encoded", addr + "/bot" + percentAll(testToken, false) + "/getMe"},
		{"fully encoded lower case", addr + "/bot" + percentAll(testToken, true) + "/getMe"},
		{"encoded twice", addr + "/bot" + strings.Replace(testToken, ":", "%253A", 1) + "/getMe"},
		{"in a query value of a URL", addr + "/go?next=" + url.QueryEscape(addr+"/bot"+testToken+"/getMe")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Get(tc.url)
			var uerr *url.Error
			if !errors.As(err, &uerr) {
				t.Fatalf("want a *url.Error, got %v", err)
			}
			if !leaks(err.Error()) {
				t.Fatalf("the test error does not hold the token: %v", err)
			}
			red := redact(fmt.Errorf("send message: %w", err), tok)
			if leaks(red.Error()) {
				t.Errorf("token left in %q", red.Error())
			}
			if !errors.As(red, &uerr) {
				t.Error("redact broke errors.As")
			}
		})
	}
}

func TestRedactForms(t *testing.T) {
	tok := secret.Secret(testToken)
	for _, form := range []string{
		testToken,
		strings.Replace(testToken, ":", "%3A", 1),
		strings.Replace(testToken, ":", "%3a", 1),
		url.QueryEscape(testToken),
		url.PathEscape(testToken),
		percentAll(testToken, false),
		percentAll(testToken, true),
		strings.Replace(testToken, ":", "%253A", 1),
		strings.ReplaceAll(percentAll(testToken, false), "%", "%25"),
		"987654:" + strings.SplitN(testToken, ":", 2)[1], // the secret part next to another id
	} {
		err := redact(errors.New(`Post "https://api.telegram.org/bot`+form+`/sendMessage": EOF`), tok)
		if leaks(err.Error()) {
			t.Errorf("%s: token left in %q", form, err.Error())
		}
		if !strings.Contains(err.Error(), "***") {
			t.Errorf("%s: no mark where the token was: %q", form, err.Error())
		}
	}
	plain := errors.New("dial tcp: connection refused")
	if redact(plain, tok) != plain || redact(nil, tok) != nil || redact(plain, "") != plain {
		t.Error("an error without the token must come back unchanged")
	}
}

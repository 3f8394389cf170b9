package i18n

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogueComplete checks that every message exists in both languages with the same arguments and
// only the HTML Telegram accepts.
func TestCatalogueComplete(t *testing.T) {
	tag := regexp.MustCompile(`</?([a-z-]+)[^>]*>`)
	allowed := map[string]bool{"b": true, "i": true, "u": true, "s": true, "code": true, "pre": true, "a": true, "blockquote": true}
	for key, m := range catalogue {
		if strings.TrimSpace(m.id) == "" || strings.TrimSpace(m.en) == "" {
			t.Errorf("%s: missing a language", key)
		}
		if a, b := strings.Join(verb.FindAllString(m.id, -1), ","), strings.Join(verb.FindAllString(m.en, -1), ","); a != b {
			t.Errorf("%s: arguments differ: id %q, en %q", key, a, b)
		}
		for _, s := range []string{m.id, m.en} {
			for _, g := range tag.FindAllStringSubmatch(s, -1) {
				if !allowed[g[1]] {
					t.Errorf("%s: tag <%s> is not Telegram HTML", key, g[1])
				}
			}
			if strings.Count(s, "<b>") != strings.Count(s, "</b>") || strings.Count(s, "<code>") != strings.Count(s, "</code>") {
				t.Errorf("%s: unbalanced tags in %q", key, s)
			}
			if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(tag.ReplaceAllString(s, ""), "&lt;", ""), "&gt;", ""), "<") {
				t.Errorf("%s: bare < in %q", key, s)
			}
		}
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		in   affiliate.Rupiah
		want string
	}{
		{0, "Rp0"}, {5, "Rp5"}, {999, "Rp999"}, {1000, "Rp1.000"}, {150000, "Rp150.000"},
		{1234567, "Rp1.234.567"}, {-2500, "-Rp2.500"}, {1_000_000_000_000, "Rp1.000.000.000.000"},
	} {
		if got := Money(tc.in); got != tc.want {
			t.Errorf("Money(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRateDateClockDuration(t *testing.T) {
	if got := Rate(affiliate.LangID, 1250); got != "12,5%" {
		t.Errorf("Rate id = %q", got)
	}
	if got := Rate(affiliate.LangEN, 1005); got != "10.05%" {
		t.Errorf("Rate en = %q", got)
	}
	d := time.Date(2026, 8, 17, 0, 0, 0, 0, time.UTC)
	if got := Date(affiliate.LangID, d); got != "17 Agustus 2026" {
		t.Errorf("Date id = %q", got)
	}
	if got := Date(affiliate.LangEN, d); got != "17 August 2026" {
		t.Errorf("Date en = %q", got)
	}
	if got := Clock(21*60 + 5); got != "21:05" {
		t.Errorf("Clock = %q", got)
	}
	if got := Duration(affiliate.LangID, 168*time.Hour); got != "7 hari" {
		t.Errorf("Duration id = %q", got)
	}
	if got := Duration(affiliate.LangEN, 36*time.Hour); got != "36 hours" {
		t.Errorf("Duration en = %q", got)
	}
}

func TestTFallbacks(t *testing.T) {
	if got := T(affiliate.LangEN, "no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q", got)
	}
	if got := T("xx", "on"); got != "aktif" {
		t.Errorf("unknown language should fall back to Indonesian, got %q", got)
	}
	if got := Reason(affiliate.LangEN, affiliate.Errorf(affiliate.EInvalid, "shop_name_long", 64)); !strings.Contains(got, "64") {
		t.Errorf("Reason with args = %q", got)
	}
	if got := T(affiliate.LangEN, "err.rate_range"); strings.Contains(got, "%%") || !strings.Contains(got, "80%") {
		t.Errorf("a literal percent sign without arguments: %q", got)
	}
	if got := Reason(affiliate.LangEN, errors.New("disk on fire")); got != T(affiliate.LangEN, "err.internal") || strings.Contains(got, "disk") {
		t.Errorf("internal errors must not leak: %q", got)
	}
}

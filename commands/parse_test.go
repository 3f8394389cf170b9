package commands

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keranjang/keranjang/affiliate"
)

func TestParseProductOneLine(t *testing.T) {
	h := &Handler{cfg: Config{ShopHosts: []string{"tokoku.id"}}}
	for _, tc := range []struct {
		name, line, reason string
	}{
		{"ok", "Kaos Batik | 150.000 | 10 | https://tokoku.id/kaos", ""},
		{"ok with Rp and comma rate", "Kaos | Rp 99.000 | 12,5% | https://www.tokoku.id/k?x=1", ""},
		{"empty name", " | 1000 | 10 | https://tokoku.id/k", "name_empty"},
		{"zero price", "Kaos | 0 | 10 | https://tokoku.id/k", "price_range"},
		{"bad price", "Kaos | murah | 10 | https://tokoku.id/k", "amount_format"},
		{"rate too high", "Kaos | 1000 | 81 | https://tokoku.id/k", "rate_range"},
		{"rate too low", "Kaos | 1000 | 0,5 | https://tokoku.id/k", "rate_range"},
		{"http", "Kaos | 1000 | 10 | http://tokoku.id/k", "url_not_https"},
		{"host not allowed", "Kaos | 1000 | 10 | https://other.id/k", "url_host_not_allowed"},
		{"user info", "Kaos | 1000 | 10 | https://a:b@tokoku.id/k", "url_userinfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := strings.Split(tc.line, "|")
			p, err := h.parseProduct(parts[0], parts[1], parts[2], parts[3])
			if affiliate.ErrorReason(err) != tc.reason {
				t.Fatalf("reason = %q (%v), want %q", affiliate.ErrorReason(err), err, tc.reason)
			}
			if err == nil && (p.Name == "" || p.Price <= 0 || p.Rate < affiliate.MinRate || !strings.HasPrefix(p.URL, "https://")) {
				t.Fatalf("accepted a bad product: %+v", p)
			}
		})
	}
}

// FuzzOneLineForm feeds arbitrary "/addproduct a | b | c | d" arguments to the parser: it must never
// panic, and whatever it accepts must satisfy every product rule.
func FuzzOneLineForm(f *testing.F) {
	for _, s := range []string{
		"Kaos | 150.000 | 10 | https://tokoku.id/kaos", "a|1|1|https://x.id", "|||", "Ñ | Rp1.000,- | 80% | https://a.b/c?d=e#f",
	} {
		f.Add(s)
	}
	h := &Handler{}
	f.Fuzz(func(t *testing.T, line string) {
		parts := strings.Split(line, "|")
		if len(parts) != 4 {
			return
		}
		p, err := h.parseProduct(parts[0], parts[1], parts[2], parts[3])
		if err != nil {
			if affiliate.ErrorCode(err) != affiliate.EInvalid {
				t.Fatalf("non-validation error %v", err)
			}
			return
		}
		if n := utf8.RuneCountInString(p.Name); n == 0 || n > affiliate.MaxProductNameLen {
			t.Fatalf("name %q accepted", p.Name)
		}
		if affiliate.ValidatePrice(p.Price) != nil || affiliate.ValidateRate(p.Rate) != nil {
			t.Fatalf("price %d / rate %d accepted", p.Price, p.Rate)
		}
		if again, err := affiliate.ValidateShopURL(p.URL, nil); err != nil || again != p.URL {
			t.Fatalf("URL %q accepted but does not validate again (%q, %v)", p.URL, again, err)
		}
	})
}

package affiliate

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseRupiah(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   Rupiah
		reason string
	}{
		{"150000", 150000, ""}, {"150.000", 150000, ""}, {"Rp150.000", 150000, ""}, {"Rp 150.000", 150000, ""},
		{"rp.150.000", 150000, ""}, {"150,000", 150000, ""}, {"1.500.000", 1500000, ""}, {"Rp150.000,-", 150000, ""},
		{"150.000,00", 150000, ""}, {"1 000", 1000, ""}, {"0", 0, ""}, {"999", 999, ""},
		{"", 0, "amount_format"}, {"Rp", 0, "amount_format"}, {"abc", 0, "amount_format"}, {"-5", 0, "amount_format"},
		{"1.5", 0, "amount_format"}, {"15.00", 0, "amount_format"}, {"1.000.00", 0, "amount_format"},
		{"1,000.000", 0, "amount_format"}, {".100", 0, "amount_format"}, {"1000.000", 0, "amount_format"},
		{"12e3", 0, "amount_format"}, {"99999999999999999999", 0, "amount_range"},
	} {
		got, err := ParseRupiah(tc.in)
		if ErrorReason(err) != tc.reason || (tc.reason == "" && got != tc.want) {
			t.Errorf("ParseRupiah(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.reason)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want BasisPoints
		ok   bool
	}{
		{"10", 1000, true}, {"10%", 1000, true}, {"10 %", 1000, true}, {"12,5", 1250, true}, {"12.5", 1250, true},
		{"12.05", 1205, true}, {"0.5", 50, true}, {"80", 8000, true},
		{"", 0, false}, {"%", 0, false}, {"ten", 0, false}, {"1.234", 0, false}, {"1.", 0, false}, {".5", 0, false},
		{"-1", 0, false}, {"1e2", 0, false}, {"123456789", 0, false},
	} {
		got, err := ParseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValidateRateAndPrice(t *testing.T) {
	for _, tc := range []struct {
		r  BasisPoints
		ok bool
	}{{99, false}, {100, true}, {8000, true}, {8001, false}, {0, false}, {-100, false}} {
		if err := ValidateRate(tc.r); (err == nil) != tc.ok {
			t.Errorf("ValidateRate(%d) = %v", tc.r, err)
		}
	}
	for _, tc := range []struct {
		p  Rupiah
		ok bool
	}{{0, false}, {1, true}, {MaxPrice, true}, {MaxPrice + 1, false}, {-1, false}} {
		if err := ValidatePrice(tc.p); (err == nil) != tc.ok {
			t.Errorf("ValidatePrice(%d) = %v", tc.p, err)
		}
	}
}

func TestCommission(t *testing.T) {
	for _, tc := range []struct {
		amount Rupiah
		rate   BasisPoints
		want   Rupiah
	}{
		{150000, 1000, 15000}, {350000, 1250, 43750}, {999, 1000, 99}, {1, 8000, 0}, {3, 3333, 0},
		{MaxPrice, MaxRate, 800_000_000_000}, {0, 1000, 0}, {-5, 1000, 0}, {100, 0, 0},
	} {
		if got := Commission(tc.amount, tc.rate); got != tc.want {
			t.Errorf("Commission(%d, %d) = %d, want %d", tc.amount, tc.rate, got, tc.want)
		}
	}
	if BasisPoints(1250).Percent() != "12.5" || BasisPoints(1000).Percent() != "10" || BasisPoints(1205).Percent() != "12.05" {
		t.Error("Percent")
	}
}

func TestValidateShopURL(t *testing.T) {
	hosts := []string{"tokopedia.com", "shop.example.id"}
	for _, tc := range []struct {
		in     string
		hosts  []string
		want   string
		reason string
	}{
		{"https://tokoku.id/kaos?warna=merah", nil, "https://tokoku.id/kaos?warna=merah", ""},
		{"  HTTPS://Tokoku.ID/Kaos  ", nil, "https://tokoku.id/Kaos", ""},
		{"https://tokoku.id:443/x", nil, "https://tokoku.id/x", ""},
		{"https://tokoku.id/x#frag", nil, "https://tokoku.id/x", ""},
		{"https://www.tokopedia.com/toko/kaos", hosts, "https://www.tokopedia.com/toko/kaos", ""},
		{"https://tokopedia.com/kaos", hosts, "https://tokopedia.com/kaos", ""},
		{"http://tokoku.id/kaos", nil, "", "url_not_https"},
		{"ftp://tokoku.id/kaos", nil, "", "url_not_https"},
		{"javascript:alert(1)", nil, "", "url_invalid"},
		{"//tokoku.id/x", nil, "", "url_not_https"},
		{"tokoku.id/kaos", nil, "", "url_invalid"},
		{"https://user:pw@tokoku.id/", nil, "", "url_userinfo"},
		{"https://user@tokoku.id/", nil, "", "url_userinfo"},
		{"https://127.0.0.1/x", nil, "", "url_ip_host"},
		{"https://[::1]/x", nil, "", "url_ip_host"},
		{"https://2130706433/x", nil, "", "url_ip_host"},
		{"https://0x7f.1/x", nil, "", "url_ip_host"},
		{"https://localhost/x", nil, "", "url_local_host"},
		{"https://shop.localhost/x", nil, "", "url_local_host"},
		{"https://intranet/x", nil, "", "url_local_host"},
		{"https://tokoku.id:8443/x", nil, "", "url_port"},
		{"https://evil-tokopedia.com/x", hosts, "", "url_host_not_allowed"},
		{"https://tokopedia.com.evil.id/x", hosts, "", "url_host_not_allowed"},
		{"https://tokoku.id/a b", nil, "", "url_invalid"},
		{"https://tokoku.id/\x00", nil, "", "url_invalid"},
		{"", nil, "", "url_invalid"},
		{"https://../x", nil, "", "url_invalid"},
		{"https://a..b.id/x", nil, "", "url_invalid"},
		{"https://-a.id/x", nil, "", "url_invalid"},
		{"https://a_b.id/x", nil, "", "url_invalid"},
		{"https://tokó.id/x", nil, "", "url_invalid"},
		{"https://xn--tok-kpa.id/x", nil, "https://xn--tok-kpa.id/x", ""},
		{"https://tokoku.id/" + strings.Repeat("a", MaxURLLen), nil, "", "url_invalid"},
	} {
		got, err := ValidateShopURL(tc.in, tc.hosts)
		if ErrorReason(err) != tc.reason || got != tc.want {
			t.Errorf("ValidateShopURL(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.reason)
		}
	}
}

func TestNamesAndText(t *testing.T) {
	if n, err := ValidateProductName("  Kaos   Batik \n Pria "); err != nil || n != "Kaos Batik Pria" {
		t.Errorf("name = %q, %v", n, err)
	}
	if _, err := ValidateProductName(strings.Repeat("é", 100)); err != nil {
		t.Errorf("100 characters (not bytes) are fine: %v", err)
	}
	if _, err := ValidateProductName(strings.Repeat("é", 101)); ErrorReason(err) != "name_long" {
		t.Errorf("101 characters: %v", err)
	}
	if _, err := ValidateProductName(" \t "); ErrorReason(err) != "name_empty" {
		t.Errorf("blank: %v", err)
	}
	if _, err := ValidateDescription(strings.Repeat("x", 1001)); ErrorReason(err) != "description_long" {
		t.Errorf("description: %v", err)
	}
	if _, err := ValidateShopName(strings.Repeat("x", MaxShopNameLen+1)); ErrorReason(err) != "shop_name_long" {
		t.Errorf("shop: %v", err)
	}
}

func TestLangZoneClock(t *testing.T) {
	for code, want := range map[string]Lang{"id": LangID, "id-ID": LangID, "ID": LangID, "en": LangEN, "": LangEN, "ms": LangEN} {
		if got := LangFromCode(code); got != want {
			t.Errorf("LangFromCode(%q) = %q", code, got)
		}
	}
	for in, want := range map[string]string{"WIB": "Asia/Jakarta", "wita": "Asia/Makassar", "WIT": "Asia/Jayapura",
		"Asia/Tokyo": "Asia/Tokyo", "UTC": "UTC"} {
		if got, err := ParseTimeZone(in); err != nil || got != want {
			t.Errorf("ParseTimeZone(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "Local", "Mars/Base", "../../etc/passwd", strings.Repeat("A", 70)} {
		if _, err := ParseTimeZone(bad); err == nil {
			t.Errorf("ParseTimeZone(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int{"21:00": 1260, "7:05": 425, "00:00": 0, "23.59": 1439} {
		if got, err := ParseClock(in); err != nil || got != want {
			t.Errorf("ParseClock(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"24:00", "12:60", "1200", "a:bc", "12:5"} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) accepted", bad)
		}
	}
}

func TestRateChanges(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l := Link{Code: "AAAAAAAA"}
	// A raise: nothing is kept.
	if got, tell := ApplyRateChange(l, 1000, 1500, now); tell || got.KeptRate != 0 {
		t.Errorf("raise: %+v tell=%v", got, tell)
	}
	// A cut: the old rate is kept for 30 days.
	cut, tell := ApplyRateChange(l, 1500, 1000, now)
	if !tell || cut.KeptRate != 1500 || !cut.KeptUntil.Equal(now.Add(RateProtection)) {
		t.Fatalf("cut: %+v tell=%v", cut, tell)
	}
	if got := EffectiveRate(1000, cut, now.Add(29*24*time.Hour)); got != 1500 {
		t.Errorf("within 30 days: %d", got)
	}
	if got := EffectiveRate(1000, cut, now.Add(RateProtection)); got != 1000 {
		t.Errorf("after 30 days: %d", got)
	}
	// A second cut does not extend the protection.
	again, tell := ApplyRateChange(cut, 1000, 500, now.Add(10*24*time.Hour))
	if !tell || again.KeptRate != 1500 || !again.KeptUntil.Equal(cut.KeptUntil) {
		t.Errorf("second cut: %+v", again)
	}
	// A raise above the kept rate wins at once.
	if got := EffectiveRate(2000, cut, now); got != 2000 {
		t.Errorf("raise above kept: %d", got)
	}
	// A cut after the protection expired starts a new one from the then-current rate.
	late, _ := ApplyRateChange(cut, 1000, 800, now.Add(40*24*time.Hour))
	if late.KeptRate != 1000 {
		t.Errorf("cut after expiry keeps %d", late.KeptRate)
	}
}

func TestClickURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://shop.id/p", "https://shop.id/p?kclid=abc"},
		{"https://shop.id/p?a=1", "https://shop.id/p?a=1&kclid=abc"},
		{"https://shop.id/p?a=1&", "https://shop.id/p?a=1&kclid=abc"},
		{"https://shop.id/p?q=batik%20tulis", "https://shop.id/p?q=batik%20tulis&kclid=abc"},
		{"https://shop.id/", "https://shop.id/?kclid=abc"},
	} {
		got := ClickURL(tc.in, "abc")
		if got != tc.want {
			t.Errorf("ClickURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := url.Parse(got); err != nil {
			t.Errorf("result does not parse: %v", err)
		}
	}
	if !ValidCode("AbC123xy") || ValidCode("AbC123x") || ValidCode("AbC123x!") || ValidCode("AbC123xyz") {
		t.Error("ValidCode")
	}
}

func FuzzParseRupiah(f *testing.F) {
	for _, s := range []string{"150.000", "Rp 1.000.000,-", "1,5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRupiah(s)
		if err == nil && v < 0 {
			t.Fatalf("negative amount %d from %q", v, s)
		}
	})
}

func TestClickIDTimePrefix(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Unix(0, 0), "0000000"},
		{time.Unix(0, 61e6), "000000z"},
		{time.Unix(0, 62e6), "0000010"},
		{time.Unix(-1, 0), "0000000"},
		{time.UnixMilli(MaxClickMilli + 1), "zzzzzzz"},
	}
	for _, tt := range tests {
		var p [ClickIDTimeLen]byte
		PutClickTime(p[:], tt.at)
		if string(p[:]) != tt.want {
			t.Errorf("prefix(%v) = %q, want %q", tt.at, p, tt.want)
		}
	}
	a, b := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 1e6, time.UTC)
	var pa, pb [ClickIDTimeLen]byte
	PutClickTime(pa[:], a)
	PutClickTime(pb[:], b)
	if string(pa[:]) >= string(pb[:]) {
		t.Fatalf("prefixes %q, %q out of time order", pa, pb)
	}
}

package affiliate

import "testing"

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"Kemeja Batik":            "Kemeja Batik",
		"a\x00b":                  "ab",
		"baris 1\nbaris 2\tx\r\n": "baris 1\nbaris 2\tx\r\n",
		"bel\a esc\x1b del\x7f":   "bel esc del",
		"bad \xff utf8":           "bad \uFFFD utf8",
		"🔥 Promo ✨":               "🔥 Promo ✨",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
	// Every validator of free text cleans first.
	if s, err := ValidateProductName("Gamis\x00 Syari"); err != nil || s != "Gamis Syari" {
		t.Errorf("ValidateProductName: %q, %v", s, err)
	}
	if s, err := ValidateShopName("\x00Toko\x00"); err != nil || s != "Toko" {
		t.Errorf("ValidateShopName: %q, %v", s, err)
	}
	if _, err := ValidateFeedbackText("\x00\x00"); err == nil {
		t.Error("feedback of NULs only must be refused as empty")
	}
	if a, err := NewAlert("Aturan\x00 baru", "isi\x00", "", AudienceAll, "api"); err != nil || a.Title != "Aturan baru" || a.Body != "isi" {
		t.Errorf("NewAlert: %+v, %v", a, err)
	}
}

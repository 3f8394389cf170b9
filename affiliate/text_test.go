package affiliate

import (
	"strings"
	"testing"
	"time"
)

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

func TestEditProductKeepsWhatNeverChanges(t *testing.T) {
	created := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	old := Product{ID: 7, SellerID: 10, Name: "Kopi", Price: 50000, Rate: 1000, URL: "https://shop.example.com/kopi",
		Status: ProductActive, CreatedAt: created}
	now := created.Add(time.Hour)
	p, retarget, err := EditProduct(old, func(p *Product) error {
		p.ID, p.SellerID, p.CreatedAt, p.Rate = 99, 11, now, 1500
		return nil
	}, nil, now)
	if err != nil || retarget || p.ID != 7 || p.SellerID != 10 || !p.CreatedAt.Equal(created) || p.Rate != 1500 || !p.UpdatedAt.Equal(now) {
		t.Fatalf("edit: %+v retarget %v, %v", p, retarget, err)
	}
	if _, retarget, _ := EditProduct(old, func(p *Product) error { p.Status = ProductPaused; return nil }, nil, now); !retarget {
		t.Error("pausing must retarget the links")
	}
	if _, _, err := EditProduct(old, func(p *Product) error { p.Rate = 0; return nil }, nil, now); ErrorReason(err) != "rate_range" {
		t.Errorf("an invalid edit: %v", err)
	}
}

func TestValidateOutboxAndPrepareClicks(t *testing.T) {
	if err := ValidateOutbox([]OutboxMessage{{Key: "k", ChatID: 1, Text: "t"}, {Key: "k2", ChatID: 1}}); ErrorReason(err) != "outbox_text" {
		t.Errorf("no text: %v", err)
	}
	in := []Click{{Code: "abcdefgh", At: time.Unix(1700000000, 0), Unique: true}, {Code: "abcdefgh", Bot: true}}
	out, err := PrepareClicks(in, strings.NewReader(strings.Repeat("r", 64)))
	if err != nil || out[0].ID == "" || out[0].Unique || out[1].ID != "" || !in[0].Unique || in[0].ID != "" {
		t.Fatalf("prepare: %+v (input %+v), %v", out, in, err)
	}
	if _, err := PrepareClicks([]Click{{Code: "bad"}}, nil); ErrorReason(err) != "click_code" {
		t.Errorf("bad code: %v", err)
	}
}

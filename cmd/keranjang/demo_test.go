package main

import (
	"io"
	"strings"
	"testing"
)

// TestDemo runs `keranjang demo` in-process and reads its transcript: every scene is there, in order, with
// the numbers the script produces, and the strict fake refused none of the bot's calls (the demo fails
// otherwise).
func TestDemo(t *testing.T) {
	ctx, cancel := waitCtx()
	defer cancel()
	var out strings.Builder
	if err := demo(ctx, nil, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\ntranscript:\n%s", err, out.String())
	}
	transcript := out.String()
	scenes := []struct{ scene, text string }{
		{"legend", "Legend: 👤 a person acts · 🤖 → the bot sends a message · 🤖 ✎ the bot edits one"},
		{"seller application", "Your seller application for Batik Budi Pekalongan went to the admins"},
		{"admin card", "Pendaftaran penjual"},
		{"approval", "👤 Sari presses [✅ Setujui]"},
		{"seller approved", "Congratulations! Batik Budi Pekalongan is approved"},
		{"card edited", "🤖 ✎ Sari: ✅ Batik Budi Pekalongan (ID 2002) disetujui sebagai penjual"},
		{"guided product, bad answer explained", "Komisi harus antara 1% dan 80%"},
		{"guided product saved", "Produk #1 Kemeja Batik Tulis Lasem ditambahkan"},
		{"one-line product", "Produk #2 Selendang Sutra ditambahkan"},
		{"joining by button", "👤 Wati presses [➕ Ikut: Kemeja Batik Tulis Lasem]"},
		{"toast", "🤖 (toast) Link keranjang dikirim."},
		{"seller hears of Wati", "Wati ikut mempromosikan produkmu #1"},
		{"joining by deep link", "👤 Joko: /start p_1"},
		{"seller hears of Joko", "Joko ikut mempromosikan produkmu #1"},
		{"a click", "(phone) → 302 https://shop.example.id/kemeja-lasem?ref=bot&kclid="},
		{"link preview", "(Telegram link preview) → 302"},
		{"unknown link", "GET /r/NoSuchXy from 203.0.113.55 (phone) → 404"},
		{"/links: the preview is not a click", "Klik hari ini: 3 · total: 3 (unik: 2)"},
		{"/affiliates", "klik 3 · unik 2"},
		{"/affiliates, second row", "klik 1 · unik 1"},
		{"/myproducts", "Klik: 4 (unik: 3) · Afiliasi: 2"},
		{"feedback confirmed", "sudah dikirim ke penjual"},
		{"feedback to the seller", "Masukan dari afiliasi Wati untuk #1 Kemeja Batik Tulis Lasem"},
		{"refusal", "👤 Joko: /approve 2002\n   🤖 → Joko: This command is for admins only."},
		{"end", "Bot API calls, none rejected."},
	}
	at := 0
	for _, s := range scenes {
		i := strings.Index(transcript[at:], s.text)
		if i < 0 {
			t.Fatalf("scene %q missing (or out of order): want %q after offset %d in:\n%s", s.scene, s.text, at, transcript)
		}
		at += i + len(s.text)
	}
	if strings.Contains(transcript, "gangguan") || strings.Contains(transcript, "went wrong") {
		t.Errorf("the bot reported an error in the demo:\n%s", transcript)
	}
}

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
		{"legend: the shop", "🌐 a buyer's browser · 🏪 a shop's server."},
		{"seller application", "Your seller application for Batik Budi Pekalongan went to the admins"},
		{"admin card", "Pendaftaran penjual"},
		{"approval", "👤 Sari presses [✅ Setujui]"},
		{"card edited", "🤖 ✎ Sari: ✅ Batik Budi Pekalongan (ID 2002) disetujui sebagai penjual"},
		{"seller approved", "Congratulations! Batik Budi Pekalongan is approved"},
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
		{"earnings before any order", "👤 Wati: /earnings"},
		{"earnings before: no orders yet", "Pesanan: 0 · GMV: Rp0 (refund Rp0)\n      Komisi estimasi: Rp0\n      Komisi cair: Rp0\n      Komisi ditarik: Rp0"},
		{"the buyer's click", "from 203.0.113.77 (phone) → 302 https://shop.example.id/kemeja-lasem?ref=bot&kclid="},
		{"the signed postback", "🏪 POST /api/v1/conversions {\"order_id\":\"INV-1001\",\"click_id\":\""},
		{"the postback answered", "(signed) → 200"},
		{"the order as stored", "stored: order INV-1001 · link "},
		{"the stored order's numbers", "affiliate 3003 · amount 350000 · status pending · rate 1250 bp · commission 43750"},
		{"the new order notice", "🤖 → Wati: 🛒 Pesanan baru lewat linkmu: Kemeja Batik Tulis Lasem, Rp350.000. Estimasi komisi: Rp43.750."},
		{"settle", "👤 Budi: /settle INV-1001"},
		{"settled for the seller", "🧾 Pesanan INV-1001 — selesai"},
		{"settled notice", "🤖 → Wati: ✅ Pesanan Kemeja Batik Tulis Lasem (Rp350.000) selesai. Komisimu: Rp43.750."},
		{"partial refund", "👤 Budi: /refund INV-1001 100000"},
		{"refunded for the seller", "Direfund: Rp100.000 · komisi ditarik: Rp12.500"},
		{"refund notice", "🤖 → Wati: ↩️ Pesanan Kemeja Batik Tulis Lasem (Rp350.000) dikembalikan sebesar Rp100.000. Komisi ditarik: Rp12.500; komisi tersisa: Rp31.250."},
		{"CSV sent", "👤 Budi sends [document pesanan-toko.csv]"},
		{"the bad row", "│ INV-1004,NoSuchXy,175000,pending"},
		{"CSV counts", "Diimpor: 2 · tidak berubah: 0 · ditolak: 1"},
		{"CSV reason", "Baris 4: "},
		{"earnings after", "👤 Wati: /earnings"},
		{"earnings after: the numbers moved", "Klik: 4 (unik 3)\n      Pesanan: 2 · GMV: Rp700.000 (refund Rp100.000)\n      Komisi estimasi: Rp43.750\n      Komisi cair: Rp43.750\n      Komisi ditarik: Rp12.500"},
		{"chart", "🤖 → Wati: [photo] 📈 30 hari terakhir: 4 klik, komisi Rp75.000"},
		{"digests now", "👤 Sari: /digestnow"},
		{"policy draft", "👤 Sari: /policy Biaya layanan penjual naik menjadi 2%"},
		{"policy preview", "🤖 → Sari: 📢 Pratinjau info kebijakan"},
		{"policy audiences", "[Semua pengguna] [Afiliasi] [Penjual] / [Batal]"},
		{"policy sent to all", "👤 Sari presses [Semua pengguna]"},
		{"policy progress", "🤖 ✎ Sari: ⏳ Info kebijakan #1 sedang dikirim…"},
		{"policy final report", "🤖 ✎ Sari: ✅ Info kebijakan #1 selesai.\n      Antre: 0\n      Terkirim: 4\n      Tidak terjangkau (memblokir bot): 0\n      Gagal: 0\n      Dilewati (info mati): 0"},
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
	if strings.Contains(transcript, "ksk_") || strings.Contains(transcript, "sha256=") {
		t.Errorf("the transcript shows the seller's API key or a signature:\n%s", transcript)
	}
	if strings.Contains(transcript, "%!") {
		t.Errorf("a message of the demo has a formatting error:\n%s", transcript)
	}
	// The import's two notices go to two chats through the outbox, whose pacing may send either first.
	if i, j := strings.Index(transcript, "Baris 4: "), strings.Index(transcript, "━━ Wati's earnings after"); i < 0 || j < i {
		t.Errorf("the import scene is missing or out of place")
	} else {
		for _, notice := range []string{
			"🤖 → Wati: 🛒 Pesanan baru lewat linkmu",
			"🤖 → Joko: ✅ The order of Kemeja Batik Tulis Lasem (Rp350.000) has settled.",
		} {
			if !strings.Contains(transcript[i:j], notice) {
				t.Errorf("the import's notice %q is missing", notice)
			}
		}
	}
	// The digests and the alert go to several chats through the outbox, in an order that may vary (the
	// admin's direct reply may come before or after them).
	sections := []struct {
		from, to string
		want     []string
	}{
		{"👤 Sari: /digestnow", "━━ A policy change reaches everyone", []string{
			"🤖 → Sari: 📨 Ringkasan diantrekan untuk 2 pengguna (2 tanpa aktivitas dilewati, 0 gagal).",
			"🤖 → Wati: 📊 Ringkasan hari ini",
			"👆 Klik: 4 (unik 3)\n      🛒 Pesanan: 2 · konversi 50%",
			"🤖 → Joko: 📊 Today so far",
			"👆 Clicks: 1 (unique 1)\n      🛒 Orders: 1 · conversion 100%",
		}},
		{"👤 Sari presses [Semua pengguna]", "✅ Info kebijakan #1 selesai.", []string{
			"🤖 → Sari: 📢 Biaya layanan penjual naik menjadi 2%",
			"🤖 → Budi: 📢 Biaya layanan penjual naik menjadi 2%",
			"🤖 → Wati: 📢 Biaya layanan penjual naik menjadi 2%",
			"🤖 → Joko: 📢 Biaya layanan penjual naik menjadi 2%",
			"Turn these alerts off: /alerts off",
		}},
	}
	for _, s := range sections {
		i, j := strings.Index(transcript, s.from), strings.Index(transcript, s.to)
		if i < 0 || j < i {
			t.Errorf("the section from %q to %q is missing or out of place", s.from, s.to)
			continue
		}
		for _, want := range s.want {
			if !strings.Contains(transcript[i:j], want) {
				t.Errorf("%q is missing between %q and %q", want, s.from, s.to)
			}
		}
	}
	if strings.Contains(transcript, "gangguan") || strings.Contains(transcript, "went wrong") {
		t.Errorf("the bot reported an error in the demo:\n%s", transcript)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/track"
)

// orders is the second half of the demo: Wati's earnings before any order, a buyer's click that the
// shop reports as an order with a signed postback, the seller settling and refunding part of it in the
// bot, a CSV import with a bad row, and Wati's earnings after.
func (d *demoScript) orders(ctx context.Context, seller, aff1, aff2 tgfake.User) error {
	d.heading("Wati checks her earnings before any order")
	d.say(aff1, "/earnings")
	if d.err != nil {
		return d.err
	}

	d.heading("A buyer clicks Wati's link and orders; the shop reports it with a signed postback")
	recorded := d.sb.app.http.Recorded()
	loc, err := d.visit(ctx, d.codes["Wati"], "203.0.113.77", phone, http.MethodGet)
	if err != nil {
		return err
	}
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("kclid") == "" {
		return fmt.Errorf("demo: the redirect %q carries no kclid", loc)
	}
	kclid := u.Query().Get("kclid")
	// The postback names the click, so the click must be written before the shop reports the order.
	if err := waitUntil("the buyer's click to be written", func() bool { return d.sb.app.http.Recorded() > recorded }); err != nil {
		return err
	}
	key, err := d.sb.app.store.APIKey(ctx, demoSellerID)
	if err != nil {
		return err
	}
	d.note("the shop kept kclid with the order; it signs the body with Budi's API key (from /apikey)")
	body := `{"order_id":"INV-1001","click_id":"` + kclid + `","amount":350000,"status":"pending"}`
	if err := d.postback(ctx, key, body); err != nil {
		return err
	}
	d.awaitMessage(aff1.ID)

	d.heading("The seller settles the order, then refunds part of it")
	d.say(seller, "/settle INV-1001")
	d.note("the buyer returned part of the order: Rp100.000 of Rp350.000; the commission is reversed pro rata")
	d.say(seller, "/refund INV-1001 100000")

	d.heading("The seller imports orders from a spreadsheet; one row is wrong")
	csv := "order_id,ref,amount,status\n" +
		"INV-1002," + d.codes["Wati"] + ",350000,pending\n" +
		"INV-1003," + d.codes["Joko"] + ",Rp350.000,settled\n" +
		"INV-1004,NoSuchXy,175000,pending\n"
	d.sendDocument(seller, "pesanan-toko.csv", "text/csv", csv)

	d.heading("Wati's earnings after the orders")
	d.say(aff1, "/earnings")
	d.press(aff1, "📈")
	return d.err
}

// postback sends body to the demo's own conversions API as the seller's shop would, signed with key,
// and prints the request line with the key fields of the order as stored (never the key or the
// signature).
func (d *demoScript) postback(ctx context.Context, key, body string) error {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.sb.baseURL()+"/api/v1/conversions", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(track.HeaderSeller, strconv.FormatInt(demoSellerID, 10))
	req.Header.Set(track.HeaderTimestamp, ts)
	req.Header.Set(track.HeaderSignature, track.Sign(key, ts, []byte(body)))
	resp, err := d.web.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   🏪 POST /api/v1/conversions %s (signed) → %d\n", body, resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: the postback was refused: %d %s", resp.StatusCode, bytes.TrimSpace(out))
	}
	var r track.ConversionResult
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("demo: the postback's answer: %w", err)
	}
	fmt.Fprintf(d.out, "      stored: order %s · link %s · affiliate %d · amount %d · status %s · rate %d bp · commission %d\n",
		r.OrderID, r.LinkCode, r.AffiliateID, r.Amount, r.Status, r.RateBP, r.Commission)
	return nil
}

// sendDocument sends a text file as u, prints its lines and what the bot answered.
func (d *demoScript) sendDocument(u tgfake.User, name, mimeType, content string) {
	if d.err != nil {
		return
	}
	fmt.Fprintf(d.out, "\n👤 %s sends [document %s]\n", u.FirstName, name)
	for _, line := range strings.Split(strings.TrimRight(content, "\n"), "\n") {
		fmt.Fprintf(d.out, "      │ %s\n", line)
	}
	d.sb.fake.SendDocument(u, tgfake.Chat{}, name, mimeType, []byte(content), "")
	d.pushed++
	d.err = d.flush()
}

// digestAndPolicy is the demo's end: the admin sends today's digests now, and then a policy-change alert
// to every user, whose progress message turns into the final report.
func (d *demoScript) digestAndPolicy(admin, seller, aff1, aff2 tgfake.User) error {
	d.heading("The admin sends today's digests now")
	d.note("each user's digest normally comes at their own time (/digest HH:MM); users without activity get none")
	d.say(admin, "/digestnow") // the digests go through the outbox, which flush waits to empty
	if d.err != nil {
		return d.err
	}

	d.heading("A policy change reaches everyone")
	const title = "Biaya layanan penjual naik menjadi 2%"
	d.say(admin, "/policy "+title+"\n"+
		"Mulai 1 Agustus, biaya layanan Keranjang untuk penjual naik dari 1,5% menjadi 2% dari nilai pesanan yang selesai. "+
		"Komisi afiliasi tidak berubah, dan pesanan yang dibuat sebelum tanggal itu tetap memakai tarif lama.")
	d.note("a button sends it; the preview turns into progress, and into the final report when nothing is queued any more")
	d.press(admin, "Semua pengguna")
	// The fan-out runs as a scheduler job, after the press's update is handled: wait for its messages.
	everyone := []tgfake.User{admin, seller, aff1, aff2}
	d.awaitCalls("the policy alert to reach everyone", func(calls []tgfake.Call) bool {
		for _, u := range everyone {
			if !hasCall(calls, "sendMessage", u.ID, title) {
				return false
			}
		}
		return true
	})
	d.awaitCalls("the admin's final report", func(calls []tgfake.Call) bool {
		return hasCall(calls, "editMessageText", admin.ID, "selesai")
	})
	return d.err
}

// hasCall reports whether calls has a successful call of method to chatID whose text contains text.
func hasCall(calls []tgfake.Call, method string, chatID int64, text string) bool {
	for _, c := range calls {
		if c.Method == method && c.ChatID() == chatID && strings.Contains(c.Params["text"], text) {
			return true
		}
	}
	return false
}

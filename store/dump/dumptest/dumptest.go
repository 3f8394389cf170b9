// Package dumptest is for the tests of moving a database between backends (keranjang migrate, the
// PostgreSQL backend's Import and Backup): Fill builds a database with some of everything a dump
// carries through a store's public methods, Compare checks that two stores give the same answer to every
// read method, and CompareNext that they go on alike (the same next ids, the same uniqueness and
// order decisions).
package dumptest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/clocktest"
	"github.com/keranjang/keranjang/store/contract"
)

// Start is where a Fixture's clock starts: 2024-03-10 05:00 UTC (12:00 in Jakarta).
var Start = time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)

// Fixture is what Fill made, for Compare to ask about.
type Fixture struct {
	// Clock is the clock the store was opened with; Fill moves it.
	Clock    *clocktest.Clock
	Users    []int64 // every user id registered, the erased one too
	Products []uint64
	Links    []affiliate.Link
	Clicks   []string // the ids of logged clicks
	Feeds    []string
	// MaxOutbox and MaxAlert are the largest outbox message and alert ids given out.
	MaxOutbox, MaxAlert uint64
}

// NewClock returns the clock a Fixture's stores must be opened with.
func NewClock() *clocktest.Clock { return clocktest.New(Start) }

// Fill builds in s (empty, opened with clock) a small database with some of everything: users with
// and without a zone or a digest, sellers approved, pending and rejected, API keys, a flow, products
// active and paused with a rate cut, links, human clicks and bot visits over several hours, orders
// pending, settled, refunded and cancelled, feedback, an erased user, outbox messages in every status
// (some finished and pruned), an alert in the middle of its fan-out and one fanned out, a policy feed
// read twice, digests marked and a broadcast.
func Fill(t testing.TB, s contract.Store, clock *clocktest.Clock) Fixture {
	t.Helper()
	ctx := t.Context()
	fx := Fixture{Clock: clock}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(id int64, name, zone string, digest int) {
		t.Helper()
		_, _, err := s.RegisterUser(ctx, affiliate.User{ID: id, ChatID: id, FirstName: name, LastName: "Putri", Username: fmt.Sprintf("u%d", id),
			Lang: affiliate.LangID, TimeZone: zone, DigestMinute: digest, AlertsOn: true, Reachable: true})
		must(err)
		fx.Users = append(fx.Users, id)
	}
	seller := func(id int64, name, shop string) {
		t.Helper()
		user(id, name, "Asia/Jakarta", affiliate.DefaultDigestMinute)
		_, err := s.ApplySeller(ctx, id, shop)
		must(err)
		clock.Advance(time.Minute)
		_, _, err = s.DecideApplication(ctx, id, true, 1)
		must(err)
	}

	seller(10, "Sari", "Toko Sari")
	seller(11, "Wati", "Warung Wati")
	user(20, "Ani", "Asia/Jakarta", affiliate.DefaultDigestMinute)
	user(21, "Budi", "Asia/Makassar", 8*60)
	user(22, "Citra", "", affiliate.DefaultDigestMinute)
	user(23, "Dewi", "Asia/Jakarta", -1)
	_, err := s.UpdateUser(ctx, 23, func(u *affiliate.User) error { u.AlertsOn, u.Lang = false, affiliate.LangEN; return nil })
	must(err)
	user(24, "Eko", "Asia/Jakarta", affiliate.DefaultDigestMinute)
	_, err = s.ApplySeller(ctx, 24, "Toko Eko")
	must(err)
	user(25, "Fajar", "Asia/Jayapura", 7*60)
	_, err = s.ApplySeller(ctx, 25, "Toko Fajar")
	must(err)
	_, _, err = s.DecideApplication(ctx, 25, false, 1)
	must(err)
	user(26, "Gita", "Asia/Jakarta", affiliate.DefaultDigestMinute)
	user(27, "Hadi", "Asia/Jakarta", affiliate.DefaultDigestMinute)

	_, err = s.APIKey(ctx, 10)
	must(err)
	_, err = s.RotateAPIKey(ctx, 10)
	must(err)
	must(s.SaveFlow(ctx, affiliate.Flow{UserID: 21, Name: "addproduct", Step: "price", Data: map[string]string{"name": "Sambal <pedas> & manis"}}))
	must(s.SaveFlow(ctx, affiliate.Flow{UserID: 22, Name: "feedback", Step: "text"}))
	must(s.DeleteFlow(ctx, 22))

	product := func(seller int64, name, desc string, rate affiliate.BasisPoints) affiliate.Product {
		t.Helper()
		p, err := s.CreateProduct(ctx, affiliate.Product{SellerID: seller, Name: name, Description: desc, Price: 150000, Rate: rate,
			URL: "https://shop.example.com/p/" + name, PhotoFileID: "photo-" + name})
		must(err)
		fx.Products = append(fx.Products, p.ID)
		clock.Advance(time.Minute)
		return p
	}
	kopi := product(10, "Kopi", "Kopi gayo", 1000)
	teh := product(10, "Teh", "", 500)
	gula := product(11, "Gula", "Gula aren", 2000)
	join := func(aff int64, p uint64) affiliate.Link {
		t.Helper()
		l, _, err := s.JoinProduct(ctx, aff, p)
		must(err)
		fx.Links = append(fx.Links, l)
		clock.Advance(time.Second)
		return l
	}
	l1, l2, l3 := join(20, kopi.ID), join(21, kopi.ID), join(20, gula.ID)
	l4, l5, l6 := join(22, teh.ID), join(27, kopi.ID), join(10, gula.ID)
	// A rate cut keeps the old rate for those enrolled; a paused product keeps its links.
	_, _, err = s.UpdateProduct(ctx, kopi.ID, 10, func(p *affiliate.Product) error { p.Rate = 800; return nil })
	must(err)
	_, err = s.UpdateLink(ctx, l2.Code, func(l *affiliate.Link) error { l.Reminded = true; return nil })
	must(err)
	_, _, err = s.UpdateProduct(ctx, teh.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil })
	must(err)

	// Clicks over six hours: new and repeated visitors, bot visits, and a batch recorded twice.
	var byLink = map[string][]string{}
	for h := range 6 {
		at := Start.Add(time.Duration(h)*time.Hour + 10*time.Minute)
		var batch []affiliate.Click
		for i, l := range []affiliate.Link{l1, l2, l3, l4, l5, l6, l1} {
			c := affiliate.Click{Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID,
				At: at.Add(time.Duration(i) * time.Second), Visitor: uint64(100 + i%3 + h%2)}
			batch = append(batch, c)
		}
		batch = append(batch, affiliate.Click{Code: l1.Code, ProductID: l1.ProductID, AffiliateID: l1.AffiliateID,
			SellerID: l1.SellerID, At: at, Bot: true})
		out, err := s.RecordClicks(ctx, batch)
		must(err)
		for _, c := range out {
			if !c.Bot {
				fx.Clicks = append(fx.Clicks, c.ID)
				byLink[c.Code] = append(byLink[c.Code], c.ID)
			}
		}
		if h == 5 {
			_, err := s.RecordClicks(ctx, out)
			must(err)
		}
	}
	must(s.AddOrphans(ctx, 3))
	clock.Set(Start.Add(7 * time.Hour))

	// Orders: pending, settled, refunded after settling, cancelled, by link code, and a CSV import.
	order := func(r affiliate.OrderReport) {
		t.Helper()
		_, _, err := s.RecordOrder(ctx, r)
		must(err)
		clock.Advance(time.Minute)
	}
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-1", ClickID: byLink[l1.Code][0], Amount: 150000, Status: affiliate.OrderPending, OccurredAt: Start.Add(30 * time.Minute)})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-2", ClickID: byLink[l2.Code][1], Amount: 300000, Status: affiliate.OrderPending, OccurredAt: Start.Add(90 * time.Minute)})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-2", Amount: 300000, Status: affiliate.OrderSettled})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-3", ClickID: byLink[l1.Code][3], Amount: 200000, Status: affiliate.OrderSettled, OccurredAt: Start.Add(3*time.Hour + 20*time.Minute)})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-3", Amount: 200000, Status: affiliate.OrderRefunded, RefundedAmount: 50000})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-4", LinkCode: l5.Code, Amount: 99000, Status: affiliate.OrderPending, OccurredAt: Start.Add(4 * time.Hour)})
	order(affiliate.OrderReport{SellerID: 10, OrderID: "INV-4", Amount: 99000, Status: affiliate.OrderCancelled})
	_, err = s.ImportOrders(ctx, 11, []affiliate.OrderReport{
		{OrderID: "W-1", LinkCode: l3.Code, Amount: 50000, Status: affiliate.OrderPending, OccurredAt: Start.Add(2 * time.Hour)},
		{OrderID: "W-2", ClickID: byLink[l6.Code][2], Amount: 75000, Status: affiliate.OrderSettled, OccurredAt: Start.Add(2*time.Hour + 30*time.Minute)},
		{OrderID: "W-3", LinkCode: "zzzzzzzz", Amount: 1, Status: affiliate.OrderPending},
	})
	must(err)

	// Feedback, then an affiliate erases their data (their feedback goes, their link and counts stay).
	for _, f := range []affiliate.Feedback{{ProductID: kopi.ID, AffiliateID: 20, Text: "Laris <b>manis</b>"},
		{ProductID: kopi.ID, AffiliateID: 27, Text: "Tolong kirim foto"}, {ProductID: gula.ID, AffiliateID: 21, Text: "Stok?"}} {
		_, err := s.AddFeedback(ctx, f)
		must(err)
		clock.Advance(time.Second)
	}
	must(s.DeleteUserData(ctx, 27))

	// Alerts: one in the middle of its fan-out, one fanned out.
	a1, err := s.CreateAlert(ctx, affiliate.Alert{Title: "Aturan baru", Body: "Pembayaran di aplikasi", URL: "https://kominfo.example/a",
		Audience: affiliate.AudienceAll, Source: "admin:1"})
	must(err)
	a2, err := s.CreateAlert(ctx, affiliate.Alert{Title: "Untuk penjual", Audience: affiliate.AudienceSellers, Source: "api"})
	must(err)
	_, err = s.Enqueue(ctx, []affiliate.OutboxMessage{
		{Key: affiliate.AlertKey(a1.ID, 20), Kind: "alert", AlertID: a1.ID, UserID: 20, ChatID: 20, Text: "<b>Aturan baru</b>",
			Buttons: [][]affiliate.Button{{{Text: "Buka", Data: "alert:open"}}}},
		{Key: affiliate.AlertKey(a1.ID, 21), Kind: "alert", AlertID: a1.ID, UserID: 21, ChatID: 21, Text: "<b>Aturan baru</b>"},
		{Key: affiliate.AlertKey(a2.ID, 10), Kind: "alert", AlertID: a2.ID, UserID: 10, ChatID: 10, Text: "Untuk penjual"},
	})
	must(err)
	_, err = s.AdvanceFanout(ctx, a1.ID, 0, 21, 1)
	must(err)
	must(s.AddAlertSkipped(ctx, a1.ID, 2))
	_, err = s.AdvanceFanout(ctx, a2.ID, 0, 11, 0)
	must(err)
	must(s.MarkFannedOut(ctx, a2.ID))

	// Outbox messages in every status: sent, failed, retried, dropped (a user who blocked the bot, both
	// queued before and after), queued for later, and a group's message moved to its new chat id.
	_, err = s.Enqueue(ctx, []affiliate.OutboxMessage{
		{Key: "notice:1", Kind: "order", UserID: 20, ChatID: 20, Text: "Pesanan baru"},
		{Key: "notice:2", Kind: "order", UserID: 21, ChatID: 21, Text: "Pesanan diselesaikan"},
		{Key: "notice:3", Kind: "order", UserID: 26, ChatID: 26, Text: "Untuk Gita"},
		{Key: "notice:4", Kind: "digest", UserID: 22, ChatID: 22, Text: "Nanti", NextAt: clock.Now().Add(48 * time.Hour)},
		{Key: "notice:5", Kind: "order", UserID: 20, ChatID: 20, Text: "Dicoba lagi"},
		{Key: "broadcast:1:-100", Kind: "broadcast", ChatID: -100, Group: true, Text: "Halo grup"},
	})
	must(err)
	due, err := s.DueMessages(ctx, clock.Now().Add(time.Hour), 100)
	must(err)
	ids := map[string]uint64{}
	for _, m := range due {
		ids[m.Key] = m.ID
	}
	must(s.MarkSent(ctx, ids[affiliate.AlertKey(a1.ID, 20)], clock.Now()))
	must(s.MarkSent(ctx, ids[affiliate.AlertKey(a2.ID, 10)], clock.Now()))
	must(s.MarkSent(ctx, ids["notice:1"], clock.Now()))
	must(s.MarkFailed(ctx, ids["notice:2"], "400 Bad Request: chat not found"))
	must(s.MarkRetry(ctx, ids["notice:5"], 2, clock.Now().Add(10*time.Minute), "502 Bad Gateway"))
	_, err = s.SetReachable(ctx, 26, false)
	must(err)
	_, err = s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "notice:6", Kind: "order", UserID: 26, ChatID: 26, Text: "Lagi"}})
	must(err)
	must(s.MigrateChat(ctx, -100, -1001))

	// Digests: the first entry of each zone handled yesterday, one of them today too.
	zones, err := s.DigestZones(ctx)
	must(err)
	for i, z := range zones {
		entries, err := s.DigestDue(ctx, z, 0, affiliate.MinutesPerDay-1, "", affiliate.DigestEntry{}, 1)
		must(err)
		must(s.MarkDigests(ctx, z, entries, "2024-03-09"))
		if i == 0 {
			must(s.MarkDigests(ctx, z, entries, "2024-03-10"))
		}
	}

	// A policy feed read twice: the first read only remembers, the second makes an alert.
	feed := "https://feeds.example.com/kebijakan.rss"
	fx.Feeds = []string{feed}
	item := func(id, title string) affiliate.FeedItem {
		return affiliate.FeedItem{ID: id, Alert: affiliate.Alert{Title: title, Audience: affiliate.AudienceAll, Source: "feed:" + feed}}
	}
	_, err = s.RecordFeedItems(ctx, feed, []affiliate.FeedItem{item("g:1", "Satu"), item("g:2", "Dua")})
	must(err)
	clock.Advance(15 * time.Minute)
	created, err := s.RecordFeedItems(ctx, feed, []affiliate.FeedItem{item("g:2", "Dua"), item("g:3", "Tiga")})
	must(err)
	if len(created) != 1 {
		t.Fatalf("feed made %d alerts, want 1", len(created))
	}
	fx.MaxAlert = created[0].ID

	_, err = s.BeginBroadcast(ctx, 10, clock.Now())
	must(err)

	// More messages, the last of them sent and pruned three days later with the older finished ones (so
	// that the outbox sequence is past every stored id); the others finish after those three days and
	// stay: failed, dropped when their user blocks the bot, sent.
	_, err = s.Enqueue(ctx, []affiliate.OutboxMessage{
		{Key: "notice:8", Kind: "order", UserID: 21, ChatID: 21, Text: "Gagal nanti"},
		{Key: "notice:9", Kind: "order", UserID: 25, ChatID: 25, Text: "Untuk Fajar"},
		{Key: "notice:10", Kind: "order", UserID: 20, ChatID: 20, Text: "Terkirim nanti"},
		{Key: "notice:7", Kind: "order", UserID: 20, ChatID: 20, Text: "Terakhir"},
	})
	must(err)
	due, err = s.DueMessages(ctx, clock.Now(), 100)
	must(err)
	ids = map[string]uint64{}
	for _, m := range due {
		fx.MaxOutbox = max(fx.MaxOutbox, m.ID)
		ids[m.Key] = m.ID
	}
	must(s.MarkSent(ctx, ids["notice:7"], clock.Now()))
	clock.Advance(72 * time.Hour)
	must(s.MarkFailed(ctx, ids["notice:8"], "400 Bad Request"))
	_, err = s.SetReachable(ctx, 25, false)
	must(err)
	must(s.MarkSent(ctx, ids["notice:10"], clock.Now()))
	if n, err := s.PruneOutbox(ctx, clock.Now()); err != nil || n == 0 {
		t.Fatalf("prune outbox: %d %v", n, err)
	}
	if _, err := s.GetOutboxMessage(ctx, fx.MaxOutbox); affiliate.ErrorCode(err) != affiliate.ENotFound {
		t.Fatalf("the last message was not pruned: %v", err)
	}
	return fx
}

// Compare checks that got answers every read method as want does about everything in fx (and about
// things that are not there), reporting each difference.
func Compare(t testing.TB, fx Fixture, want, got contract.Store) {
	t.Helper()
	c := cmp{t: t, want: want, got: got}
	ctx := t.Context()
	ranges := [][2]time.Time{
		{}, {Start, Start.Add(2 * time.Hour)}, {Start.Add(90 * time.Minute), Start.Add(200 * time.Minute)},
		{Start.Add(-24 * time.Hour), Start.Add(24 * time.Hour)}, {Start.Add(5 * time.Hour), time.Time{}},
	}
	c.eq("visitor salt", want.VisitorSalt(), got.VisitorSalt())
	call(c, "stats", func(s contract.Store) (affiliate.Stats, error) { return s.Stats(ctx) })
	call(c, "outbox stats", func(s contract.Store) (affiliate.OutboxStats, error) { return s.OutboxStats(ctx) })
	call(c, "pending applications", func(s contract.Store) ([]affiliate.Application, error) { return s.PendingApplications(ctx) })
	call(c, "list users", func(s contract.Store) ([]affiliate.User, error) { return s.ListUsers(ctx, 0, 1000) })
	call(c, "list users paged", func(s contract.Store) ([]affiliate.User, error) {
		var all []affiliate.User
		for after := int64(0); ; {
			page, err := s.ListUsers(ctx, after, 3)
			if err != nil || len(page) == 0 {
				return all, err
			}
			all, after = append(all, page...), page[len(page)-1].ID
		}
	})
	call(c, "list links", func(s contract.Store) ([]affiliate.Link, error) { return s.ListLinks(ctx, "", 1000) })
	call(c, "list links paged", func(s contract.Store) ([]affiliate.Link, error) {
		var all []affiliate.Link
		for after := ""; ; {
			page, err := s.ListLinks(ctx, after, 2)
			if err != nil || len(page) == 0 {
				return all, err
			}
			all, after = append(all, page...), page[len(page)-1].Code
		}
	})
	call(c, "search products", func(s contract.Store) (any, error) {
		ps, n, err := s.SearchProducts(ctx, nil, 0, 0)
		return []any{ps, n}, err
	})
	call(c, "search kopi", func(s contract.Store) (any, error) {
		ps, n, err := s.SearchProducts(ctx, []string{"KOPI"}, 0, 10)
		return []any{ps, n}, err
	})

	users := append(slices.Clone(fx.Users), 0, 999)
	for _, id := range users {
		w := fmt.Sprintf("user %d: ", id)
		call(c, w+"get", func(s contract.Store) (affiliate.User, error) { return s.GetUser(ctx, id) })
		call(c, w+"application", func(s contract.Store) (affiliate.Application, error) { return s.GetApplication(ctx, id) })
		call(c, w+"flow", func(s contract.Store) (any, error) {
			f, ok, err := s.GetFlow(ctx, id)
			return []any{f, ok}, err
		})
		call(c, w+"api key of", func(s contract.Store) (any, error) {
			k, ok, err := s.APIKeyOf(ctx, id)
			if ok {
				seller, err := s.SellerByAPIKey(ctx, k)
				return []any{k, seller}, err
			}
			return []any{k, ok}, err
		})
		call(c, w+"affiliate links", func(s contract.Store) ([]affiliate.Link, error) { return s.AffiliateLinks(ctx, id) })
		call(c, w+"seller products", func(s contract.Store) ([]affiliate.Product, error) { return s.SellerProducts(ctx, id) })
		call(c, w+"seller feedback", func(s contract.Store) ([]affiliate.Feedback, error) { return s.SellerFeedback(ctx, id, 0) })
		call(c, w+"seller feedback 1", func(s contract.Store) ([]affiliate.Feedback, error) { return s.SellerFeedback(ctx, id, 1) })
		call(c, w+"last broadcast", func(s contract.Store) (time.Time, error) { return s.LastBroadcast(ctx, id) })
		call(c, w+"seller orders", func(s contract.Store) ([]affiliate.Order, error) {
			return s.SellerOrders(ctx, id, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 1000)
		})
		call(c, w+"seller orders paged", func(s contract.Store) ([]affiliate.Order, error) {
			var all []affiliate.Order
			for after := (affiliate.OrderCursor{}); ; {
				page, err := s.SellerOrders(ctx, id, Start, Start.Add(5*time.Hour), after, 1)
				if err != nil || len(page) == 0 {
					return all, err
				}
				all = append(all, page...)
				after = affiliate.OrderCursor{At: page[0].OccurredAt, OrderID: page[0].OrderID}
			}
		})
		for _, r := range ranges {
			w := fmt.Sprintf("user %d %v–%v: ", id, r[0], r[1])
			call(c, w+"affiliate counts", func(s contract.Store) (affiliate.Counts, error) { return s.AffiliateCounts(ctx, id, r[0], r[1]) })
			call(c, w+"affiliate hours", func(s contract.Store) ([]affiliate.HourCounts, error) { return s.AffiliateHours(ctx, id, r[0], r[1]) })
			call(c, w+"seller counts", func(s contract.Store) (affiliate.Counts, error) { return s.SellerCounts(ctx, id, r[0], r[1]) })
			call(c, w+"affiliate report", func(s contract.Store) ([]affiliate.ReportRow, error) {
				return s.AffiliateReport(ctx, id, 0, r[0], r[1])
			})
			call(c, w+"affiliate digest", func(s contract.Store) (affiliate.DigestCounts, error) {
				return s.AffiliateDigest(ctx, id, r[0], r[1], Start.Add(-5*time.Hour))
			})
		}
	}

	for _, id := range append(slices.Clone(fx.Products), 999) {
		w := fmt.Sprintf("product %d: ", id)
		call(c, w+"get", func(s contract.Store) (affiliate.Product, error) { return s.GetProduct(ctx, id) })
		call(c, w+"links", func(s contract.Store) ([]affiliate.Link, error) { return s.ProductLinks(ctx, id) })
		for _, r := range ranges {
			call(c, fmt.Sprintf("%scounts %v–%v", w, r[0], r[1]), func(s contract.Store) (affiliate.Counts, error) {
				return s.ProductCounts(ctx, id, r[0], r[1])
			})
			for _, seller := range []int64{10, 11} {
				call(c, fmt.Sprintf("%sreport of %d %v–%v", w, seller, r[0], r[1]), func(s contract.Store) ([]affiliate.ReportRow, error) {
					return s.AffiliateReport(ctx, seller, id, r[0], r[1])
				})
			}
		}
	}

	codes := []string{"zzzzzzzz", "bad"}
	for _, l := range fx.Links {
		codes = append(codes, l.Code)
	}
	for _, code := range codes {
		w := fmt.Sprintf("link %s: ", code)
		call(c, w+"get", func(s contract.Store) (affiliate.Link, error) { return s.GetLink(ctx, code) })
		call(c, w+"target", func(s contract.Store) (affiliate.Target, error) { return s.Target(ctx, code) })
		for _, r := range ranges {
			call(c, fmt.Sprintf("%scounts %v–%v", w, r[0], r[1]), func(s contract.Store) (affiliate.Counts, error) {
				return s.LinkCounts(ctx, code, r[0], r[1])
			})
		}
	}

	for _, id := range append(slices.Clone(fx.Clicks), "no-such-click") {
		call(c, "click "+id, func(s contract.Store) (affiliate.Click, error) { return s.GetClick(ctx, id) })
	}
	orders, _ := want.SellerOrders(ctx, 10, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 1000)
	more, _ := want.SellerOrders(ctx, 11, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 1000)
	for _, o := range append(append(orders, more...), affiliate.Order{SellerID: 10, OrderID: "W-1"}) {
		call(c, fmt.Sprintf("order %d/%s", o.SellerID, o.OrderID), func(s contract.Store) (affiliate.Order, error) {
			return s.GetOrder(ctx, o.SellerID, o.OrderID)
		})
	}

	call(c, "next due", func(s contract.Store) (any, error) {
		at, ok, err := s.NextDue(ctx)
		return []any{at, ok}, err
	})
	call(c, "due now", func(s contract.Store) ([]affiliate.OutboxMessage, error) {
		return s.DueMessages(ctx, fx.Clock.Now(), 1000)
	})
	call(c, "due later", func(s contract.Store) ([]affiliate.OutboxMessage, error) {
		return s.DueMessages(ctx, fx.Clock.Now().Add(30*24*time.Hour), 1000)
	})
	for id := uint64(0); id <= fx.MaxOutbox+1; id++ {
		call(c, fmt.Sprintf("outbox message %d", id), func(s contract.Store) (affiliate.OutboxMessage, error) {
			return s.GetOutboxMessage(ctx, id)
		})
	}
	call(c, "pending alerts", func(s contract.Store) ([]affiliate.Alert, error) { return s.PendingAlerts(ctx) })
	for id := uint64(0); id <= fx.MaxAlert+1; id++ {
		w := fmt.Sprintf("alert %d: ", id)
		call(c, w+"get", func(s contract.Store) (affiliate.Alert, error) { return s.GetAlert(ctx, id) })
		call(c, w+"progress", func(s contract.Store) (affiliate.AlertProgress, error) { return s.AlertProgress(ctx, id) })
		call(c, w+"counts", func(s contract.Store) (affiliate.AlertCounts, error) { return s.AlertCounts(ctx, id) })
	}
	for _, feed := range append(slices.Clone(fx.Feeds), "https://feeds.example.com/other.rss") {
		call(c, "feed "+feed, func(s contract.Store) (any, error) {
			seen, polled, err := s.FeedItems(ctx, feed)
			return []any{seen, polled}, err
		})
	}
	zones, _ := want.DigestZones(ctx)
	call(c, "digest zones", func(s contract.Store) ([]string, error) { return s.DigestZones(ctx) })
	for _, z := range append(zones, "Europe/Paris") {
		for _, skip := range []string{"", "2024-03-09", "2024-03-10"} {
			call(c, fmt.Sprintf("digest due %q skip %q", z, skip), func(s contract.Store) ([]affiliate.DigestEntry, error) {
				return s.DigestDue(ctx, z, 0, affiliate.MinutesPerDay-1, skip, affiliate.DigestEntry{}, 1000)
			})
		}
	}
}

// CompareNext makes the same changes in want and got and checks that they come out alike: the next
// product, feedback, alert, outbox message and broadcast get the same ids (the sequences moved with
// the data), a repeated click is judged as before (the visitor marks and the click log moved) and a
// repeated order report changes nothing. Then it compares the stores again.
func CompareNext(t testing.TB, fx Fixture, want, got contract.Store) {
	t.Helper()
	c := cmp{t: t, want: want, got: got}
	ctx := t.Context()
	call(c, "next product", func(s contract.Store) (uint64, error) {
		p, err := s.CreateProduct(ctx, affiliate.Product{SellerID: 11, Name: "Madu", Price: 90000, Rate: 1500, URL: "https://shop.example.com/p/madu"})
		return p.ID, err
	})
	call(c, "next feedback", func(s contract.Store) (uint64, error) {
		f, err := s.AddFeedback(ctx, affiliate.Feedback{ProductID: fx.Products[0], AffiliateID: 21, Text: "Lagi"})
		return f.ID, err
	})
	call(c, "next alert", func(s contract.Store) (uint64, error) {
		a, err := s.CreateAlert(ctx, affiliate.Alert{Title: "Lagi", Audience: affiliate.AudienceAll, Source: "api"})
		return a.ID, err
	})
	call(c, "next broadcast", func(s contract.Store) (uint64, error) { return s.BeginBroadcast(ctx, 11, fx.Clock.Now()) })
	call(c, "broadcast too soon", func(s contract.Store) (uint64, error) { return s.BeginBroadcast(ctx, 10, Start.Add(7*time.Hour)) })
	call(c, "next outbox message", func(s contract.Store) (uint64, error) {
		if _, err := s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "next", Kind: "x", UserID: 21, ChatID: 21, Text: "x"}}); err != nil {
			return 0, err
		}
		due, err := s.DueMessages(ctx, fx.Clock.Now(), 1000)
		for _, m := range due {
			if m.Key == "next" {
				return m.ID, err
			}
		}
		return 0, err
	})
	call(c, "a kept key", func(s contract.Store) (int, error) {
		return s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "notice:5", Kind: "x", UserID: 21, ChatID: 21, Text: "x"}})
	})
	l := fx.Links[0]
	call(c, "clicks again", func(s contract.Store) ([]affiliate.Click, error) {
		at := Start.Add(5*time.Hour + 30*time.Minute)
		return s.RecordClicks(ctx, []affiliate.Click{
			{ID: fx.Clicks[0], Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: Start, Visitor: 100},
			{ID: "next-1", Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: 100},
			{ID: "next-2", Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: 7},
		})
	})
	call(c, "order again", func(s contract.Store) (any, error) {
		o, changed, err := s.RecordOrder(ctx, affiliate.OrderReport{SellerID: 10, OrderID: "INV-2", Amount: 300000, Status: affiliate.OrderSettled})
		return []any{o, changed}, err
	})
	call(c, "refund a settled order", func(s contract.Store) (any, error) {
		o, changed, err := s.RecordOrder(ctx, affiliate.OrderReport{SellerID: 10, OrderID: "INV-2", Amount: 300000, Status: affiliate.OrderRefunded})
		return []any{o, changed}, err
	})
	call(c, "join again", func(s contract.Store) (any, error) {
		l, created, err := s.JoinProduct(ctx, l.AffiliateID, l.ProductID)
		return []any{l, created}, err
	})
	Compare(t, fx, want, got)
}

// cmp compares the answers of two stores.
type cmp struct {
	t         testing.TB
	want, got contract.Store
}

func (c cmp) eq(what string, want, got any) {
	c.t.Helper()
	if !same(want, got) {
		c.t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// call asks both stores the same question and compares the answers; errors compare by their domain
// code and reason (their wording names each backend's method).
func call[T any](c cmp, what string, fn func(contract.Store) (T, error)) {
	c.t.Helper()
	w, werr := fn(c.want)
	g, gerr := fn(c.got)
	c.eq(what+" (error)", errKey(werr), errKey(gerr))
	if werr == nil && gerr == nil {
		c.eq(what, w, g)
	}
}

// same is reflect.DeepEqual, except that an empty slice or map is the same as a nil one (the contract
// does not tell them apart), also inside slices.
func same(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.IsValid() && vb.IsValid() && va.Type() == vb.Type() {
		switch va.Kind() {
		case reflect.Map:
			if va.Len() == 0 && vb.Len() == 0 {
				return true
			}
		case reflect.Slice:
			if va.Len() != vb.Len() {
				return false
			}
			for i := range va.Len() {
				if !same(va.Index(i).Interface(), vb.Index(i).Interface()) {
					return false
				}
			}
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}

func errKey(err error) string {
	if err == nil {
		return ""
	}
	return string(affiliate.ErrorCode(err)) + ":" + affiliate.ErrorReason(err)
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// testCancelled calls every method of the contract that takes a context with one that is cancelled
// already: each must return an error wrapping context.Canceled and change nothing.
func testCancelled(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.seller(t, 11, "Lain")
	f.user(t, 20, "Ani")
	f.user(t, 21, "Budi")
	f.user(t, 30, "Citra")
	if _, err := f.s.ApplySeller(t.Context(), 30, "Warung"); err != nil {
		t.Fatal(err)
	}
	p := f.product(t, 10, "Kopi", 1000)
	l := f.join(t, 20, p.ID)
	now := f.clock.Now()
	f.record(t, click(l, "c1", now.Add(-time.Hour), 1), click(l, "c2", now, 2), click(l, cid("c1"), now.Add(-time.Hour), 5))
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{UserID: 20, Name: "x", Step: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddFeedback(t.Context(), affiliate.Feedback{ProductID: p.ID, AffiliateID: 20, Text: "bagus"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: 10, OrderID: "o1", ClickID: cid("c1"), Amount: 50000, Status: affiliate.OrderPending, OccurredAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Enqueue(t.Context(), []affiliate.OutboxMessage{
		{Key: "k1", UserID: 20, ChatID: 20, Text: "a", AlertID: 7}, {Key: "k2", UserID: 21, ChatID: 21, Text: "b"},
	}); err != nil {
		t.Fatal(err)
	}
	key, err := f.s.APIKey(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Target(t.Context(), l.Code); err != nil { // cached now, where a backend caches
		t.Fatal(err)
	}

	alert, err := f.s.CreateAlert(t.Context(), affiliate.Alert{Title: "Aturan baru", Audience: affiliate.AudienceAll})
	if err != nil {
		t.Fatal(err)
	}
	const feedURL = "https://policy.example.com/feed.xml"
	if _, err := f.s.RecordFeedItems(t.Context(), feedURL, []affiliate.FeedItem{{ID: "g:old"}}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	future := now.Add(1000 * time.Hour)
	calls := map[string]func() error{
		"Ping":          func() error { return f.s.Ping(ctx) },
		"Backup":        func() error { _, err := f.s.Backup(ctx, io.Discard); return err },
		"SchemaVersion": func() error { _, err := f.s.SchemaVersion(ctx); return err },
		"RegisterUser": func() error {
			_, _, err := f.s.RegisterUser(ctx, affiliate.User{ID: 99, FirstName: "New"})
			return err
		},
		"GetUser": func() error { _, err := f.s.GetUser(ctx, 20); return err },
		"UpdateUser": func() error {
			_, err := f.s.UpdateUser(ctx, 20, func(u *affiliate.User) error { u.FirstName = "X"; return nil })
			return err
		},
		"ListUsers":           func() error { _, err := f.s.ListUsers(ctx, 0, 10); return err },
		"DeleteUserData":      func() error { return f.s.DeleteUserData(ctx, 20) },
		"ApplySeller":         func() error { _, err := f.s.ApplySeller(ctx, 21, "Kedai"); return err },
		"DecideApplication":   func() error { _, _, err := f.s.DecideApplication(ctx, 30, true, 1); return err },
		"GetApplication":      func() error { _, err := f.s.GetApplication(ctx, 30); return err },
		"PendingApplications": func() error { _, err := f.s.PendingApplications(ctx); return err },
		"GetFlow":             func() error { _, _, err := f.s.GetFlow(ctx, 20); return err },
		"SaveFlow":            func() error { return f.s.SaveFlow(ctx, affiliate.Flow{UserID: 20, Name: "y"}) },
		"DeleteFlow":          func() error { return f.s.DeleteFlow(ctx, 20) },
		"APIKey":              func() error { _, err := f.s.APIKey(ctx, 11); return err },
		"RotateAPIKey":        func() error { _, err := f.s.RotateAPIKey(ctx, 10); return err },
		"SellerByAPIKey":      func() error { _, err := f.s.SellerByAPIKey(ctx, key); return err },
		"APIKeyOf":            func() error { _, _, err := f.s.APIKeyOf(ctx, 10); return err },
		"CreateProduct": func() error {
			_, err := f.s.CreateProduct(ctx, affiliate.Product{SellerID: 10, Name: "Teh", Price: 1000, Rate: 500, URL: "https://shop.example.com/teh"})
			return err
		},
		"GetProduct": func() error { _, err := f.s.GetProduct(ctx, p.ID); return err },
		"UpdateProduct": func() error {
			_, _, err := f.s.UpdateProduct(ctx, p.ID, 10, func(p *affiliate.Product) error { p.URL = "https://shop.example.com/new"; return nil })
			return err
		},
		"SearchProducts": func() error { _, _, err := f.s.SearchProducts(ctx, []string{"kopi"}, 0, 10); return err },
		"SellerProducts": func() error { _, err := f.s.SellerProducts(ctx, 10); return err },
		"JoinProduct":    func() error { _, _, err := f.s.JoinProduct(ctx, 21, p.ID); return err },
		"GetLink":        func() error { _, err := f.s.GetLink(ctx, l.Code); return err },
		"UpdateLink": func() error {
			_, err := f.s.UpdateLink(ctx, l.Code, func(l *affiliate.Link) error { l.Reminded = true; return nil })
			return err
		},
		"ListLinks":      func() error { _, err := f.s.ListLinks(ctx, "", 10); return err },
		"AffiliateLinks": func() error { _, err := f.s.AffiliateLinks(ctx, 20); return err },
		"ProductLinks":   func() error { _, err := f.s.ProductLinks(ctx, p.ID); return err },
		"Target":         func() error { _, err := f.s.Target(ctx, l.Code); return err },
		"RecordClicks": func() error {
			_, err := f.s.RecordClicks(ctx, []affiliate.Click{click(l, "c3", now, 3), click(l, "", now, 4)})
			return err
		},
		"GetClick":        func() error { _, err := f.s.GetClick(ctx, "c1"); return err },
		"PruneVisitors":   func() error { _, err := f.s.PruneVisitors(ctx, future); return err },
		"PruneClicks":     func() error { _, err := f.s.PruneClicks(ctx, future); return err },
		"AddOrphans":      func() error { return f.s.AddOrphans(ctx, 1) },
		"LinkCounts":      func() error { _, err := f.s.LinkCounts(ctx, l.Code, time.Time{}, time.Time{}); return err },
		"AffiliateCounts": func() error { _, err := f.s.AffiliateCounts(ctx, 20, time.Time{}, time.Time{}); return err },
		"AffiliateReport": func() error { _, err := f.s.AffiliateReport(ctx, 10, 0, now.Add(-time.Hour), future); return err },
		"AddFeedback": func() error {
			_, err := f.s.AddFeedback(ctx, affiliate.Feedback{ProductID: p.ID, AffiliateID: 21, Text: "mahal"})
			return err
		},
		"SellerFeedback": func() error { _, err := f.s.SellerFeedback(ctx, 10, 0); return err },
		"RecordOrder": func() error {
			_, _, err := f.s.RecordOrder(ctx, affiliate.OrderReport{SellerID: 10, OrderID: "new", LinkCode: l.Code, Amount: 1000, Status: affiliate.OrderPending})
			return err
		},
		"ImportOrders": func() error {
			_, err := f.s.ImportOrders(ctx, 10, []affiliate.OrderReport{{OrderID: "imp", LinkCode: l.Code, Amount: 1000, Status: affiliate.OrderPending}})
			return err
		},
		"GetOrder": func() error { _, err := f.s.GetOrder(ctx, 10, "o1"); return err },
		"SellerOrders": func() error {
			_, err := f.s.SellerOrders(ctx, 10, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 10)
			return err
		},
		"AffiliateHours": func() error { _, err := f.s.AffiliateHours(ctx, 20, time.Time{}, future); return err },
		"ProductCounts":  func() error { _, err := f.s.ProductCounts(ctx, p.ID, time.Time{}, time.Time{}); return err },
		"SellerCounts":   func() error { _, err := f.s.SellerCounts(ctx, 10, time.Time{}, time.Time{}); return err },
		"Stats":          func() error { _, err := f.s.Stats(ctx); return err },
		"CreateAlert": func() error {
			_, err := f.s.CreateAlert(ctx, affiliate.Alert{Title: "t", Audience: affiliate.AudienceAll})
			return err
		},
		"GetAlert":      func() error { _, err := f.s.GetAlert(ctx, alert.ID); return err },
		"AlertProgress": func() error { _, err := f.s.AlertProgress(ctx, alert.ID); return err },
		"PendingAlerts": func() error { _, err := f.s.PendingAlerts(ctx); return err },
		"AdvanceFanout": func() error { _, err := f.s.AdvanceFanout(ctx, alert.ID, 0, 50, 1); return err },
		"MarkFannedOut": func() error { return f.s.MarkFannedOut(ctx, alert.ID) },
		"FeedItems":     func() error { _, _, err := f.s.FeedItems(ctx, feedURL); return err },
		"RecordFeedItems": func() error {
			_, err := f.s.RecordFeedItems(ctx, feedURL, []affiliate.FeedItem{{ID: "g:new", Alert: affiliate.Alert{Title: "n"}}})
			return err
		},
		"LastBroadcast":  func() error { _, err := f.s.LastBroadcast(ctx, 10); return err },
		"BeginBroadcast": func() error { _, err := f.s.BeginBroadcast(ctx, 11, now); return err },
		"Enqueue": func() error {
			_, err := f.s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "k3", UserID: 20, ChatID: 20, Text: "c"}})
			return err
		},
		"DueMessages":      func() error { _, err := f.s.DueMessages(ctx, future, 10); return err },
		"NextDue":          func() error { _, _, err := f.s.NextDue(ctx); return err },
		"GetOutboxMessage": func() error { _, err := f.s.GetOutboxMessage(ctx, 1); return err },
		"MarkSent":         func() error { return f.s.MarkSent(ctx, 1, now) },
		"MarkRetry":        func() error { return f.s.MarkRetry(ctx, 1, 1, future, "x") },
		"MarkFailed":       func() error { return f.s.MarkFailed(ctx, 2, "x") },
		"SetReachable":     func() error { _, err := f.s.SetReachable(ctx, 20, false); return err },
		"MigrateChat":      func() error { return f.s.MigrateChat(ctx, 20, -100) },
		"OutboxStats":      func() error { _, err := f.s.OutboxStats(ctx); return err },
		"AlertCounts":      func() error { _, err := f.s.AlertCounts(ctx, 7); return err },
		"AddAlertSkipped":  func() error { return f.s.AddAlertSkipped(ctx, 7, 3) },
		"PruneOutbox":      func() error { _, err := f.s.PruneOutbox(ctx, future); return err },
		"DigestZones":      func() error { _, err := f.s.DigestZones(ctx); return err },
		"DigestDue": func() error {
			_, err := f.s.DigestDue(ctx, "Asia/Jakarta", 0, 1439, "", affiliate.DigestEntry{}, 10)
			return err
		},
		"MarkDigests": func() error {
			return f.s.MarkDigests(ctx, "Asia/Jakarta", []affiliate.DigestEntry{{Minute: affiliate.DefaultDigestMinute, UserID: 20}}, "2024-03-10")
		},
		"AffiliateDigest": func() error {
			_, err := f.s.AffiliateDigest(ctx, 20, now.Add(-time.Hour), future, time.Time{})
			return err
		},
	}
	// Every method that takes a context is in the table.
	bt := reflect.TypeFor[Backend]()
	ctxType := reflect.TypeFor[context.Context]()
	for i := range bt.NumMethod() {
		m := bt.Method(i)
		if m.Type.NumIn() > 0 && m.Type.In(0) == ctxType {
			if _, ok := calls[m.Name]; !ok {
				t.Errorf("%s takes a context but is not tested with a cancelled one", m.Name)
			}
		}
	}

	before := snapshot(t, f, p.ID, l.Code, key)
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want one wrapping context.Canceled", err)
			}
			if after := snapshot(t, f, p.ID, l.Code, key); after != before {
				t.Fatalf("a call with a cancelled context changed the data:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// The cache still answers with a live context.
	if got, err := f.s.Target(t.Context(), l.Code); err != nil || got.URL != p.URL {
		t.Fatalf("target after the cancelled calls: %+v %v", got, err)
	}
}

// snapshot renders everything testCancelled's calls could change, read with a live context.
func snapshot(t *testing.T, f *fixture, productID uint64, code, key string) string {
	t.Helper()
	ctx := t.Context()
	var out []any
	add := func(v any, err error) {
		if err != nil {
			out = append(out, "error: "+err.Error())
			return
		}
		out = append(out, v)
	}
	add(f.s.Stats(ctx))
	add(f.s.ListUsers(ctx, 0, 100))
	add(f.s.ListLinks(ctx, "", 100))
	add(f.s.GetProduct(ctx, productID))
	add(f.s.SellerProducts(ctx, 10))
	add(f.s.PendingApplications(ctx))
	add(f.s.GetApplication(ctx, 21))
	add(f.s.GetApplication(ctx, 30))
	fl, ok, err := f.s.GetFlow(ctx, 20)
	add(fmt.Sprint(fl, ok), err)
	add(f.s.SellerFeedback(ctx, 10, 0))
	add(f.s.LinkCounts(ctx, code, time.Time{}, time.Time{}))
	add(f.s.AffiliateCounts(ctx, 20, time.Time{}, time.Time{}))
	add(f.s.GetClick(ctx, "c1"))
	add(f.s.GetClick(ctx, "c3"))
	add(f.s.SellerByAPIKey(ctx, key))
	add(f.s.AffiliateLinks(ctx, 21))
	add(f.s.GetLink(ctx, code))
	add(f.s.Target(ctx, code))
	add(f.s.SellerOrders(ctx, 10, time.Time{}, time.Time{}, affiliate.OrderCursor{}, 100))
	add(f.s.ProductCounts(ctx, productID, time.Time{}, time.Time{}))
	add(f.s.SellerCounts(ctx, 10, time.Time{}, time.Time{}))
	add(f.s.DueMessages(ctx, time.Now().Add(1000*time.Hour), 100))
	add(f.s.OutboxStats(ctx))
	add(f.s.PendingAlerts(ctx))
	add(f.s.AlertProgress(ctx, 1))
	add(f.s.AlertCounts(ctx, 1))
	seen, polled, err := f.s.FeedItems(ctx, "https://policy.example.com/feed.xml")
	add(fmt.Sprint(seen, polled), err)
	add(f.s.LastBroadcast(ctx, 10))
	add(f.s.LastBroadcast(ctx, 11))
	add(f.s.AlertCounts(ctx, 7))
	add(f.s.GetUser(ctx, 20))
	return fmt.Sprintf("%+v", out)
}

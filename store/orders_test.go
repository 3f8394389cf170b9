package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

const testClickID = "0ABCDEFGHIJKLMNO"

// TestAttributionWindowOption checks that Options.AttributionWindow replaces the default window.
func TestAttributionWindowOption(t *testing.T) {
	f := &fixture{path: t.TempDir() + "/k.db", clock: storetest.NewClock()}
	f.open(t, Options{AttributionWindow: time.Hour})
	storetest.Seller(t, f.s, 10, "Toko")
	storetest.User(t, f.s, 20, "Ani")
	l := storetest.Join(t, f.s, 20, storetest.Product(t, f.s, 10, "Kopi", 1000).ID)
	now := f.clock.Now()
	storetest.Record(t, f.s, storetest.Click(l, testClickID, now.Add(-2*time.Hour), 1))
	_, _, err := f.s.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: 10, OrderID: "x", ClickID: testClickID, Amount: 1000, Status: affiliate.OrderPending, OccurredAt: now})
	if affiliate.ErrorReason(err) != "outside_window" {
		t.Fatalf("two hours after the click with a one-hour window: %v", err)
	}
	if _, _, err := f.s.RecordOrder(t.Context(), affiliate.OrderReport{SellerID: 10, OrderID: "x", ClickID: testClickID, Amount: 1000, Status: affiliate.OrderPending, OccurredAt: now.Add(-90 * time.Minute)}); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
}

// TestRecordOrderNeverWritesANegativeCount clears an aggregate an order counts in, as a damaged file
// would: moving it below zero is an internal error, and nothing of the change is written.
func TestRecordOrderNeverWritesANegativeCount(t *testing.T) {
	f := newFixture(t)
	storetest.Seller(t, f.s, 10, "Toko")
	storetest.User(t, f.s, 20, "Ani")
	l := storetest.Join(t, f.s, 20, storetest.Product(t, f.s, 10, "Kopi", 1000).ID)
	ctx := t.Context()
	if _, _, err := f.s.RecordOrder(ctx, affiliate.OrderReport{SellerID: 10, OrderID: "x", LinkCode: l.Code, Amount: 50000, Status: affiliate.OrderPending}); err != nil {
		t.Fatal(err)
	}
	err := f.s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bTotals).Put([]byte(l.Code), appendCounts(nil, affiliate.Counts{}))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.s.RecordOrder(ctx, affiliate.OrderReport{SellerID: 10, OrderID: "x", Status: affiliate.OrderSettled})
	if !errors.Is(err, errCountBelowZero) || affiliate.ErrorCode(err) != affiliate.EInternal {
		t.Fatalf("error %v, want an internal error", err)
	}
	if o, err := f.s.GetOrder(ctx, 10, "x"); err != nil || o.Status != affiliate.OrderPending {
		t.Fatalf("order after the refused change: %+v %v", o, err)
	}
	if c, err := f.s.AffiliateCounts(ctx, 20, time.Time{}, time.Time{}); err != nil || c.CommissionPending != 5000 || c.CommissionSettled != 0 {
		t.Fatalf("affiliate counts after the refused change: %+v %v", c, err)
	}
}

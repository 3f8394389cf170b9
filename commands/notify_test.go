package commands

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

func TestOutboxNotifierQueuesOncePerID(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	for _, u := range []affiliate.User{
		{ID: 7, ChatID: 7, FirstName: "Ani", Lang: affiliate.LangEN, Reachable: true},
		{ID: 8, ChatID: 8, FirstName: "Budi", Lang: affiliate.LangID, Reachable: false},
	} {
		if _, _, err := st.RegisterUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	woken := 0
	n := NewOutboxNotifier(st, st, func() { woken++ }, time.UTC)
	o := affiliate.Order{SellerID: 3, OrderID: "INV-9", AffiliateID: 7, Amount: 150000, Commission: 15000, Status: affiliate.OrderPending}
	for range 3 { // the same order event handled three times (a retried postback, a CSV imported twice)
		if err := n.Notify(ctx, 7, affiliate.OrderNotice(o, "Batik <Lasem>")); err != nil {
			t.Fatal(err)
		}
	}
	o.Status = affiliate.OrderSettled
	if err := n.Notify(ctx, 7, affiliate.OrderNotice(o, "Batik <Lasem>")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // no ID: always queued
		if err := n.Notify(ctx, 7, affiliate.Notice{Key: "seller_approved", Args: []any{"Toko"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Notify(ctx, 8, affiliate.Notice{Key: "seller_approved", Args: []any{"Toko"}}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("unreachable user: %v", err)
	}
	due, err := st.DueMessages(ctx, time.Now().Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 || woken != 4 {
		t.Fatalf("queued %d (woken %d), want 4: one per order state and one per notice without an ID", len(due), woken)
	}
	first := due[0]
	if first.Key != "order:3:INV-9:pending" || first.Kind != "notice" || first.ChatID != 7 || first.UserID != 7 ||
		!strings.Contains(first.Text, "New order") || !strings.Contains(first.Text, "Batik &lt;Lasem&gt;") {
		t.Fatalf("rendered message %+v", first)
	}
	if due[1].Key != "order:3:INV-9:settled" || !strings.HasPrefix(due[2].Key, "notice:7:") || due[2].Key == due[3].Key {
		t.Fatalf("keys %q %q %q", due[1].Key, due[2].Key, due[3].Key)
	}
}

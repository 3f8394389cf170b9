package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

func testSaltStableAcrossReopen(t *testing.T, open Open) {
	f := newFixture(t, open)
	salt := f.s.VisitorSalt()
	f.restart(t)
	if !bytes.Equal(salt, f.s.VisitorSalt()) {
		t.Fatal("salt changed on reopen")
	}
	other := newFixture(t, open)
	if bytes.Equal(salt, other.s.VisitorSalt()) {
		t.Fatal("two databases share a salt")
	}
}

func testPingAfterClose(t *testing.T, open Open) {
	f := newFixture(t, open)
	_ = f.s.Close()
	if err := f.s.Ping(t.Context()); err == nil {
		t.Fatal("ping of a closed store succeeded")
	}
}

func testPersistenceAcrossReopen(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko Sari")
	f.user(t, 20, "Budi")
	if _, err := f.s.UpdateUser(t.Context(), 20, func(u *affiliate.User) error { u.Lang = affiliate.LangEN; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{UserID: 10, Name: "addproduct", Step: "price", Data: map[string]string{"name": "Batik"}}); err != nil {
		t.Fatal(err)
	}
	p := f.product(t, 10, "Batik", 1000)
	l := f.join(t, 20, p.ID)
	f.record(t, click(l, "c1", f.clock.Now(), 1), click(l, "c2", f.clock.Now(), 2))
	key, err := f.s.APIKey(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}

	f.restart(t)

	if u, err := f.s.GetUser(t.Context(), 20); err != nil || u.Lang != affiliate.LangEN || u.Roles() != affiliate.RoleAffiliate {
		t.Fatalf("affiliate after reopen: %+v, %v", u, err)
	}
	if u, err := f.s.GetUser(t.Context(), 10); err != nil || !u.Roles().Has(affiliate.RoleSeller) || u.ShopName != "Toko Sari" || u.Lang != affiliate.LangID {
		t.Fatalf("seller after reopen: %+v, %v", u, err)
	}
	if fl, ok, err := f.s.GetFlow(t.Context(), 10); err != nil || !ok || fl.Step != "price" || fl.Data["name"] != "Batik" {
		t.Fatalf("flow after reopen: %+v %v %v", fl, ok, err)
	}
	if got, err := f.s.GetProduct(t.Context(), p.ID); err != nil || got.Name != "Batik" || got.Rate != 1000 {
		t.Fatalf("product after reopen: %+v, %v", got, err)
	}
	if got, err := f.s.GetLink(t.Context(), l.Code); err != nil || got.AffiliateID != 20 {
		t.Fatalf("link after reopen: %+v, %v", got, err)
	}
	if again, created, err := f.s.JoinProduct(t.Context(), 20, p.ID); err != nil || created || again.Code != l.Code {
		t.Fatalf("join after reopen: %+v %v %v", again, created, err)
	}
	if c, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); err != nil || c.Clicks != 2 || c.UniqueClicks != 2 {
		t.Fatalf("counts after reopen: %+v, %v", c, err)
	}
	if got, err := f.s.APIKey(t.Context(), 10); err != nil || got != key {
		t.Fatalf("api key after reopen: %q, %v", got, err)
	}
	if id, err := f.s.SellerByAPIKey(t.Context(), key); err != nil || id != 10 {
		t.Fatalf("seller by key after reopen: %d, %v", id, err)
	}
	// Product ids keep counting from where they were.
	if p2 := f.product(t, 10, "Tenun", 1000); p2.ID != p.ID+1 {
		t.Fatalf("next product id %d after %d", p2.ID, p.ID)
	}
}

func testStats(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "A")
	f.user(t, 30, "B")
	if _, err := f.s.ApplySeller(t.Context(), 30, "Warung"); err != nil {
		t.Fatal(err)
	}
	p := f.product(t, 10, "Kopi", 500)
	l := f.join(t, 20, p.ID)
	f.join(t, 30, p.ID)
	now := f.clock.Now()
	bot := click(l, "", now, 9)
	bot.Bot = true
	f.record(t, click(l, "c1", now, 1), click(l, "c2", now, 1), bot)
	if err := f.s.AddOrphans(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetReachable(t.Context(), 30, false); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := affiliate.Stats{Users: 3, Reachable: 2, Sellers: 1, Pending: 1, Products: 1, Links: 2, Clicks: 2, Bots: 1, Orphans: 3}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

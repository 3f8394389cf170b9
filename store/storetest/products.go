package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

func testCreateProductValidation(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	base := affiliate.Product{SellerID: 10, Name: "Kopi", Price: 1000, Rate: 500, URL: "https://shop.example.com/kopi"}
	tests := []struct {
		name   string
		change func(p *affiliate.Product)
		reason string
	}{
		{"ok", func(*affiliate.Product) {}, ""},
		{"empty name", func(p *affiliate.Product) { p.Name = " " }, "name_empty"},
		{"price zero", func(p *affiliate.Product) { p.Price = 0 }, "price_range"},
		{"rate high", func(p *affiliate.Product) { p.Rate = 9000 }, "rate_range"},
		{"http url", func(p *affiliate.Product) { p.URL = "http://shop.example.com" }, "url_not_https"},
		{"no seller", func(p *affiliate.Product) { p.SellerID = 0 }, "seller_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.change(&p)
			got, err := f.s.CreateProduct(t.Context(), p)
			if tt.reason != "" {
				wantReason(t, err, tt.reason)
				return
			}
			if err != nil || got.ID == 0 || got.Status != affiliate.ProductActive || got.CreatedAt.IsZero() {
				t.Fatalf("create: %+v %v", got, err)
			}
			if again, err := f.s.GetProduct(t.Context(), got.ID); err != nil || again != got {
				t.Fatalf("get: %+v %v", again, err)
			}
		})
	}
	_, err := f.s.GetProduct(t.Context(), 999)
	wantErr(t, err, affiliate.ErrProductNotFound)
}

func testSearchProducts(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	mk := func(name, desc string, rate affiliate.BasisPoints) affiliate.Product {
		f.clock.Advance(time.Minute)
		p, err := f.s.CreateProduct(t.Context(), affiliate.Product{SellerID: 10, Name: name, Description: desc, Price: 1000, Rate: rate, URL: "https://shop.example.com/x"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	kopiA := mk("Kopi Gayo", "Arabika dari Aceh", 1000)
	kopiB := mk("Kopi Toraja", "Robusta", 1500)
	teh := mk("Teh Hijau", "segar, seperti kopi", 1000)
	paused := mk("Kopi Luwak", "", 8000)
	if _, _, err := f.s.UpdateProduct(t.Context(), paused.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	ids := func(ps []affiliate.Product) []uint64 {
		var out []uint64
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	tests := []struct {
		words         []string
		offset, limit int
		want          []uint64
		total         int
	}{
		{nil, 0, 0, []uint64{kopiB.ID, teh.ID, kopiA.ID}, 3},
		{[]string{"KOPI"}, 0, 0, []uint64{kopiB.ID, teh.ID, kopiA.ID}, 3},
		{[]string{"kopi", "aceh"}, 0, 0, []uint64{kopiA.ID}, 1},
		{[]string{"kopi", "luwak"}, 0, 0, nil, 0},
		{[]string{"kopi"}, 1, 1, []uint64{teh.ID}, 3},
		{[]string{"kopi"}, 5, 5, nil, 3},
		{[]string{"sepatu"}, 0, 5, nil, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.words, tt.offset, tt.limit), func(t *testing.T) {
			got, total, err := f.s.SearchProducts(t.Context(), tt.words, tt.offset, tt.limit)
			if err != nil || total != tt.total || fmt.Sprint(ids(got)) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v total %d (%v), want %v total %d", ids(got), total, err, tt.want, tt.total)
			}
		})
	}
}

func testSellerProductsAndOwnership(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.seller(t, 11, "Lain")
	a := f.product(t, 10, "A", 500)
	f.clock.Advance(time.Second)
	b := f.product(t, 10, "B", 500)
	c := f.product(t, 11, "C", 500)

	got, err := f.s.SellerProducts(t.Context(), 10)
	if err != nil || len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
		t.Fatalf("seller products %+v %v", got, err)
	}
	if got, _ := f.s.SellerProducts(t.Context(), 12); len(got) != 0 {
		t.Fatalf("no products: %+v", got)
	}

	_, _, err = f.s.UpdateProduct(t.Context(), c.ID, 10, func(p *affiliate.Product) error { p.Name = "stolen"; return nil })
	wantErr(t, err, affiliate.ErrProductNotFound)
	if got, _ := f.s.GetProduct(t.Context(), c.ID); got.Name != "C" {
		t.Fatalf("other seller changed the product: %+v", got)
	}
	_, _, err = f.s.UpdateProduct(t.Context(), 999, 10, func(*affiliate.Product) error { return nil })
	wantErr(t, err, affiliate.ErrProductNotFound)

	p, _, err := f.s.UpdateProduct(t.Context(), a.ID, 10, func(p *affiliate.Product) error {
		p.Name, p.SellerID, p.ID, p.Price = "A2", 11, 77, 2000
		return nil
	})
	if err != nil || p.Name != "A2" || p.SellerID != 10 || p.ID != a.ID || p.Price != 2000 {
		t.Fatalf("update: %+v %v", p, err)
	}
	_, _, err = f.s.UpdateProduct(t.Context(), a.ID, 10, func(p *affiliate.Product) error { p.Price = -1; return nil })
	wantReason(t, err, "price_range")
	_, _, err = f.s.UpdateProduct(t.Context(), a.ID, 10, func(p *affiliate.Product) error { p.Status = "gone"; return nil })
	wantReason(t, err, "status")
}

func testRateChanges(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	for _, id := range []int64{20, 21, 22} {
		f.user(t, id, "A")
	}
	p := f.product(t, 10, "Kopi", 1000)
	l20 := f.join(t, 20, p.ID)
	l21 := f.join(t, 21, p.ID)
	setRate := func(r affiliate.BasisPoints) []affiliate.Link {
		t.Helper()
		_, notify, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Rate = r; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return notify
	}

	// A raise applies at once and tells nobody.
	if n := setRate(1500); len(n) != 0 {
		t.Fatalf("raise notified %d", len(n))
	}
	if l, _ := f.s.GetLink(t.Context(), l20.Code); l.KeptRate != 0 {
		t.Fatalf("raise kept a rate: %+v", l)
	}

	// A cut keeps the enrolled affiliates' rate for 30 days and tells them.
	cutAt := f.clock.Now()
	notify := setRate(800)
	if len(notify) != 2 {
		t.Fatalf("cut notified %d links", len(notify))
	}
	for _, code := range []string{l20.Code, l21.Code} {
		l, _ := f.s.GetLink(t.Context(), code)
		if l.KeptRate != 1500 || !l.KeptUntil.Equal(cutAt.Add(affiliate.RateProtection)) {
			t.Fatalf("after cut: %+v", l)
		}
		if r := affiliate.EffectiveRate(800, l, cutAt.Add(time.Hour)); r != 1500 {
			t.Fatalf("effective rate %d", r)
		}
	}
	// New joiners get the new rate.
	l22 := f.join(t, 22, p.ID)
	if l22.KeptRate != 0 {
		t.Fatalf("new joiner kept a rate: %+v", l22)
	}
	// A second cut within the protection does not extend it.
	f.clock.Advance(24 * time.Hour)
	notify = setRate(500)
	if len(notify) != 3 {
		t.Fatalf("second cut notified %d", len(notify))
	}
	l, _ := f.s.GetLink(t.Context(), l20.Code)
	if l.KeptRate != 1500 || !l.KeptUntil.Equal(cutAt.Add(affiliate.RateProtection)) {
		t.Fatalf("protection extended: %+v", l)
	}
	if l, _ := f.s.GetLink(t.Context(), l22.Code); l.KeptRate != 800 {
		t.Fatalf("new joiner after second cut: %+v", l)
	}
	// Editing something else leaves the links alone.
	_, notify, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Name = "Kopi 2"; return nil })
	if err != nil || len(notify) != 0 {
		t.Fatalf("name edit: %v %v", notify, err)
	}
}

func testJoinProduct(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "A")
	p := f.product(t, 10, "Kopi", 1000)
	q := f.product(t, 10, "Teh", 1000)

	l, created, err := f.s.JoinProduct(t.Context(), 20, p.ID)
	if err != nil || !created || !affiliate.ValidCode(l.Code) || l.SellerID != 10 || l.AffiliateID != 20 || l.ProductID != p.ID {
		t.Fatalf("join: %+v %v %v", l, created, err)
	}
	again, created, err := f.s.JoinProduct(t.Context(), 20, p.ID)
	if err != nil || created || again != l {
		t.Fatalf("second join: %+v %v %v", again, created, err)
	}
	_, _, err = f.s.JoinProduct(t.Context(), 20, 999)
	wantErr(t, err, affiliate.ErrProductNotFound)
	_, _, err = f.s.JoinProduct(t.Context(), 99, p.ID)
	wantErr(t, err, affiliate.ErrUserNotFound)

	if _, _, err := f.s.UpdateProduct(t.Context(), q.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.s.JoinProduct(t.Context(), 20, q.ID)
	wantErr(t, err, affiliate.ErrProductPaused)
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	if again, created, err := f.s.JoinProduct(t.Context(), 20, p.ID); err != nil || created || again.Code != l.Code {
		t.Fatalf("rejoin paused: %+v %v %v", again, created, err)
	}

	_, err = f.s.GetLink(t.Context(), "nope")
	wantErr(t, err, affiliate.ErrLinkNotFound)
	_, err = f.s.GetLink(t.Context(), "ZZZZZZZZ")
	wantErr(t, err, affiliate.ErrLinkNotFound)
}

func testLinkListsAndUpdate(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "A")
	f.user(t, 21, "B")
	p := f.product(t, 10, "Kopi", 1000)
	q := f.product(t, 10, "Teh", 1000)
	lq := f.join(t, 20, q.ID)
	f.clock.Advance(time.Minute)
	lp := f.join(t, 20, p.ID)
	f.clock.Advance(time.Minute)
	lp21 := f.join(t, 21, p.ID)

	got, err := f.s.AffiliateLinks(t.Context(), 20)
	if err != nil || len(got) != 2 || got[0].Code != lq.Code || got[1].Code != lp.Code {
		t.Fatalf("affiliate links %+v %v", got, err)
	}
	got, err = f.s.ProductLinks(t.Context(), p.ID)
	if err != nil || len(got) != 2 || got[0].Code != lp.Code || got[1].Code != lp21.Code {
		t.Fatalf("product links %+v %v", got, err)
	}
	if got, _ := f.s.AffiliateLinks(t.Context(), 99); len(got) != 0 {
		t.Fatalf("unknown affiliate: %+v", got)
	}
	l, err := f.s.UpdateLink(t.Context(), lp.Code, func(l *affiliate.Link) error { l.Reminded = true; l.AffiliateID = 5; return nil })
	if err != nil || !l.Reminded || l.AffiliateID != 20 {
		t.Fatalf("update link: %+v %v", l, err)
	}
	var codes []string
	for after := ""; ; {
		page, err := f.s.ListLinks(t.Context(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			codes = append(codes, l.Code)
		}
		after = page[len(page)-1].Code
	}
	if len(codes) != 3 || !slices.IsSorted(codes) {
		t.Fatalf("list links in pages of 2: %v", codes)
	}
}

func testConcurrentJoinSamePair(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "A")
	p := f.product(t, 10, "Kopi", 1000)
	const n = 16
	codes := make([]string, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l, c, err := f.s.JoinProduct(t.Context(), 20, p.ID)
			if err != nil {
				t.Error(err)
			}
			codes[i], created[i] = l.Code, c
		})
	}
	wg.Wait()
	nCreated := 0
	for i := range n {
		if codes[i] != codes[0] {
			t.Fatalf("different codes %q and %q", codes[0], codes[i])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d joins created a link", nCreated)
	}
	if links, _ := f.s.ProductLinks(t.Context(), p.ID); len(links) != 1 {
		t.Fatalf("%d links", len(links))
	}
}

func testTarget(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.seller(t, 11, "Lain")
	f.user(t, 20, "A")
	p := f.product(t, 10, "Kopi", 1000)
	other := f.product(t, 11, "Teh", 1000)
	l := f.join(t, 20, p.ID)
	lo := f.join(t, 20, other.ID)

	want := affiliate.Target{Code: l.Code, URL: p.URL, ProductID: p.ID, AffiliateID: 20, SellerID: 10}
	for range 2 { // miss, then hit
		if got, err := f.s.Target(t.Context(), l.Code); err != nil || got != want {
			t.Fatalf("target %+v %v, want %+v", got, err, want)
		}
	}
	if _, err := f.s.Target(t.Context(), lo.Code); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"", "short", "ZZZZZZZZ", "AAAA-AAA"} {
		_, err := f.s.Target(t.Context(), code)
		wantErr(t, err, affiliate.ErrLinkNotFound)
	}

	// A URL edit shows at once.
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.URL = "https://shop.example.com/new?a=1"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.Target(t.Context(), l.Code); got.URL != "https://shop.example.com/new?a=1" {
		t.Fatalf("stale target after url edit: %+v", got)
	}
	// Paused products still redirect, and a later URL edit shows at once too.
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.Target(t.Context(), l.Code); err != nil || got.URL != "https://shop.example.com/new?a=1" {
		t.Fatalf("paused product target %+v %v", got, err)
	}
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.URL = "https://shop.example.com/v3"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.Target(t.Context(), l.Code); got.URL != "https://shop.example.com/v3" {
		t.Fatalf("stale target after edit of a paused product: %+v", got)
	}
	if got, _ := f.s.Target(t.Context(), lo.Code); got.URL != other.URL {
		t.Fatalf("other product's target %+v", got)
	}
}

func testTargetConcurrentEdits(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "A")
	p := f.product(t, 10, "Kopi", 1000)
	l := f.join(t, 20, p.ID)
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
	)
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.s.Target(t.Context(), l.Code); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var last string
	for i := range 50 {
		last = fmt.Sprintf("https://shop.example.com/v%d", i)
		if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.URL = last; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got, _ := f.s.Target(t.Context(), l.Code); got.URL != last {
		t.Fatalf("target %q after edits, want %q", got.URL, last)
	}
}

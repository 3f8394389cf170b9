package store

import (
	"testing"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

func TestJoinCodeAlphabetAndCollision(t *testing.T) {
	// The first 32 bytes are the salt. A code reads 8 bytes, and as many again as it rejected: bytes ≥ 248
	// are rejected, so "\xff\xfe\xf8" and five zeros, then three zeros give "AAAAAAAA" for the first join;
	// the second join draws the same code, collides and retries with bytes of 1 ("BBBBBBBB").
	script := make([]byte, 32)
	attempt := func(b byte) []byte {
		a := []byte{255, 254, 248}
		for len(a) < 11 {
			a = append(a, b)
		}
		return a
	}
	script = append(script, attempt(0)...)
	script = append(script, attempt(0)...)
	script = append(script, attempt(1)...)
	f := &fixture{path: t.TempDir() + "/k.db", clock: storetest.NewClock()}
	f.open(t, Options{Rand: &scriptReader{script: script}})
	storetest.Seller(t, f.s, 10, "Toko")
	storetest.User(t, f.s, 20, "A")
	storetest.User(t, f.s, 21, "B")
	p := storetest.Product(t, f.s, 10, "Kopi", 1000)
	if l := storetest.Join(t, f.s, 20, p.ID); l.Code != "AAAAAAAA" {
		t.Fatalf("first code %q", l.Code)
	}
	if l := storetest.Join(t, f.s, 21, p.ID); l.Code != "BBBBBBBB" {
		t.Fatalf("second code %q", l.Code)
	}
}

func TestRandomStringUniform(t *testing.T) {
	f := newFixture(t)
	seen := make(map[byte]int)
	for range 2000 {
		code, err := f.s.randomString(affiliate.LinkCodeLen)
		if err != nil || !affiliate.ValidCode(code) {
			t.Fatalf("code %q %v", code, err)
		}
		for i := range len(code) {
			seen[code[i]]++
		}
	}
	if len(seen) != len(affiliate.Alphabet) {
		t.Fatalf("only %d of %d characters seen", len(seen), len(affiliate.Alphabet))
	}
}

// TestTargetCacheEntries checks which cache entries a product edit drops: those of the product's links,
// and no others.
func TestTargetCacheEntries(t *testing.T) {
	f := newFixture(t)
	storetest.Seller(t, f.s, 10, "Toko")
	storetest.Seller(t, f.s, 11, "Lain")
	storetest.User(t, f.s, 20, "A")
	p := storetest.Product(t, f.s, 10, "Kopi", 1000)
	l := storetest.Join(t, f.s, 20, p.ID)
	lo := storetest.Join(t, f.s, 20, storetest.Product(t, f.s, 11, "Teh", 1000).ID)
	for _, code := range []string{l.Code, lo.Code} {
		if _, err := f.s.Target(t.Context(), code); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Name = "Kopi 2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, cached := f.s.targets.Load(l.Code); !cached {
		t.Fatal("a name edit dropped the cached target")
	}
	if _, _, err := f.s.UpdateProduct(t.Context(), p.ID, 10, func(p *affiliate.Product) error { p.Status = affiliate.ProductPaused; return nil }); err != nil {
		t.Fatal(err)
	}
	_, cached := f.s.targets.Load(l.Code)
	_, otherCached := f.s.targets.Load(lo.Code)
	if cached || !otherCached {
		t.Fatalf("after pause: cached=%v (want false), other cached=%v (want true)", cached, otherCached)
	}
}

package store

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/clocktest"
)

func newClock() *clocktest.Clock { return clocktest.New(time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)) }

type fixture struct {
	s     *Store
	path  string
	clock *clocktest.Clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "k.db"), clock: newClock()}
	f.open(t)
	return f
}

func (f *fixture) open(t testing.TB) {
	t.Helper()
	s, err := Open(f.path, Options{Now: f.clock.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	f.s = s
	t.Cleanup(func() { _ = s.Close() })
}

func (f *fixture) reopen(t testing.TB) {
	t.Helper()
	if err := f.s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	f.open(t)
}

func (f *fixture) user(t testing.TB, id int64, name string) affiliate.User {
	t.Helper()
	u, _, err := f.s.RegisterUser(t.Context(), affiliate.User{ID: id, ChatID: id, FirstName: name, Lang: affiliate.LangID, TimeZone: "Asia/Jakarta", DigestMinute: affiliate.DefaultDigestMinute, AlertsOn: true, Reachable: true})
	if err != nil {
		t.Fatalf("register %d: %v", id, err)
	}
	return u
}

func (f *fixture) seller(t testing.TB, id int64, shop string) affiliate.User {
	t.Helper()
	f.user(t, id, "Seller "+shop)
	if _, err := f.s.ApplySeller(t.Context(), id, shop); err != nil {
		t.Fatalf("apply: %v", err)
	}
	_, u, err := f.s.DecideApplication(t.Context(), id, true, 1)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return u
}

func (f *fixture) product(t testing.TB, sellerID int64, name string, rate affiliate.BasisPoints) affiliate.Product {
	t.Helper()
	p, err := f.s.CreateProduct(t.Context(), affiliate.Product{SellerID: sellerID, Name: name, Price: 150000, Rate: rate, URL: "https://shop.example.com/p/" + name})
	if err != nil {
		t.Fatalf("create product: %v", err)
	}
	return p
}

func (f *fixture) join(t testing.TB, affID int64, productID uint64) affiliate.Link {
	t.Helper()
	l, _, err := f.s.JoinProduct(t.Context(), affID, productID)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return l
}

func click(l affiliate.Link, id string, at time.Time, visitor uint64) affiliate.Click {
	return affiliate.Click{ID: id, Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: visitor}
}

func (f *fixture) record(t testing.TB, clicks ...affiliate.Click) []affiliate.Click {
	t.Helper()
	out, err := f.s.RecordClicks(t.Context(), clicks)
	if err != nil {
		t.Fatalf("record clicks: %v", err)
	}
	return out
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if got := affiliate.ErrorReason(err); got != reason {
		t.Fatalf("error %v: reason %q, want %q", err, got, reason)
	}
}

// scriptReader serves the scripted bytes, then crypto/rand.
type scriptReader struct {
	mu     sync.Mutex
	script []byte
}

func (r *scriptReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.script) == 0 {
		return rand.Read(p)
	}
	n := copy(p, r.script)
	r.script = r.script[n:]
	return n, nil
}

package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/storetest"
)

var _ storetest.Backend = (*store.Store)(nil)

// TestConformance runs the store contract's suite on bbolt files in temp dirs.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) (storetest.Backend, func(*testing.T) storetest.Backend) {
		path := filepath.Join(t.TempDir(), "k.db")
		open := func(t *testing.T) *store.Store {
			s, err := store.Open(path, store.Options{Now: now})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		cur := open(t)
		reopen := func(t *testing.T) storetest.Backend {
			if err := cur.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			cur = open(t)
			return cur
		}
		return cur, reopen
	})
}

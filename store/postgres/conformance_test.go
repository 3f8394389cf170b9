package postgres_test

import (
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/store/storetest"
)

// open opens a store on url with the clock now, closed when t ends.
func open(t *testing.T, url string, now func() time.Time) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, store.Options{Now: now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the store contract's suite on PostgreSQL, each test in a schema of its own.
func TestConformance(t *testing.T) {
	pgtest.Base(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) (storetest.Backend, func(*testing.T) storetest.Backend) {
		url := pgtest.URL(t)
		cur := open(t, url, now)
		reopen := func(t *testing.T) storetest.Backend {
			if err := cur.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			cur = open(t, url, now)
			return cur
		}
		return cur, reopen
	})
}

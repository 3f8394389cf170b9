package postgres_test

import (
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store/storetest"
)

// BenchmarkEnqueue queues outbox messages one a call from 1, 8 and 32 goroutines (storetest.BenchEnqueue)
// on a schema of its own; the bbolt backend's BenchmarkEnqueue is its baseline.
func BenchmarkEnqueue(b *testing.B) {
	storetest.BenchEnqueue(b, func(b *testing.B) storetest.Backend {
		return openInstance(b, pgtest.URL(b), time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), 1)
	})
}

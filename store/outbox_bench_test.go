package store

import (
	"testing"

	"github.com/keranjang/keranjang/store/storetest"
)

// BenchmarkEnqueue queues outbox messages one a call from 1, 8 and 32 goroutines (storetest.BenchEnqueue),
// the baseline of the PostgreSQL backend's benchmark of the same name.
//
//	KERANJANG_TEST_POSTGRES=... go test -run '^$' -bench Enqueue ./store/ ./store/postgres/
func BenchmarkEnqueue(b *testing.B) {
	storetest.BenchEnqueue(b, func(b *testing.B) storetest.Backend { return newFixture(b).s })
}

package store

import (
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/keranjang/keranjang/store/storetest"
)

// fixture is a bbolt store in a temp dir with a settable clock, for the tests of what is particular to
// bbolt and for the benchmarks. What every backend must do is tested in storetest.
type fixture struct {
	s     *Store
	path  string
	clock *storetest.Clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "k.db"), clock: storetest.NewClock()}
	f.open(t, Options{})
	return f
}

func (f *fixture) open(t testing.TB, opts Options) {
	t.Helper()
	opts.Now = f.clock.Now
	s, err := Open(f.path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	f.s = s
	t.Cleanup(func() { _ = s.Close() })
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

package safeio

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestCtxWriterStopsWhenDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var b bytes.Buffer
	w := CtxWriter{Ctx: ctx, W: &b}
	if n, err := w.Write([]byte("ab")); n != 2 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	cancel()
	if _, err := w.Write([]byte("cd")); !errors.Is(err, context.Canceled) {
		t.Fatalf("write after cancel: %v", err)
	}
	if b.String() != "ab" {
		t.Fatalf("wrote %q", b.String())
	}
}

func TestLockedReaderConcurrent(t *testing.T) {
	l := &LockedReader{R: strings.NewReader(strings.Repeat("x", 8000))}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			p := make([]byte, 1000)
			if n, err := l.Read(p); n != 1000 || err != nil {
				t.Errorf("read %d %v", n, err)
			}
		})
	}
	wg.Wait()
}

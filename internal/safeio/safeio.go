// Package safeio holds the two small I/O wrappers both store backends need: a writer that stops once
// its context is done, and a reader made safe for concurrent use.
package safeio

import (
	"context"
	"io"
	"sync"
)

// CtxWriter fails every write once Ctx is done, so that a long copy (a backup to a slow client) ends
// when its caller gives up.
type CtxWriter struct {
	Ctx context.Context
	W   io.Writer
}

func (c CtxWriter) Write(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.W.Write(p)
}

// LockedReader serializes reads from R, a source that need not be safe for concurrent use (a seeded
// random source of a test).
type LockedReader struct {
	mu sync.Mutex
	R  io.Reader
}

func (l *LockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.R.Read(p)
}

// Package clocktest provides a manual clock for tests: time moves only when the test moves it, so
// anything that depends on the time (rate limits, day boundaries, expiry) happens exactly when expected.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock that stands still until Advance or Set. It is safe for concurrent use; pass its Now
// method wherever the code under test takes a `now func() time.Time`.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

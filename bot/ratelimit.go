package bot

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// inboundLimiter gives each user a token bucket (burst, refilled at one token per every). An update
// over the limit is dropped; the first drop of a run is reported so the user is told once.
type inboundLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	users   map[int64]*userBucket
	now     func() time.Time
	lastGC  time.Time
	maxIdle time.Duration
}

type userBucket struct {
	lim    *rate.Limiter
	warned bool
	seen   time.Time
}

func newInboundLimiter(burst int, every time.Duration, now func() time.Time) *inboundLimiter {
	return &inboundLimiter{every: every, burst: burst, users: map[int64]*userBucket{}, now: now,
		maxIdle: time.Duration(burst) * every * 2}
}

// allow reports whether the user's update may be handled, and, when it may not, whether this is the
// first refusal since the user was last allowed (so they get one "slow down" message).
func (l *inboundLimiter) allow(userID int64) (ok, warn bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastGC) > time.Minute {
		for id, b := range l.users {
			if now.Sub(b.seen) > l.maxIdle {
				delete(l.users, id)
			}
		}
		l.lastGC = now
	}
	b := l.users[userID]
	if b == nil {
		b = &userBucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.users[userID] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		b.warned = false
		return true, false
	}
	if b.warned {
		return false, false
	}
	b.warned = true
	return false, true
}

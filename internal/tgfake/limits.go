package tgfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits are Telegram's flood limits on sending, which the fake enforces when given [WithLimits]: a
// send over a limit is refused with 429 and a retry_after, and recorded as a rejection (Call.Rejected),
// as a client that floods Telegram would see. Only sending methods count (send*, except
// sendChatAction), and only calls that pass validation and injected faults.
type Limits struct {
	// Global is how many sends the bot may make in any one second (Telegram: about 30).
	Global int
	// PrivateGap is the least time between two sends to one private chat (Telegram: one second).
	PrivateGap time.Duration
	// Group is how many sends one group chat may get in any one minute (Telegram: 20).
	Group int
}

// TelegramLimits are the limits Telegram documents for bots.
var TelegramLimits = Limits{Global: 30, PrivateGap: time.Second, Group: 20}

// WithLimits makes the fake refuse sends over l with 429 (see [Limits]); a zero field is no limit.
func WithLimits(l Limits) Option {
	return func(s *Server) {
		s.limits = &limiter{l: l, groups: map[int64][]time.Time{}, private: map[int64]time.Time{}}
	}
}

// limiter keeps what the limits need: the times of recent sends, overall and per chat.
type limiter struct {
	l       Limits
	recent  []time.Time // sends in the last second, oldest first
	private map[int64]time.Time
	groups  map[int64][]time.Time // sends to each group in the last minute, oldest first
}

// RateLimited returns the calls the fake refused for going over its [Limits].
func (s *Server) RateLimited() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Status == http.StatusTooManyRequests && !c.Injected {
			out = append(out, c)
		}
	}
	return out
}

// checkLimitsLocked counts a send against the limits, or refuses it. The caller holds s.mu.
func (s *Server) checkLimitsLocked(req *request, now time.Time) *apiError {
	lim := s.limits
	if lim == nil || !strings.HasPrefix(req.method, "send") || req.method == "sendChatAction" {
		return nil
	}
	chat, _ := strconv.ParseInt(req.params["chat_id"], 10, 64)
	tooMany := func(wait time.Duration) *apiError {
		secs := max(1, int((wait+time.Second-1)/time.Second))
		return &apiError{code: http.StatusTooManyRequests, retryAfter: secs,
			description: fmt.Sprintf("Too Many Requests: retry after %d", secs)}
	}
	lim.recent = dropBefore(lim.recent, now.Add(-time.Second))
	if lim.l.Global > 0 && len(lim.recent) >= lim.l.Global {
		return tooMany(lim.recent[0].Add(time.Second).Sub(now))
	}
	switch {
	case chat > 0 && lim.l.PrivateGap > 0:
		if last, ok := lim.private[chat]; ok && now.Sub(last) < lim.l.PrivateGap {
			return tooMany(last.Add(lim.l.PrivateGap).Sub(now))
		}
		lim.private[chat] = now
	case chat < 0 && lim.l.Group > 0:
		g := dropBefore(lim.groups[chat], now.Add(-time.Minute))
		if len(g) >= lim.l.Group {
			lim.groups[chat] = g
			return tooMany(g[0].Add(time.Minute).Sub(now))
		}
		lim.groups[chat] = append(g, now)
	}
	lim.recent = append(lim.recent, now)
	return nil
}

// dropBefore removes the times not after t from the front of ts.
func dropBefore(ts []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(t) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// OutboxQueue renders notices for many users at once, each in the user's language and time zone
// (OutboxMessage), and queues them in the outbox in one call (one transaction): the way big fan-outs
// (alerts, broadcasts) are queued page by page.
type OutboxQueue struct {
	out  Enqueuer
	wake func()
	zone *time.Location
}

// NewOutboxQueue builds an OutboxQueue; wake (may be nil) tells the delivery worker that messages are
// waiting; zone is the default time zone for dates (KERANJANG_TIMEZONE).
func NewOutboxQueue(out Enqueuer, wake func(), zone *time.Location) *OutboxQueue {
	if zone == nil {
		zone = time.UTC
	}
	if wake == nil {
		wake = func() {}
	}
	return &OutboxQueue{out: out, wake: wake, zone: zone}
}

// QueueNotices queues notices[i] for users[i] and returns how many were queued (a notice whose ID is
// already in the outbox is not).
func (q *OutboxQueue) QueueNotices(ctx context.Context, users []affiliate.User, notices []affiliate.Notice) (int, error) {
	if len(users) != len(notices) {
		return 0, fmt.Errorf("queue notices: %d users, %d notices", len(users), len(notices))
	}
	msgs := make([]affiliate.OutboxMessage, len(users))
	for i, u := range users {
		m, err := OutboxMessage(u, q.zone, notices[i])
		if err != nil {
			return 0, fmt.Errorf("queue notices: %w", err)
		}
		msgs[i] = m
	}
	n, err := q.out.Enqueue(ctx, msgs)
	if err != nil {
		return n, fmt.Errorf("queue notices: %w", err)
	}
	if n > 0 {
		q.wake()
	}
	return n, nil
}

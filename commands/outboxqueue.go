package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Enqueuer is the durable outbox: messages queued at most once per key.
type Enqueuer interface {
	Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (int, error)
}

// OutboxQueue renders notices for many users at once, each in the user's language and time zone, and
// queues them in the outbox in one call (one transaction): the way big fan-outs (alerts, broadcasts) are
// queued page by page.
type OutboxQueue struct {
	out  Enqueuer
	zone *time.Location
}

// NewOutboxQueue builds an OutboxQueue; zone is the default time zone for dates (KERANJANG_TIMEZONE).
func NewOutboxQueue(out Enqueuer, zone *time.Location) *OutboxQueue {
	if zone == nil {
		zone = time.UTC
	}
	return &OutboxQueue{out: out, zone: zone}
}

// QueueNotices queues notices[i] for users[i] and returns how many were queued (a notice whose ID is
// already in the outbox is not).
func (q *OutboxQueue) QueueNotices(ctx context.Context, users []affiliate.User, notices []affiliate.Notice) (int, error) {
	if len(users) != len(notices) {
		return 0, fmt.Errorf("queue notices: %d users, %d notices", len(users), len(notices))
	}
	msgs := make([]affiliate.OutboxMessage, len(users))
	for i, u := range users {
		n := notices[i]
		m := renderNotice(u.Lang, u.Location(q.zone), n)
		kind := n.Kind
		if kind == "" {
			kind = "notice"
		}
		msgs[i] = affiliate.OutboxMessage{Key: n.ID, Kind: kind, AlertID: n.AlertID, UserID: u.ID, ChatID: u.ChatID, Text: m.Text}
		for _, row := range m.Keyboard {
			var r []affiliate.Button
			for _, b := range row {
				r = append(r, affiliate.Button{Text: b.Text, Data: b.CallbackData})
			}
			msgs[i].Buttons = append(msgs[i].Buttons, r)
		}
	}
	n, err := q.out.Enqueue(ctx, msgs)
	if err != nil {
		return n, fmt.Errorf("queue notices: %w", err)
	}
	return n, nil
}

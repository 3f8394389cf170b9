package store

import (
	"context"
	"errors"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Enqueue queues messages durably, each at most once per Key: a message whose key is already in the
// outbox (queued, sent, failed or dropped) is skipped. Messages get their ID, Status queued and NextAt
// (now, unless set) here. It returns how many were queued. Callers queue big fan-outs in pages (say 1,000
// messages a call), so that no transaction and no slice holds them all.
func (s *Store) Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (queued int, err error) {
	return 0, errOutboxNotBuilt
}

// DueMessages returns up to limit queued messages whose NextAt is not after now, oldest NextAt first.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error) {
	return nil, errOutboxNotBuilt
}

// MarkSent records that Telegram confirmed message id; it is never sent again.
func (s *Store) MarkSent(ctx context.Context, id uint64, at time.Time) error {
	return errOutboxNotBuilt
}

// MarkRetry records a failed try of message id and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error {
	return errOutboxNotBuilt
}

// MarkFailed gives up on message id.
func (s *Store) MarkFailed(ctx context.Context, id uint64, lastErr string) error {
	return errOutboxNotBuilt
}

// SetReachable marks a user reachable or not (a 403 from Telegram, a my_chat_member update). Marking a
// user unreachable drops their queued messages (status dropped) and returns how many.
func (s *Store) SetReachable(ctx context.Context, userID int64, reachable bool) (dropped int, err error) {
	return 0, errOutboxNotBuilt
}

// MigrateChat moves every queued message and the user records of chat oldID to newID (a group that
// became a supergroup).
func (s *Store) MigrateChat(ctx context.Context, oldID, newID int64) error { return errOutboxNotBuilt }

// OutboxStats counts the outbox's messages by status.
func (s *Store) OutboxStats(ctx context.Context) (affiliate.OutboxStats, error) {
	return affiliate.OutboxStats{}, errOutboxNotBuilt
}

var errOutboxNotBuilt = errors.New("the outbox is not built yet")

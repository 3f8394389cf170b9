package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
)

// Enqueue: see store.Store.Enqueue.
func (s *Store) Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (int, error) {
	return 0, errNotImplemented
}

// DueMessages: see store.Store.DueMessages.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error) {
	return nil, errNotImplemented
}

// NextDue: see store.Store.NextDue.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	return time.Time{}, false, errNotImplemented
}

// GetOutboxMessage: see store.Store.GetOutboxMessage.
func (s *Store) GetOutboxMessage(ctx context.Context, id uint64) (affiliate.OutboxMessage, error) {
	return affiliate.OutboxMessage{}, errNotImplemented
}

// MarkSent: see store.Store.MarkSent.
func (s *Store) MarkSent(ctx context.Context, id uint64, at time.Time) error {
	return errNotImplemented
}

// MarkRetry: see store.Store.MarkRetry.
func (s *Store) MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error {
	return errNotImplemented
}

// MarkFailed: see store.Store.MarkFailed.
func (s *Store) MarkFailed(ctx context.Context, id uint64, lastErr string) error {
	return errNotImplemented
}

// SetReachable: see store.Store.SetReachable.
func (s *Store) SetReachable(ctx context.Context, userID int64, reachable bool) (int, error) {
	return 0, errNotImplemented
}

// MigrateChat: see store.Store.MigrateChat.
func (s *Store) MigrateChat(ctx context.Context, oldID, newID int64) error {
	return errNotImplemented
}

// OutboxStats: see store.Store.OutboxStats.
func (s *Store) OutboxStats(ctx context.Context) (affiliate.OutboxStats, error) {
	return affiliate.OutboxStats{}, errNotImplemented
}

// AlertCounts: see store.Store.AlertCounts.
func (s *Store) AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error) {
	return affiliate.AlertCounts{}, errNotImplemented
}

// AddAlertSkipped: see store.Store.AddAlertSkipped.
func (s *Store) AddAlertSkipped(ctx context.Context, id uint64, n int) error {
	return errNotImplemented
}

// PruneOutbox: see store.Store.PruneOutbox.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	return 0, errNotImplemented
}

// DigestZones: see store.Store.DigestZones.
func (s *Store) DigestZones(ctx context.Context) ([]string, error) {
	return nil, errNotImplemented
}

// DigestDue: see store.Store.DigestDue.
func (s *Store) DigestDue(ctx context.Context, zone string, fromMinute, toMinute int, skipDate string, after affiliate.DigestEntry, limit int) ([]affiliate.DigestEntry, error) {
	return nil, errNotImplemented
}

// MarkDigests: see store.Store.MarkDigests.
func (s *Store) MarkDigests(ctx context.Context, zone string, entries []affiliate.DigestEntry, date string) error {
	return errNotImplemented
}

// dropQueued marks every queued message of user userID dropped with reason, at, moving the outbox
// counters and alert counts as the bbolt backend's dropQueued does, inside tx; it returns how many it
// dropped. (Used by DeleteUserData and SetReachable.)
func dropQueued(ctx context.Context, tx pgx.Tx, userID int64, reason string, at time.Time) (int, error) {
	return 0, errNotImplemented
}

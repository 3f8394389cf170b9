package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// Outbox layout (see the table in store.go). A message lives in outbox under its id for as long as it is
// kept; its key in outbox_keys for exactly as long, so that a key is refused while its message is there.
// The three indexes hold only what their names say, so the worker's read and a user's drop never walk
// finished messages:
//
//	outbox        id (8)                         → affiliate.OutboxMessage
//	outbox_keys   idempotency key (string)        → id (8)
//	outbox_due    next_at unix ns (8) + id (8)    → empty; queued messages only, soonest first
//	outbox_user   user id (8) + id (8)            → empty; queued messages only
//	outbox_done   finished unix ns (8) + id (8)   → empty; sent, failed and dropped messages, for pruning
//	alert_counts  alert id (8)                    → affiliate.AlertCounts of the alert's messages
//	meta          "ob_queued", "ob_sent", "ob_failed", "ob_dropped" → uint64 counters (binary)
var (
	bOutbox      = []byte("outbox")
	bOutboxKeys  = []byte("outbox_keys")
	bOutboxDue   = []byte("outbox_due")
	bOutboxUser  = []byte("outbox_user")
	bOutboxDone  = []byte("outbox_done")
	bAlertCounts = []byte("alert_counts")

	outboxBuckets = [][]byte{bOutbox, bOutboxKeys, bOutboxDue, bOutboxUser, bOutboxDone, bAlertCounts}

	kObCount = map[affiliate.OutboxStatus][]byte{
		affiliate.OutboxQueued:  []byte("ob_queued"),
		affiliate.OutboxSent:    []byte("ob_sent"),
		affiliate.OutboxFailed:  []byte("ob_failed"),
		affiliate.OutboxDropped: []byte("ob_dropped"),
	}
)

// OutboxKeyRetention is the shortest time an idempotency key is refused after its message finished:
// PruneOutbox never deletes a message (and with it its key) that finished more recently than this, so
// that the same day's digest or a repeated event is still refused whatever a caller passes.
const OutboxKeyRetention = 48 * time.Hour

// outboxPruneChunk is how many finished messages one PruneOutbox transaction deletes.
const outboxPruneChunk = 1000

// migrateOutboxBuckets is migration 5: the outbox's buckets, empty, and its counters at zero.
func migrateOutboxBuckets(tx *bolt.Tx, _ []byte) ([]byte, error) {
	for _, name := range outboxBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Enqueue queues messages durably, each at most once per Key: a message whose key is already in the
// outbox (queued, sent, failed or dropped) is skipped, and so is a second message with the same key in
// msgs. Messages get their ID, Status queued and NextAt (now, unless set) here. It returns how many were
// queued. Callers queue big fan-outs in pages (say 1,000 messages a call), so that no transaction and no
// slice holds them all; each call is one transaction.
//
// A message for a user who is stored as unreachable (UserID > 0, the user exists, Reachable false) is
// recorded as dropped at once, so that its key is taken and its alert counts it unreachable, and is not
// counted in queued: nobody sends to a chat that blocked the bot.
func (s *Store) Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (queued int, err error) {
	if err := affiliate.ValidateOutbox(msgs); err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, ctx.Err()
	}
	// Concurrent callers (postbacks, the digest job's workers) share commits through DB.Batch, which may
	// run this function again after another's failure: it starts from nothing each time.
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		queued = 0
		ob, keys, users := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys), tx.Bucket(bUsers)
		now := s.now().UTC()
		reach := make(map[int64]bool)
		for _, m := range msgs {
			if keys.Get([]byte(m.Key)) != nil {
				continue
			}
			id, err := ob.NextSequence()
			if err != nil {
				return err
			}
			m.ID, m.Status, m.CreatedAt, m.Attempts, m.LastError, m.SentAt = id, affiliate.OutboxQueued, now, 0, "", time.Time{}
			if m.NextAt.IsZero() {
				m.NextAt = now
			}
			m.NextAt = m.NextAt.UTC()
			if m.UserID > 0 {
				ok, seen := reach[m.UserID]
				if !seen {
					var u affiliate.User
					found, err := getJSON(users, idKey(m.UserID), &u)
					if err != nil {
						return err
					}
					ok = !found || u.Reachable
					reach[m.UserID] = ok
				}
				if !ok {
					m.Status, m.LastError = affiliate.OutboxDropped, "user unreachable"
				}
			}
			if err := keys.Put([]byte(m.Key), u64(id)); err != nil {
				return err
			}
			if err := putMessage(tx, nil, m, now); err != nil {
				return err
			}
			if m.Status == affiliate.OutboxQueued {
				queued++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	return queued, nil
}

// DueMessages returns up to limit queued messages whose NextAt is not after now, oldest NextAt first.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error) {
	if limit <= 0 {
		return nil, ctx.Err()
	}
	return get(s, ctx, "due messages", func(tx *bolt.Tx) ([]affiliate.OutboxMessage, error) {
		var out []affiliate.OutboxMessage
		ob := tx.Bucket(bOutbox)
		end := uint64(now.UnixNano())
		c := tx.Bucket(bOutboxDue).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) != 16 || binary.BigEndian.Uint64(k) > end {
				break
			}
			var m affiliate.OutboxMessage
			found, err := getJSON(ob, k[8:], &m)
			if err != nil {
				return nil, err
			}
			if found {
				out = append(out, m)
			}
		}
		return out, nil
	})
}

// NextDue returns the NextAt of the soonest queued message, and false when nothing is queued, so that
// a worker knows how long it may sleep.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	type next struct {
		at time.Time
		ok bool
	}
	n, err := get(s, ctx, "next due", func(tx *bolt.Tx) (next, error) {
		k, _ := tx.Bucket(bOutboxDue).Cursor().First()
		if len(k) != 16 {
			return next{}, nil
		}
		return next{at: time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), ok: true}, nil
	})
	return n.at, n.ok, err
}

// GetOutboxMessage returns one message of the outbox, or an error with code not_found.
func (s *Store) GetOutboxMessage(ctx context.Context, id uint64) (affiliate.OutboxMessage, error) {
	return get(s, ctx, "get outbox message", func(tx *bolt.Tx) (affiliate.OutboxMessage, error) {
		return getMessage(tx, id)
	})
}

// MarkSent records that Telegram confirmed message id; it is never sent again. Telegram's word wins: a
// message dropped or failed meanwhile becomes sent too; marking a sent message again changes nothing.
func (s *Store) MarkSent(ctx context.Context, id uint64, at time.Time) error {
	err := s.transition(ctx, id, func(m *affiliate.OutboxMessage) bool {
		if m.Status == affiliate.OutboxSent {
			return false
		}
		m.Status, m.SentAt = affiliate.OutboxSent, at.UTC()
		return true
	})
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// MarkRetry records a failed try of message id and when to try again. A message that is no longer
// queued is left as it is.
func (s *Store) MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error {
	err := s.transition(ctx, id, func(m *affiliate.OutboxMessage) bool {
		if m.Status != affiliate.OutboxQueued {
			return false
		}
		m.Attempts, m.NextAt, m.LastError = attempts, next.UTC(), lastErr
		return true
	})
	if err != nil {
		return fmt.Errorf("mark retry: %w", err)
	}
	return nil
}

// MarkFailed gives up on message id. A message that is no longer queued is left as it is.
func (s *Store) MarkFailed(ctx context.Context, id uint64, lastErr string) error {
	err := s.transition(ctx, id, func(m *affiliate.OutboxMessage) bool {
		if m.Status != affiliate.OutboxQueued {
			return false
		}
		m.Status, m.LastError = affiliate.OutboxFailed, lastErr
		return true
	})
	if err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}
	return nil
}

// SetReachable marks a user reachable or not (a 403 from Telegram, a my_chat_member update). Marking a
// user unreachable drops their queued messages (status dropped) and returns how many, in the same
// transaction as the user's flag. A user who is not stored is not an error: their queued messages are
// dropped all the same.
func (s *Store) SetReachable(ctx context.Context, userID int64, reachable bool) (dropped int, err error) {
	if userID <= 0 {
		return 0, affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		dropped = 0
		u, err := getUser(tx, userID)
		switch {
		case err == nil:
			if u.Reachable != reachable {
				u.Reachable, u.UpdatedAt = reachable, s.now().UTC()
				if err := writeUser(tx, u); err != nil {
					return err
				}
			}
		case err != affiliate.ErrUserNotFound:
			return err
		}
		if reachable {
			return nil
		}
		dropped, err = dropQueued(tx, userID, "user unreachable", s.now().UTC())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("set reachable: %w", err)
	}
	return dropped, nil
}

// dropQueued marks every queued message of a user dropped, with why, and returns how many.
func dropQueued(tx *bolt.Tx, userID int64, why string, now time.Time) (int, error) {
	dropped := 0
	{
		prefix := idKey(userID)
		var ids []uint64
		c := tx.Bucket(bOutboxUser).Cursor()
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, binary.BigEndian.Uint64(k[8:]))
		}
		for _, id := range ids {
			m, err := getMessage(tx, id)
			if err != nil {
				return dropped, err
			}
			old := m
			m.Status, m.LastError = affiliate.OutboxDropped, why
			if err := putMessage(tx, &old, m, now); err != nil {
				return dropped, err
			}
			dropped++
		}
	}
	return dropped, nil
}

// MigrateChat moves every queued message and the user records of chat oldID to newID (a group that
// became a supergroup). It walks the queued messages and the users in one transaction: a migration is
// rare, and both walks read keys and small records only.
func (s *Store) MigrateChat(ctx context.Context, oldID, newID int64) error {
	if oldID == 0 || newID == 0 {
		return affiliate.Errorf(affiliate.EInvalid, "chat_id")
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ob := tx.Bucket(bOutbox)
		type change struct {
			k []byte
			v []byte
		}
		var changes []change
		c := tx.Bucket(bOutboxDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 16 {
				continue
			}
			var m affiliate.OutboxMessage
			if _, err := getJSON(ob, k[8:], &m); err != nil {
				return err
			}
			if m.ChatID != oldID {
				continue
			}
			m.ChatID = newID
			v, err := json.Marshal(m)
			if err != nil {
				return err
			}
			changes = append(changes, change{k: bytes.Clone(k[8:]), v: v})
		}
		for _, ch := range changes {
			if err := ob.Put(ch.k, ch.v); err != nil {
				return err
			}
		}
		var users []affiliate.User
		uc := tx.Bucket(bUsers).Cursor()
		for k, v := uc.First(); k != nil; k, v = uc.Next() {
			var u affiliate.User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("decode user %x: %w", k, err)
			}
			if u.ChatID == oldID {
				users = append(users, u)
			}
		}
		for _, u := range users {
			u.ChatID, u.UpdatedAt = newID, s.now().UTC()
			if err := writeUser(tx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate chat: %w", err)
	}
	return nil
}

// OutboxStats counts the outbox's messages by status, from counters kept with every change (not a
// scan). Pruned messages stay counted as sent, failed or dropped.
func (s *Store) OutboxStats(ctx context.Context) (affiliate.OutboxStats, error) {
	return get(s, ctx, "outbox stats", func(tx *bolt.Tx) (affiliate.OutboxStats, error) {
		meta := tx.Bucket(bMeta)
		n := func(st affiliate.OutboxStatus) int64 { return int64(getU64(meta, kObCount[st])) }
		return affiliate.OutboxStats{
			Queued: n(affiliate.OutboxQueued), Sent: n(affiliate.OutboxSent),
			Failed: n(affiliate.OutboxFailed), Dropped: n(affiliate.OutboxDropped),
		}, nil
	})
}

// AlertCounts returns the delivery counts of an alert's messages: Queued are still waiting, Delivered
// were confirmed by Telegram, Unreachable were dropped (the user blocked the bot), Failed ran out of
// tries, Skipped were never queued (AddAlertSkipped). An alert with no messages has all zeros.
func (s *Store) AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error) {
	return get(s, ctx, "alert counts", func(tx *bolt.Tx) (affiliate.AlertCounts, error) {
		var c affiliate.AlertCounts
		_, err := getJSON(tx.Bucket(bAlertCounts), u64(id), &c)
		return c, err
	})
}

// AddAlertSkipped counts n users of alert id who were not sent it (alerts turned off).
func (s *Store) AddAlertSkipped(ctx context.Context, id uint64, n int) error {
	if id == 0 || n < 0 {
		return affiliate.Errorf(affiliate.EInvalid, "alert_skipped")
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return moveAlertCounts(tx, id, func(c *affiliate.AlertCounts) { c.Skipped += int64(n) })
	})
	if err != nil {
		return fmt.Errorf("add alert skipped: %w", err)
	}
	return nil
}

// PruneOutbox deletes messages that finished (sent, failed or dropped) before before, and their
// idempotency keys, in transactions of a bounded size, checking ctx between them; it returns how many it
// deleted. Messages that finished within OutboxKeyRetention of now are kept whatever before says.
// Queued messages are never pruned. Counters are not changed.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	if limit := s.now().Add(-OutboxKeyRetention); before.After(limit) {
		before = limit
	}
	end := uint64(before.UnixNano())
	total := 0
	for {
		n := 0
		err := s.update(ctx, func(tx *bolt.Tx) error {
			ob, keys, done := tx.Bucket(bOutbox), tx.Bucket(bOutboxKeys), tx.Bucket(bOutboxDone)
			var gone [][]byte
			c := done.Cursor()
			for k, _ := c.First(); k != nil && len(gone) < outboxPruneChunk; k, _ = c.Next() {
				if len(k) != 16 || binary.BigEndian.Uint64(k) >= end {
					break
				}
				gone = append(gone, bytes.Clone(k))
			}
			for _, k := range gone {
				var m affiliate.OutboxMessage
				found, err := getJSON(ob, k[8:], &m)
				if err != nil {
					return err
				}
				if found {
					if id := keys.Get([]byte(m.Key)); len(id) == 8 && bytes.Equal(id, k[8:]) {
						if err := keys.Delete([]byte(m.Key)); err != nil {
							return err
						}
					}
					if err := ob.Delete(k[8:]); err != nil {
						return err
					}
				}
				if err := done.Delete(k); err != nil {
					return err
				}
			}
			n = len(gone)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		total += n
		if n < outboxPruneChunk {
			return total, nil
		}
	}
}

// transition changes one message with fn in a write transaction, keeping its indexes and counters in
// step; fn reports whether it changed anything.
func (s *Store) transition(ctx context.Context, id uint64, fn func(*affiliate.OutboxMessage) bool) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		m, err := getMessage(tx, id)
		if err != nil {
			return err
		}
		old := m
		if !fn(&m) {
			return nil
		}
		return putMessage(tx, &old, m, s.now().UTC())
	})
}

func getMessage(tx *bolt.Tx, id uint64) (affiliate.OutboxMessage, error) {
	var m affiliate.OutboxMessage
	found, err := getJSON(tx.Bucket(bOutbox), u64(id), &m)
	if err != nil {
		return m, err
	}
	if !found {
		return m, affiliate.Errorf(affiliate.ENotFound, "outbox_message_not_found", id)
	}
	return m, nil
}

// putMessage writes m, which was old (nil for a new message), and moves every index entry, counter and
// alert count from old's state to m's. now is when a message that finishes here finished.
func putMessage(tx *bolt.Tx, old *affiliate.OutboxMessage, m affiliate.OutboxMessage, now time.Time) error {
	due, user, done := tx.Bucket(bOutboxDue), tx.Bucket(bOutboxUser), tx.Bucket(bOutboxDone)
	if old != nil {
		if old.Status == affiliate.OutboxQueued {
			if err := due.Delete(key2(uint64(old.NextAt.UnixNano()), old.ID)); err != nil {
				return err
			}
			if old.UserID > 0 {
				if err := user.Delete(key2(uint64(old.UserID), old.ID)); err != nil {
					return err
				}
			}
		} else if m.Status != old.Status {
			if err := done.Delete(key2(uint64(finishedAt(*old).UnixNano()), old.ID)); err != nil {
				return err
			}
		}
	}
	if m.Status == affiliate.OutboxQueued {
		if err := due.Put(key2(uint64(m.NextAt.UnixNano()), m.ID), nil); err != nil {
			return err
		}
		if m.UserID > 0 {
			if err := user.Put(key2(uint64(m.UserID), m.ID), nil); err != nil {
				return err
			}
		}
	} else if old == nil || old.Status != m.Status {
		if m.SentAt.IsZero() || m.Status != affiliate.OutboxSent {
			m.SentAt = time.Time{}
			m.NextAt = now // a finished message's NextAt is when it finished
		}
		if err := done.Put(key2(uint64(finishedAt(m).UnixNano()), m.ID), nil); err != nil {
			return err
		}
	}
	if err := putJSON(tx.Bucket(bOutbox), u64(m.ID), m); err != nil {
		return err
	}
	if old != nil && old.Status == m.Status {
		return nil
	}
	meta := tx.Bucket(bMeta)
	if old != nil {
		if err := meta.Put(kObCount[old.Status], u64(getU64(meta, kObCount[old.Status])-1)); err != nil {
			return err
		}
	}
	if err := addU64(meta, kObCount[m.Status], 1); err != nil {
		return err
	}
	if m.AlertID == 0 {
		return nil
	}
	return moveAlertCounts(tx, m.AlertID, func(c *affiliate.AlertCounts) {
		if old != nil {
			*c.Of(old.Status)--
		}
		*c.Of(m.Status)++
	})
}

// finishedAt is when a finished message finished: SentAt for a sent one, NextAt (set when it finished)
// for the others.
func finishedAt(m affiliate.OutboxMessage) time.Time {
	if m.Status == affiliate.OutboxSent && !m.SentAt.IsZero() {
		return m.SentAt
	}
	return m.NextAt
}

func moveAlertCounts(tx *bolt.Tx, id uint64, fn func(*affiliate.AlertCounts)) error {
	b := tx.Bucket(bAlertCounts)
	var c affiliate.AlertCounts
	if _, err := getJSON(b, u64(id), &c); err != nil {
		return err
	}
	fn(&c)
	return putJSON(b, u64(id), c)
}

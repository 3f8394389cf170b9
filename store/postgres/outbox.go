package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// OutboxChannel is the PostgreSQL notification channel of the outbox. Enqueue notifies it, inside its
// transaction (so the notification is delivered at commit, and never for a rolled-back one), whenever it
// queues at least one message; the instance that runs the outbox worker LISTENs on it to wake the worker
// at once rather than at its next poll, whichever instance queued the message. The payload is the
// schema's name (current_schema()): channels belong to the database, so a listener can pass over the
// notifications of another keranjang that shares the database in another schema.
const OutboxChannel = "keranjang_outbox"

// The outbox (table outbox, see migrations/00003_outbox_alerts.sql) keeps the rules of the bbolt
// backend's outbox with several instances writing at once:
//
//   - a key is taken by the unique index on idem_key: Enqueue inserts with ON CONFLICT DO NOTHING, so
//     that two instances queueing the same key at once queue one message;
//   - every status change is an UPDATE conditional on the status it leaves (or a SELECT ... FOR UPDATE
//     of the row first), so that two writers never both count one transition;
//   - the counters (outbox_counters) and an alert's counts (alert_counts) move by increments in the
//     transaction of the change, by what the change's statements returned.
//
// Locks are taken in one order by every method: users, then outbox rows (by key for inserts, by id for
// updates), then outbox_counters, then alert_counts by alert id, so that concurrent callers wait for
// each other but never deadlock.

// outboxColumns are the columns read into an affiliate.OutboxMessage by scanMessage.
const outboxColumns = `id, idem_key, kind, alert_id, user_id, chat_id, grp, text, buttons, status, attempts, next_at,
	last_error, created_at, sent_at`

// unreachableError is the LastError of a message dropped because its user blocked the bot.
const unreachableError = "user unreachable"

// Enqueue: see store.Store.Enqueue. The messages of one call are inserted in one statement, ordered by
// key (so that two concurrent calls with overlapping keys wait for each other in the same order rather
// than deadlock), with ids given in the order of msgs. The stored users among the recipients are read
// FOR SHARE first: a concurrent SetReachable(false) then either commits before (and its flag is seen,
// so the message is recorded dropped) or waits for this transaction (and drops what it queued).
func (s *Store) Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (int, error) {
	if err := affiliate.ValidateOutbox(msgs); err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("enqueue: %w", err)
		}
		return 0, nil
	}
	// A repeated key in msgs: the first message with it is the one queued.
	seen := make(map[string]bool, len(msgs))
	uniq := make([]affiliate.OutboxMessage, 0, len(msgs))
	var userIDs []int64
	for _, m := range msgs {
		if seen[m.Key] {
			continue
		}
		seen[m.Key] = true
		uniq = append(uniq, m)
		if m.UserID > 0 {
			userIDs = append(userIDs, m.UserID)
		}
	}
	slices.Sort(userIDs)
	userIDs = slices.Compact(userIDs)

	queued := 0
	err := s.inTx(ctx, "enqueue", func(ctx context.Context, tx pgx.Tx) error {
		queued = 0
		now := s.now().UTC()
		unreachable := map[int64]bool{}
		if len(userIDs) > 0 {
			// Every stored recipient is locked (in id order), the reachable ones too: a concurrent
			// SetReachable(false) must wait for this commit.
			rows, err := tx.Query(ctx, `SELECT id, reachable FROM users WHERE id = ANY($1) ORDER BY id FOR SHARE`, userIDs)
			if err != nil {
				return err
			}
			var id int64
			var ok bool
			if _, err := pgx.ForEachRow(rows, []any{&id, &ok}, func() error {
				if !ok {
					unreachable[id] = true
				}
				return nil
			}); err != nil {
				return err
			}
		}
		n := len(uniq)
		var (
			keys, kinds, texts, statuses, lastErrs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			alertIDs                               = make([]int64, n)
			users, chats                           = make([]int64, n), make([]int64, n)
			groups                                 = make([]bool, n)
			buttons                                = make([]*string, n)
			nextAts                                = make([]time.Time, n)
			finished                               = make([]*time.Time, n)
		)
		for i, m := range uniq {
			keys[i], kinds[i], texts[i] = m.Key, m.Kind, m.Text
			alertIDs[i], users[i], chats[i], groups[i] = int64(m.AlertID), m.UserID, m.ChatID, m.Group
			b, err := encodeButtons(m.Buttons)
			if err != nil {
				return err
			}
			buttons[i] = b
			statuses[i], nextAts[i] = string(affiliate.OutboxQueued), now
			if !m.NextAt.IsZero() {
				nextAts[i] = m.NextAt.UTC()
			}
			if m.UserID > 0 && unreachable[m.UserID] {
				// A finished message's next_at is when it finished, as in the bbolt backend.
				statuses[i], lastErrs[i], nextAts[i], finished[i] = string(affiliate.OutboxDropped), unreachableError, now, &now
			}
		}
		rows, err := tx.Query(ctx, `INSERT INTO outbox (id, idem_key, kind, alert_id, user_id, chat_id, grp, text, buttons,
				status, next_at, last_error, created_at, finished_at)
			SELECT id, k, kind, alert_id, user_id, chat_id, grp, text, buttons::jsonb, status, next_at, last_error, $13::timestamptz, finished_at
			FROM (
				SELECT nextval('outbox_id_seq') AS id, m.*
				FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::boolean[], $7::text[],
					$8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::timestamptz[])
					WITH ORDINALITY AS m(k, kind, alert_id, user_id, chat_id, grp, text, buttons, status, next_at, last_error,
					finished_at, ord)
				ORDER BY m.ord
			) v
			ORDER BY k
			ON CONFLICT (idem_key) DO NOTHING
			RETURNING status, alert_id`,
			keys, kinds, alertIDs, users, chats, groups, texts, buttons, statuses, nextAts, lastErrs, finished, now)
		if err != nil {
			return err
		}
		var mv countMove
		var st string
		var alertID uint64
		if _, err := pgx.ForEachRow(rows, []any{&st, &alertID}, func() error {
			mv.add(alertID, "", affiliate.OutboxStatus(st))
			if affiliate.OutboxStatus(st) == affiliate.OutboxQueued {
				queued++
			}
			return nil
		}); err != nil {
			return err
		}
		if err := mv.apply(ctx, tx); err != nil {
			return err
		}
		if queued > 0 {
			// Delivered at commit to the instance whose outbox worker LISTENs (see OutboxChannel).
			if _, err := tx.Exec(ctx, `SELECT pg_notify('`+OutboxChannel+`', current_schema())`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return queued, nil
}

// DueMessages: see store.Store.DueMessages.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE status = 'queued' AND next_at <= $1 ORDER BY next_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	ms, err := pgx.CollectRows(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	return ms, nil
}

// NextDue: see store.Store.NextDue.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT next_at FROM outbox WHERE status = 'queued' ORDER BY next_at, id LIMIT 1`).Scan(&at)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	return at.UTC(), true, nil
}

// GetOutboxMessage: see store.Store.GetOutboxMessage.
func (s *Store) GetOutboxMessage(ctx context.Context, id uint64) (affiliate.OutboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return affiliate.OutboxMessage{}, fmt.Errorf("get outbox message: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id)
	if err != nil {
		return affiliate.OutboxMessage{}, fmt.Errorf("get outbox message: %w", err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return m, fmt.Errorf("get outbox message: %w", messageNotFound(id))
	case err != nil:
		return m, fmt.Errorf("get outbox message: %w", err)
	}
	return m, nil
}

// MarkSent: see store.Store.MarkSent. The row is locked first, so that its status before the change is
// the one counted out whatever changed it meanwhile (a drop, a failure).
func (s *Store) MarkSent(ctx context.Context, id uint64, at time.Time) error {
	return s.inTx(ctx, "mark sent", func(ctx context.Context, tx pgx.Tx) error {
		var st string
		var alertID uint64
		err := tx.QueryRow(ctx, `SELECT status, alert_id FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&st, &alertID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return messageNotFound(id)
		case err != nil:
			return err
		case affiliate.OutboxStatus(st) == affiliate.OutboxSent:
			return nil
		}
		if at.IsZero() {
			// No time from Telegram: the message finished now (next_at too, as for the other finishes).
			now := s.now().UTC()
			_, err = tx.Exec(ctx, `UPDATE outbox SET status = 'sent', sent_at = NULL, next_at = $2, finished_at = $2
				WHERE id = $1`, id, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE outbox SET status = 'sent', sent_at = $2, finished_at = $2 WHERE id = $1`, id, at.UTC())
		}
		if err != nil {
			return err
		}
		var mv countMove
		mv.add(alertID, affiliate.OutboxStatus(st), affiliate.OutboxSent)
		return mv.apply(ctx, tx)
	})
}

// MarkRetry: see store.Store.MarkRetry.
func (s *Store) MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error {
	return s.inTx(ctx, "mark retry", func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbox SET attempts = $2, next_at = $3, last_error = $4
			WHERE id = $1 AND status = 'queued'`, id, attempts, next.UTC(), lastErr)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return messageExists(ctx, tx, id)
	})
}

// MarkFailed: see store.Store.MarkFailed.
func (s *Store) MarkFailed(ctx context.Context, id uint64, lastErr string) error {
	return s.inTx(ctx, "mark failed", func(ctx context.Context, tx pgx.Tx) error {
		now := s.now().UTC()
		var alertID uint64
		err := tx.QueryRow(ctx, `UPDATE outbox SET status = 'failed', last_error = $2, next_at = $3, finished_at = $3
			WHERE id = $1 AND status = 'queued' RETURNING alert_id`, id, lastErr, now).Scan(&alertID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return messageExists(ctx, tx, id)
		case err != nil:
			return err
		}
		var mv countMove
		mv.add(alertID, affiliate.OutboxQueued, affiliate.OutboxFailed)
		return mv.apply(ctx, tx)
	})
}

// SetReachable: see store.Store.SetReachable. The user's row is locked and written as every write of a
// user is (which waits for any Enqueue that read the user FOR SHARE); their queued messages are dropped
// after it in the same transaction.
func (s *Store) SetReachable(ctx context.Context, userID int64, reachable bool) (int, error) {
	if userID <= 0 {
		return 0, affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	dropped := 0
	err := s.inTx(ctx, "set reachable", func(ctx context.Context, tx pgx.Tx) error {
		dropped = 0
		now := s.now().UTC()
		old, err := getUser(ctx, tx, sqlGetUserLocked, userID)
		switch {
		case err == nil:
			if old.Reachable != reachable {
				u := old
				u.Reachable, u.UpdatedAt = reachable, now
				if err := writeUser(ctx, tx, u, &old); err != nil {
					return err
				}
			}
		case !errors.Is(err, affiliate.ErrUserNotFound):
			return err
		}
		if reachable {
			return nil
		}
		dropped, err = dropQueued(ctx, tx, userID, unreachableError, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	return dropped, nil
}

// dropQueued marks every queued message of user userID dropped with reason, at, moving the outbox
// counters and alert counts as the bbolt backend's dropQueued does, inside tx; it returns how many it
// dropped. (Used by DeleteUserData and SetReachable.) The messages are locked in id order, and a
// message that another transaction finished meanwhile (sent by the worker) is left as that made it.
func dropQueued(ctx context.Context, tx pgx.Tx, userID int64, reason string, at time.Time) (int, error) {
	rows, err := tx.Query(ctx, `UPDATE outbox SET status = 'dropped', last_error = $2, next_at = $3, finished_at = $3
		WHERE id IN (SELECT id FROM outbox WHERE user_id = $1 AND status = 'queued' ORDER BY id FOR UPDATE)
			AND status = 'queued'
		RETURNING alert_id`, userID, reason, at.UTC())
	if err != nil {
		return 0, err
	}
	var mv countMove
	var alertID uint64
	n, err := pgx.ForEachRow(rows, []any{&alertID}, func() error {
		mv.add(alertID, affiliate.OutboxQueued, affiliate.OutboxDropped)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := mv.apply(ctx, tx); err != nil {
		return 0, err
	}
	return int(n.RowsAffected()), nil
}

// MigrateChat: see store.Store.MigrateChat. The users are found by their document's chat_id (a
// migration is rare; bbolt walks its users too), locked in id order and written as every write of a user
// is; then the queued messages are moved through outbox_chat.
func (s *Store) MigrateChat(ctx context.Context, oldID, newID int64) error {
	if oldID == 0 || newID == 0 {
		return affiliate.Errorf(affiliate.EInvalid, "chat_id")
	}
	return s.inTx(ctx, "migrate chat", func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT doc FROM users WHERE doc->'chat_id' = to_jsonb($1::bigint) ORDER BY id FOR UPDATE`, oldID)
		if err != nil {
			return err
		}
		users, err := pgx.CollectRows(rows, pgx.RowTo[affiliate.User])
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, old := range users {
			u := old
			u.ChatID, u.UpdatedAt = newID, now
			if err := writeUser(ctx, tx, u, &old); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE outbox SET chat_id = $2
			WHERE id IN (SELECT id FROM outbox WHERE chat_id = $1 AND status = 'queued' ORDER BY id FOR UPDATE)
				AND chat_id = $1 AND status = 'queued'`, oldID, newID)
		return err
	})
}

// OutboxStats: see store.Store.OutboxStats.
func (s *Store) OutboxStats(ctx context.Context) (affiliate.OutboxStats, error) {
	var st affiliate.OutboxStats
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("outbox stats: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.pool.QueryRow(ctx, `SELECT queued, sent, failed, dropped FROM outbox_counters`).
		Scan(&st.Queued, &st.Sent, &st.Failed, &st.Dropped); err != nil {
		return affiliate.OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	return st, nil
}

// AlertCounts: see store.Store.AlertCounts.
func (s *Store) AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error) {
	var c affiliate.AlertCounts
	if err := ctx.Err(); err != nil {
		return c, fmt.Errorf("alert counts: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	err := s.pool.QueryRow(ctx, `SELECT queued, delivered, unreachable, failed, skipped FROM alert_counts WHERE alert_id = $1`, id).
		Scan(&c.Queued, &c.Delivered, &c.Unreachable, &c.Failed, &c.Skipped)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return affiliate.AlertCounts{}, nil
	case err != nil:
		return affiliate.AlertCounts{}, fmt.Errorf("alert counts: %w", err)
	}
	return c, nil
}

// AddAlertSkipped: see store.Store.AddAlertSkipped.
func (s *Store) AddAlertSkipped(ctx context.Context, id uint64, n int) error {
	if id == 0 || n < 0 {
		return affiliate.Errorf(affiliate.EInvalid, "alert_skipped")
	}
	return s.inTx(ctx, "add alert skipped", func(ctx context.Context, tx pgx.Tx) error {
		return addAlertSkipped(ctx, tx, id, n)
	})
}

// addAlertSkipped adds n to alert id's skipped count, in q.
func addAlertSkipped(ctx context.Context, q querier, id uint64, n int) error {
	_, err := q.Exec(ctx, `INSERT INTO alert_counts AS c (alert_id, skipped) VALUES ($1, $2)
		ON CONFLICT (alert_id) DO UPDATE SET skipped = c.skipped + excluded.skipped`, id, n)
	return err
}

// outboxPruneChunk is how many finished messages one PruneOutbox statement deletes.
const outboxPruneChunk = 1000

// PruneOutbox: see store.Store.PruneOutbox. Each chunk is one statement (its own transaction) over
// outbox_done; a message that is being sent meanwhile is waited for, and kept when it finished later.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time) (int, error) {
	if limit := s.now().Add(-store.OutboxKeyRetention); before.After(limit) {
		before = limit
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		n, err := s.pruneOutboxChunk(ctx, before)
		if err != nil {
			return total, fmt.Errorf("prune outbox: %w", err)
		}
		total += n
		if n < outboxPruneChunk {
			return total, nil
		}
	}
}

func (s *Store) pruneOutboxChunk(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox
		WHERE id IN (SELECT id FROM outbox WHERE status <> 'queued' AND finished_at < $1
			ORDER BY finished_at, id LIMIT $2 FOR UPDATE)
			AND status <> 'queued' AND finished_at < $1`, before.UTC(), outboxPruneChunk)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// DigestZones: see store.Store.DigestZones. The zones in use are read from users_digest by skipping
// from one zone to the next (one index descent per zone), not by reading every scheduled user.
func (s *Store) DigestZones(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("digest zones: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE z (zone) AS (
			(SELECT time_zone FROM users WHERE digest_minute >= 0 AND digest_minute < $1 ORDER BY time_zone LIMIT 1)
			UNION ALL
			SELECT (SELECT time_zone FROM users WHERE digest_minute >= 0 AND digest_minute < $1 AND time_zone > z.zone
				ORDER BY time_zone LIMIT 1)
			FROM z WHERE z.zone IS NOT NULL
		)
		SELECT zone FROM z WHERE zone IS NOT NULL`, affiliate.MinutesPerDay)
	if err != nil {
		return nil, fmt.Errorf("digest zones: %w", err)
	}
	zones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("digest zones: %w", err)
	}
	return zones, nil
}

// DigestDue: see store.Store.DigestDue. It reads users_digest in (minute, id) order.
func (s *Store) DigestDue(ctx context.Context, zone string, fromMinute, toMinute int, skipDate string, after affiliate.DigestEntry, limit int) ([]affiliate.DigestEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("digest due: %w", err)
	}
	if limit <= 0 || fromMinute > toMinute {
		return nil, nil
	}
	fromMinute, toMinute = max(fromMinute, 0), min(toMinute, affiliate.MinutesPerDay-1)
	// The keyset starts at fromMinute, or after the entry after when that is set and later, as bbolt's
	// seek does (user ids are positive: (fromMinute, -1) is before every entry of fromMinute).
	afterMinute, afterID := fromMinute, int64(-1)
	if (after.UserID != 0 || after.Minute != 0) && after.UserID >= 0 {
		afterMinute, afterID = after.Minute, after.UserID
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT digest_minute, id, digest_handled FROM users
		WHERE time_zone = $1 AND digest_minute >= $2 AND digest_minute <= $3 AND (digest_minute, id) > ($4, $5)
			AND ($6 = '' OR digest_handled <> $6)
		ORDER BY digest_minute, id LIMIT $7`, zone, fromMinute, toMinute, afterMinute, afterID, skipDate, limit)
	if err != nil {
		return nil, fmt.Errorf("digest due: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (affiliate.DigestEntry, error) {
		var e affiliate.DigestEntry
		err := row.Scan(&e.Minute, &e.UserID, &e.Handled)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("digest due: %w", err)
	}
	return out, nil
}

// MarkDigests: see store.Store.MarkDigests. Only the users still at the entry's zone and minute are
// marked (an entry that moved is not created again); they are locked in id order first.
func (s *Store) MarkDigests(ctx context.Context, zone string, entries []affiliate.DigestEntry, date string) error {
	if len(entries) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mark digests: %w", err)
		}
		return nil
	}
	minutes, ids := make([]int32, len(entries)), make([]int64, len(entries))
	for i, e := range entries {
		minutes[i], ids[i] = int32(e.Minute), e.UserID
	}
	return s.inTx(ctx, "mark digests", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET digest_handled = $4
			WHERE id IN (
				SELECT u.id FROM users u JOIN unnest($2::integer[], $3::bigint[]) AS e (minute, id)
					ON u.id = e.id AND u.digest_minute = e.minute
				WHERE u.time_zone = $1 AND u.digest_minute >= 0
				ORDER BY u.id FOR UPDATE OF u)`,
			zone, minutes, ids, date)
		return err
	})
}

// scanMessage reads one row of outboxColumns.
func scanMessage(row pgx.CollectableRow) (affiliate.OutboxMessage, error) {
	var (
		m       affiliate.OutboxMessage
		buttons []byte
		status  string
		sentAt  *time.Time
	)
	if err := row.Scan(&m.ID, &m.Key, &m.Kind, &m.AlertID, &m.UserID, &m.ChatID, &m.Group, &m.Text, &buttons, &status,
		&m.Attempts, &m.NextAt, &m.LastError, &m.CreatedAt, &sentAt); err != nil {
		return m, err
	}
	if len(buttons) > 0 {
		if err := json.Unmarshal(buttons, &m.Buttons); err != nil {
			return m, fmt.Errorf("decode buttons of outbox message %d: %w", m.ID, err)
		}
	}
	m.Status, m.NextAt, m.CreatedAt = affiliate.OutboxStatus(status), m.NextAt.UTC(), m.CreatedAt.UTC()
	if sentAt != nil {
		m.SentAt = sentAt.UTC()
	}
	return m, nil
}

// encodeButtons is a message's buttons as JSON, nil (NULL) for none.
func encodeButtons(b [][]affiliate.Button) (*string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	v, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode buttons: %w", err)
	}
	str := string(v)
	return &str, nil
}

func messageNotFound(id uint64) error {
	return affiliate.Errorf(affiliate.ENotFound, "outbox_message_not_found", id)
}

// messageExists returns nil when message id is stored and the not-found error otherwise.
func messageExists(ctx context.Context, q querier, id uint64) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM outbox WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return messageNotFound(id)
	}
	return nil
}

// countMove gathers what one transaction's status changes do to the outbox counters and the alerts'
// counts, and applies it at the end of the transaction (counters, then alert counts by alert id).
type countMove struct {
	status [4]int64 // by statusIndex
	alerts map[uint64]*affiliate.AlertCounts
}

func statusIndex(st affiliate.OutboxStatus) int {
	switch st {
	case affiliate.OutboxSent:
		return 1
	case affiliate.OutboxFailed:
		return 2
	case affiliate.OutboxDropped:
		return 3
	}
	return 0
}

// add counts one message of alert alertID (0: none) moving from status from ("" for a new message) to
// to.
func (mv *countMove) add(alertID uint64, from, to affiliate.OutboxStatus) {
	if from == to {
		return
	}
	if from != "" {
		mv.status[statusIndex(from)]--
	}
	mv.status[statusIndex(to)]++
	if alertID == 0 {
		return
	}
	if mv.alerts == nil {
		mv.alerts = map[uint64]*affiliate.AlertCounts{}
	}
	c := mv.alerts[alertID]
	if c == nil {
		c = &affiliate.AlertCounts{}
		mv.alerts[alertID] = c
	}
	if from != "" {
		*c.Of(from)--
	}
	*c.Of(to)++
}

// apply moves the counters and alert counts by increments, in q.
func (mv *countMove) apply(ctx context.Context, q querier) error {
	if mv.status != [4]int64{} {
		if _, err := q.Exec(ctx, `UPDATE outbox_counters SET queued = queued + $1, sent = sent + $2,
			failed = failed + $3, dropped = dropped + $4`, mv.status[0], mv.status[1], mv.status[2], mv.status[3]); err != nil {
			return err
		}
	}
	if len(mv.alerts) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(mv.alerts))
	for id := range mv.alerts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := len(ids)
	alertIDs, queued, delivered, unreachable, failed := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, id := range ids {
		c := mv.alerts[id]
		alertIDs[i], queued[i], delivered[i], unreachable[i], failed[i] = int64(id), c.Queued, c.Delivered, c.Unreachable, c.Failed
	}
	_, err := q.Exec(ctx, `INSERT INTO alert_counts AS c (alert_id, queued, delivered, unreachable, failed)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
		ON CONFLICT (alert_id) DO UPDATE SET queued = c.queued + excluded.queued, delivered = c.delivered + excluded.delivered,
			unreachable = c.unreachable + excluded.unreachable, failed = c.failed + excluded.failed`,
		alertIDs, queued, delivered, unreachable, failed)
	return err
}

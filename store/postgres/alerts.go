package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
)

// alertColumns are the columns read into an affiliate.Alert by scanAlert.
const alertColumns = `id, title, body, url, audience, source, created_at, fanned_out`

// insertAlert stores a new alert, not fanned out, with created_at now unless a has one.
const insertAlert = `INSERT INTO alerts (title, body, url, audience, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)
	RETURNING ` + alertColumns

// alertArgs are insertAlert's arguments for a.
func alertArgs(a affiliate.Alert, now time.Time) []any {
	at := now
	if !a.CreatedAt.IsZero() {
		at = a.CreatedAt.UTC()
	}
	return []any{a.Title, a.Body, a.URL, string(a.Audience), a.Source, at}
}

// CreateAlert: see store.Store.CreateAlert. The alert is returned as stored (its creation time at the
// database's precision, in UTC).
func (s *Store) CreateAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error) {
	var out affiliate.Alert
	err := s.inTx(ctx, "create alert", func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, insertAlert, alertArgs(a, s.now().UTC())...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanAlert)
		return err
	})
	if err != nil {
		return affiliate.Alert{}, err
	}
	return out, nil
}

// GetAlert: see store.Store.GetAlert.
func (s *Store) GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error) {
	if err := ctx.Err(); err != nil {
		return affiliate.Alert{}, fmt.Errorf("get alert: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id)
	if err != nil {
		return affiliate.Alert{}, fmt.Errorf("get alert: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return affiliate.Alert{}, fmt.Errorf("get alert: %w", affiliate.ErrAlertNotFound)
	case err != nil:
		return affiliate.Alert{}, fmt.Errorf("get alert: %w", err)
	}
	return a, nil
}

// AlertProgress: see store.Store.AlertProgress.
func (s *Store) AlertProgress(ctx context.Context, id uint64) (affiliate.AlertProgress, error) {
	var p affiliate.AlertProgress
	if err := ctx.Err(); err != nil {
		return p, fmt.Errorf("alert progress: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	err := s.pool.QueryRow(ctx, `SELECT fanout_cursor FROM alerts WHERE id = $1`, id).Scan(&p.Cursor)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return p, fmt.Errorf("alert progress: %w", affiliate.ErrAlertNotFound)
	case err != nil:
		return p, fmt.Errorf("alert progress: %w", err)
	}
	return p, nil
}

// PendingAlerts: see store.Store.PendingAlerts. It reads alerts_pending, oldest (smallest id) first.
func (s *Store) PendingAlerts(ctx context.Context) ([]affiliate.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pending alerts: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE NOT fanned_out ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pending alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("pending alerts: %w", err)
	}
	return out, nil
}

// AdvanceFanout: see store.Store.AdvanceFanout. The cursor moves by one UPDATE conditional on its
// value, so that of two instances fanning out the same page only one counts it.
func (s *Store) AdvanceFanout(ctx context.Context, id uint64, from, to int64, skipped int) (bool, error) {
	if skipped < 0 {
		return false, affiliate.Errorf(affiliate.EInvalid, "alert_skipped")
	}
	advanced := false
	err := s.inTx(ctx, "advance fan-out", func(ctx context.Context, tx pgx.Tx) error {
		advanced = false
		tag, err := tx.Exec(ctx, `UPDATE alerts SET fanout_cursor = $3 WHERE id = $1 AND fanout_cursor = $2 AND $3 >= $2`, id, from, to)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return alertExists(ctx, tx, id)
		}
		advanced = true
		if skipped == 0 {
			return nil
		}
		return addAlertSkipped(ctx, tx, id, skipped)
	})
	if err != nil {
		return false, err
	}
	return advanced, nil
}

// MarkFannedOut: see store.Store.MarkFannedOut.
func (s *Store) MarkFannedOut(ctx context.Context, id uint64) error {
	return s.inTx(ctx, "mark alert fanned out", func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE alerts SET fanned_out = true WHERE id = $1 AND NOT fanned_out`, id)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return alertExists(ctx, tx, id)
	})
}

// alertExists returns nil when alert id is stored and affiliate.ErrAlertNotFound otherwise.
func alertExists(ctx context.Context, q querier, id uint64) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM alerts WHERE id = $1)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return affiliate.ErrAlertNotFound
	}
	return nil
}

// feedKey is the key of a feed's rows: the SHA-256 of its URL.
func feedKey(feedURL string) []byte {
	sum := sha256.Sum256([]byte(feedURL))
	return sum[:]
}

// FeedItems: see store.Store.FeedItems. One statement reads both, so they agree.
func (s *Store) FeedItems(ctx context.Context, feedURL string) (map[string]bool, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("feed items: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var (
		polled bool
		ids    []string
	)
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM feeds WHERE url_hash = $1),
		coalesce((SELECT array_agg(item_id) FROM feed_items WHERE feed = $1), '{}')`, feedKey(feedURL)).Scan(&polled, &ids)
	if err != nil {
		return nil, false, fmt.Errorf("feed items: %w", err)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
	}
	return seen, polled, nil
}

// RecordFeedItems: see store.Store.RecordFeedItems. The feed's row is created or locked first, so that
// two instances reading the same feed at once take turns: the second sees the first's items as seen,
// and an item becomes one alert.
func (s *Store) RecordFeedItems(ctx context.Context, feedURL string, items []affiliate.FeedItem) ([]affiliate.Alert, error) {
	key := feedKey(feedURL)
	var created []affiliate.Alert
	err := s.inTx(ctx, "record feed items", func(ctx context.Context, tx pgx.Tx) error {
		created = nil
		now := s.now().UTC()
		// A feed read for the first time is inserted (and so locked) here; otherwise the conflict
		// waits for any transaction that is recording the same feed, and the row is locked below.
		tag, err := tx.Exec(ctx, `INSERT INTO feeds (url_hash, url, first_polled, last_polled) VALUES ($1, $2, $3, $3)
			ON CONFLICT (url_hash) DO NOTHING`, key, feedURL, now)
		if err != nil {
			return err
		}
		known := tag.RowsAffected() == 0
		if known {
			if _, err := tx.Exec(ctx, `UPDATE feeds SET last_polled = $2 WHERE url_hash = $1`, key, now); err != nil {
				return err
			}
		}
		// The items of this read not seen before, in their order, each once.
		ids := make([]string, 0, len(items))
		for _, it := range items {
			if it.ID != "" {
				ids = append(ids, it.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT item_id FROM feed_items WHERE feed = $1 AND item_id = ANY($2)`, key, ids)
		if err != nil {
			return err
		}
		old, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		seen := make(map[string]bool, len(ids))
		for _, id := range old {
			seen[id] = true
		}
		var fresh []affiliate.FeedItem
		for _, it := range items {
			if it.ID == "" || seen[it.ID] {
				continue
			}
			seen[it.ID] = true
			fresh = append(fresh, it)
		}
		if len(fresh) == 0 {
			return nil
		}
		newIDs, alertIDs := make([]string, len(fresh)), make([]int64, len(fresh))
		if known {
			// New items of a feed read before become alerts, in one round trip, ids in item order.
			b := &pgx.Batch{}
			for _, it := range fresh {
				b.Queue(insertAlert, alertArgs(it.Alert, now)...)
			}
			res := tx.SendBatch(ctx, b)
			for range fresh {
				rows, err := res.Query()
				if err != nil {
					_ = res.Close()
					return err
				}
				a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
				if err != nil {
					_ = res.Close()
					return err
				}
				created = append(created, a)
			}
			if err := res.Close(); err != nil {
				return err
			}
		}
		for i, it := range fresh {
			newIDs[i] = it.ID
			if known {
				alertIDs[i] = int64(created[i].ID)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO feed_items (feed, item_id, alert_id)
			SELECT $1, item_id, alert_id FROM unnest($2::text[], $3::bigint[]) AS t (item_id, alert_id)`, key, newIDs, alertIDs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// LastBroadcast: see store.Store.LastBroadcast.
func (s *Store) LastBroadcast(ctx context.Context, sellerID int64) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, fmt.Errorf("last broadcast: %w", err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var last *time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_at FROM broadcasts WHERE seller_id = $1`, sellerID).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && last == nil):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("last broadcast: %w", err)
	}
	return last.UTC(), nil
}

// BeginBroadcast: see store.Store.BeginBroadcast. The seller's row is created if need be and locked,
// checked by affiliate.BroadcastAllowed and written in one transaction, so that of two presses (on two
// instances) one broadcast is begun; a refused one rolls back, leaving nothing.
func (s *Store) BeginBroadcast(ctx context.Context, sellerID int64, at time.Time) (uint64, error) {
	var id uint64
	err := s.inTx(ctx, "begin broadcast", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO broadcasts (seller_id) VALUES ($1) ON CONFLICT (seller_id) DO NOTHING`, sellerID); err != nil {
			return err
		}
		var last *time.Time
		if err := tx.QueryRow(ctx, `SELECT last_at FROM broadcasts WHERE seller_id = $1 FOR UPDATE`, sellerID).Scan(&last); err != nil {
			return err
		}
		var prev time.Time
		if last != nil {
			prev = last.UTC()
		}
		if !affiliate.BroadcastAllowed(prev, at) {
			return affiliate.Errorf(affiliate.EConflict, "broadcast_too_soon")
		}
		return tx.QueryRow(ctx, `UPDATE broadcasts SET last_at = $2 WHERE seller_id = $1 RETURNING nextval('broadcast_ids')`,
			sellerID, at.UTC()).Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// scanAlert reads one row of alertColumns.
func scanAlert(row pgx.CollectableRow) (affiliate.Alert, error) {
	var (
		a        affiliate.Alert
		audience string
	)
	if err := row.Scan(&a.ID, &a.Title, &a.Body, &a.URL, &audience, &a.Source, &a.CreatedAt, &a.FannedOut); err != nil {
		return a, err
	}
	a.Audience, a.CreatedAt = affiliate.Audience(audience), a.CreatedAt.UTC()
	return a, nil
}

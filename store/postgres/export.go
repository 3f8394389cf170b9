package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/dump"
)

// Export writes the whole database to w as a portable dump (package dump; w's header should name source
// "postgres"), from one read-only transaction at REPEATABLE READ: every item comes from one snapshot,
// and no writer waits for it. Rows are streamed from the database into w as they come. Options.Timeout
// does not bound it (a large database takes a while); ctx does. w should write to local storage (see
// Backup): the snapshot is held until the last item is written. It does not close w.
func (s *Store) Export(ctx context.Context, w *dump.Writer) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		e := pgExporter{ctx: ctx, tx: tx, w: w}
		for _, step := range []func() error{
			e.meta, e.sequences,
			e.rows(`SELECT doc FROM users ORDER BY id`, scanDoc(func(u affiliate.User) dump.Item { return dump.User{User: u} })),
			e.rows(`SELECT id, api_key FROM sellers WHERE api_key <> '' ORDER BY id`, scanAPIKey),
			e.rows(`SELECT doc FROM applications ORDER BY user_id`,
				scanDoc(func(a affiliate.Application) dump.Item { return dump.Application{Application: a} })),
			e.rows(`SELECT doc FROM flows ORDER BY user_id`, scanDoc(func(f affiliate.Flow) dump.Item { return dump.Flow{Flow: f} })),
			e.rows(`SELECT time_zone, digest_minute, id, digest_handled FROM users WHERE digest_minute >= 0
				ORDER BY time_zone COLLATE "C", digest_minute, id`, scanDigest),
			e.rows(`SELECT doc FROM products ORDER BY id`, scanDoc(func(p affiliate.Product) dump.Item { return dump.Product{Product: p} })),
			e.rows(`SELECT doc FROM links ORDER BY code`, scanDoc(func(l affiliate.Link) dump.Item { return dump.Link{Link: l} })),
			e.rows(`SELECT id, code, product_id, affiliate_id, seller_id, at_ns, visitor, is_unique FROM clicks ORDER BY id`, scanClick),
			e.rows(`SELECT code, visitor, last_ns FROM click_visitors ORDER BY code, visitor`, scanVisitor),
			e.rows(`SELECT code, hour, `+countColumns+` FROM agg_link ORDER BY code, hour`, scanAggregate(dump.AggLink)),
			e.rows(`SELECT affiliate_id, hour, `+countColumns+` FROM agg_affiliate ORDER BY affiliate_id, hour`, scanAggregate(dump.AggAffiliate)),
			e.rows(`SELECT product_id, hour, `+countColumns+` FROM agg_product ORDER BY product_id, hour`, scanAggregate(dump.AggProduct)),
			e.rows(`SELECT seller_id, hour, `+countColumns+` FROM agg_seller ORDER BY seller_id, hour`, scanAggregate(dump.AggSeller)),
			e.rows(`SELECT code, `+countColumns+` FROM link_totals ORDER BY code`, scanTotal),
			e.rows(`SELECT doc FROM orders ORDER BY seller_id, order_id`, scanDoc(func(o affiliate.Order) dump.Item { return dump.Order{Order: o} })),
			e.rows(`SELECT doc FROM feedback ORDER BY id`, scanDoc(func(f affiliate.Feedback) dump.Item { return dump.Feedback{Feedback: f} })),
			e.rows(`SELECT id, title, body, url, audience, source, created_at, fanned_out, fanout_cursor FROM alerts ORDER BY id`, scanAlertItem),
			e.rows(`SELECT alert_id, queued, delivered, unreachable, failed, skipped FROM alert_counts ORDER BY alert_id`, scanAlertCounts),
			e.rows(`SELECT `+outboxColumns+` FROM outbox ORDER BY id`, func(row pgx.CollectableRow) (dump.Item, error) {
				m, err := scanMessage(row)
				return dump.OutboxMessage{OutboxMessage: m}, err
			}),
			e.rows(`SELECT url, first_polled, last_polled FROM feeds ORDER BY url`, scanFeed),
			e.rows(`SELECT f.url, i.item_id, i.alert_id FROM feed_items i JOIN feeds f ON f.url_hash = i.feed
				ORDER BY f.url, i.item_id`, scanFeedItem),
			e.rows(`SELECT seller_id, last_at FROM broadcasts WHERE last_at IS NOT NULL ORDER BY seller_id`, scanBroadcast),
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// DumpCounts returns what the database holds of every kind of dump item: the number of items of each
// kind an Export would write now (`keranjang migrate` checks a copy with it).
func (s *Store) DumpCounts(ctx context.Context) (dump.Counts, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dump counts: %w", err)
	}
	var c dump.Counts
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		c, err = dumpCounts(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dump counts: %w", err)
	}
	return c, nil
}

// pgExporter writes the items of one snapshot.
type pgExporter struct {
	ctx context.Context
	tx  pgx.Tx
	w   *dump.Writer
}

// rows returns a step that writes an item for every row of query, as the rows come.
func (e *pgExporter) rows(query string, scan func(pgx.CollectableRow) (dump.Item, error)) func() error {
	return func() error {
		rows, err := e.tx.Query(e.ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scan(rows)
			if err != nil {
				return err
			}
			if err := e.w.Write(it); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

func (e *pgExporter) meta() error {
	m := dump.Meta{}
	err := e.tx.QueryRow(e.ctx, `SELECT m.salt, c.n_clicks, c.n_bots, c.n_orphans, o.queued, o.sent, o.failed, o.dropped
		FROM meta m,
			(SELECT coalesce(sum(n_clicks), 0)::bigint, coalesce(sum(n_bots), 0)::bigint, coalesce(sum(n_orphans), 0)::bigint
				FROM click_counters) AS c (n_clicks, n_bots, n_orphans),
			outbox_counters o`).
		Scan(&m.Salt, &m.Clicks, &m.Bots, &m.Orphans, &m.Outbox.Queued, &m.Outbox.Sent, &m.Outbox.Failed, &m.Outbox.Dropped)
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	return e.w.Write(m)
}

// sequences writes the next value of each id sequence: one past its last value, 1 for one never used.
func (e *pgExporter) sequences() error {
	var next [5]int64
	err := e.tx.QueryRow(e.ctx, `SELECT
		coalesce(pg_sequence_last_value(pg_get_serial_sequence('products', 'id')::regclass), 0) + 1,
		coalesce(pg_sequence_last_value(pg_get_serial_sequence('feedback', 'id')::regclass), 0) + 1,
		coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')::regclass), 0) + 1,
		coalesce(pg_sequence_last_value(pg_get_serial_sequence('alerts', 'id')::regclass), 0) + 1,
		coalesce(pg_sequence_last_value('broadcast_ids'::regclass), 0) + 1`).Scan(&next[0], &next[1], &next[2], &next[3], &next[4])
	if err != nil {
		return fmt.Errorf("sequences: %w", err)
	}
	for i, name := range []string{dump.SeqProducts, dump.SeqFeedback, dump.SeqOutbox, dump.SeqAlerts, dump.SeqBroadcasts} {
		if err := e.w.Write(dump.Sequence{Name: name, Next: uint64(next[i])}); err != nil {
			return err
		}
	}
	return nil
}

// scanDoc reads a doc column into a T and makes it an item.
func scanDoc[T any](item func(T) dump.Item) func(pgx.CollectableRow) (dump.Item, error) {
	return func(row pgx.CollectableRow) (dump.Item, error) {
		var data []byte
		if err := row.Scan(&data); err != nil {
			return nil, err
		}
		var v T
		if err := decodeDoc(data, &v); err != nil {
			return nil, err
		}
		return item(v), nil
	}
}

func scanAPIKey(row pgx.CollectableRow) (dump.Item, error) {
	var k dump.APIKey
	err := row.Scan(&k.SellerID, &k.Key)
	return k, err
}

func scanDigest(row pgx.CollectableRow) (dump.Item, error) {
	var d dump.Digest
	err := row.Scan(&d.Zone, &d.Minute, &d.UserID, &d.Handled)
	return d, err
}

func scanClick(row pgx.CollectableRow) (dump.Item, error) {
	var c affiliate.Click
	var productID, at, visitor int64
	if err := row.Scan(&c.ID, &c.Code, &productID, &c.AffiliateID, &c.SellerID, &at, &visitor, &c.Unique); err != nil {
		return nil, err
	}
	c.ProductID, c.At, c.Visitor = uint64(productID), time.Unix(0, at).UTC(), uint64(visitor)
	return dump.Click{Click: c}, nil
}

func scanVisitor(row pgx.CollectableRow) (dump.Item, error) {
	var v dump.Visitor
	var visitor, last int64
	if err := row.Scan(&v.Code, &visitor, &last); err != nil {
		return nil, err
	}
	v.Visitor, v.Last = uint64(visitor), time.Unix(0, last).UTC()
	return v, nil
}

// scanAggregate reads a row of an aggregate table: its link code or id, its hour and its counts.
func scanAggregate(of dump.AggregateOf) func(pgx.CollectableRow) (dump.Item, error) {
	return func(row pgx.CollectableRow) (dump.Item, error) {
		a := dump.Aggregate{Of: of}
		var key any = &a.ID
		if of == dump.AggLink {
			key = &a.Code
		}
		if err := row.Scan(append([]any{key, &a.Hour}, countDest(&a.Counts)...)...); err != nil {
			return nil, err
		}
		return a, nil
	}
}

func scanTotal(row pgx.CollectableRow) (dump.Item, error) {
	var t dump.Total
	err := row.Scan(append([]any{&t.Code}, countDest(&t.Counts)...)...)
	return t, err
}

func scanAlertItem(row pgx.CollectableRow) (dump.Item, error) {
	var a dump.Alert
	var audience string
	if err := row.Scan(&a.ID, &a.Title, &a.Body, &a.URL, &audience, &a.Source, &a.CreatedAt, &a.FannedOut, &a.Progress.Cursor); err != nil {
		return nil, err
	}
	a.Audience, a.CreatedAt = affiliate.Audience(audience), a.CreatedAt.UTC()
	return a, nil
}

func scanAlertCounts(row pgx.CollectableRow) (dump.Item, error) {
	var c dump.AlertCounts
	err := row.Scan(&c.AlertID, &c.Counts.Queued, &c.Counts.Delivered, &c.Counts.Unreachable, &c.Counts.Failed, &c.Counts.Skipped)
	return c, err
}

func scanFeed(row pgx.CollectableRow) (dump.Item, error) {
	var f dump.Feed
	if err := row.Scan(&f.URL, &f.FirstPolled, &f.LastPolled); err != nil {
		return nil, err
	}
	f.FirstPolled, f.LastPolled = f.FirstPolled.UTC(), f.LastPolled.UTC()
	return f, nil
}

func scanFeedItem(row pgx.CollectableRow) (dump.Item, error) {
	var f dump.FeedItem
	err := row.Scan(&f.FeedURL, &f.ItemID, &f.AlertID)
	return f, err
}

func scanBroadcast(row pgx.CollectableRow) (dump.Item, error) {
	var b dump.Broadcast
	if err := row.Scan(&b.SellerID, &b.Last); err != nil {
		return nil, err
	}
	b.Last = b.Last.UTC()
	return b, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/dump"
)

// ErrNotEmpty is returned by Import when the database already holds data.
var ErrNotEmpty = errors.New("the database is not empty")

// importLockID is the advisory lock an import holds for its transaction, so that two imports into one
// database take turns (and the second finds the first's data). See migrationLockID.
const importLockID = 0x6b72_6a67_0002

// ImportResult is what Import loaded.
type ImportResult struct {
	// Held is what the database holds of every kind of item after the import: the dump's counts.
	Held dump.Counts
	// NULs is the number of items with text from which NUL characters were dropped: PostgreSQL stores
	// no NUL in text, and a bbolt database written before affiliate.CleanText guarded every input may
	// hold some (in a name, a flow's input, a message).
	NULs int64
}

// Import loads a dump (package dump: `keranjang migrate` from a bbolt database, or a Backup of this
// backend) into this database, which must hold no data: Open has made its tables and nothing has been
// written to them. A database with data is refused with an error wrapping ErrNotEmpty.
//
// The whole import is one transaction, so a failed one leaves the database as it was. Each run of items
// of one table is streamed from r into it by COPY, as it is read, so a dump is never held in memory;
// the digest schedule's handled dates and the API keys go through temporary tables into the rows they
// belong to, and the sellers' rows follow from the users'. The visitor salt and the counters are the
// dump's, and every id sequence continues past the dump's next value and every id stored. Text is
// stored as it is, but for NUL characters, which PostgreSQL refuses and which are dropped (see
// ImportResult). Before it commits, Import counts what the database holds of every kind (as DumpCounts
// does) and refuses to commit when that differs from what the dump held.
//
// Import is for a store that serves nothing yet (`keranjang migrate`): its visitor salt becomes the
// dump's once Import has returned.
func (s *Store) Import(ctx context.Context, r *dump.Reader) (ImportResult, error) {
	if err := ctx.Err(); err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	im := &importer{r: r, seqs: map[string]uint64{}}
	var held dump.Counts
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		im.tx = tx
		if err := im.prepare(ctx); err != nil {
			return err
		}
		if err := im.load(ctx); err != nil {
			return err
		}
		if err := im.finish(ctx); err != nil {
			return err
		}
		var err error
		if held, err = dumpCounts(ctx, tx); err != nil {
			return err
		}
		return checkCounts(r.Counts(), held)
	})
	if err != nil {
		return ImportResult{Held: held}, fmt.Errorf("import: %w", err)
	}
	s.salt = append([]byte(nil), im.meta.Salt...)
	return ImportResult{Held: held, NULs: im.nuls}, nil
}

// importer is the state of one Import.
type importer struct {
	tx   pgx.Tx
	r    *dump.Reader
	next dump.Item // the item read and not yet loaded; nil for none
	meta *dump.Meta
	seqs map[string]uint64
	nuls int64 // items with NUL characters dropped
}

// sqlFirstData names the first table that holds data (” for none): the tables of every migration, and
// the counters, which count without rows.
const sqlFirstData = `SELECT coalesce(
	(SELECT 'users' WHERE EXISTS (SELECT FROM users)),
	(SELECT 'sellers' WHERE EXISTS (SELECT FROM sellers)),
	(SELECT 'applications' WHERE EXISTS (SELECT FROM applications)),
	(SELECT 'flows' WHERE EXISTS (SELECT FROM flows)),
	(SELECT 'products' WHERE EXISTS (SELECT FROM products)),
	(SELECT 'links' WHERE EXISTS (SELECT FROM links)),
	(SELECT 'feedback' WHERE EXISTS (SELECT FROM feedback)),
	(SELECT 'clicks' WHERE EXISTS (SELECT FROM clicks)),
	(SELECT 'click_visitors' WHERE EXISTS (SELECT FROM click_visitors)),
	(SELECT 'agg_link' WHERE EXISTS (SELECT FROM agg_link)),
	(SELECT 'agg_affiliate' WHERE EXISTS (SELECT FROM agg_affiliate)),
	(SELECT 'agg_product' WHERE EXISTS (SELECT FROM agg_product)),
	(SELECT 'agg_seller' WHERE EXISTS (SELECT FROM agg_seller)),
	(SELECT 'link_totals' WHERE EXISTS (SELECT FROM link_totals)),
	(SELECT 'click_counters' WHERE EXISTS (SELECT FROM click_counters WHERE n_clicks + n_bots + n_orphans > 0)),
	(SELECT 'orders' WHERE EXISTS (SELECT FROM orders)),
	(SELECT 'outbox' WHERE EXISTS (SELECT FROM outbox)),
	(SELECT 'outbox_counters' WHERE EXISTS (SELECT FROM outbox_counters WHERE queued + sent + failed + dropped > 0)),
	(SELECT 'alerts' WHERE EXISTS (SELECT FROM alerts)),
	(SELECT 'alert_counts' WHERE EXISTS (SELECT FROM alert_counts)),
	(SELECT 'feeds' WHERE EXISTS (SELECT FROM feeds)),
	(SELECT 'feed_items' WHERE EXISTS (SELECT FROM feed_items)),
	(SELECT 'broadcasts' WHERE EXISTS (SELECT FROM broadcasts)),
	'')`

// prepare takes the import lock, refuses a database with data and makes the temporary tables.
func (im *importer) prepare(ctx context.Context) error {
	if _, err := im.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(importLockID)); err != nil {
		return err
	}
	var table string
	if err := im.tx.QueryRow(ctx, sqlFirstData).Scan(&table); err != nil {
		return err
	}
	if table != "" {
		return fmt.Errorf("%w (table %s has rows): a dump is loaded only into a database without data", ErrNotEmpty, table)
	}
	_, err := im.tx.Exec(ctx, `CREATE TEMPORARY TABLE import_digests (zone text, minute integer, user_id bigint, handled text) ON COMMIT DROP;
		CREATE TEMPORARY TABLE import_api_keys (seller_id bigint, api_key text, api_key_hash bytea) ON COMMIT DROP`)
	return err
}

// peek returns the next item without taking it; io.EOF after the last.
func (im *importer) peek() (dump.Item, error) {
	if im.next == nil {
		it, err := im.r.Next()
		if err != nil {
			return nil, err
		}
		im.next = it
	}
	return im.next, nil
}

// load reads every item: the meta and the sequences are kept for finish, every run of items of one
// table is copied into it.
func (im *importer) load(ctx context.Context) error {
	for {
		it, err := im.peek()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch v := it.(type) {
		case dump.Meta:
			im.meta, im.next = &v, nil
			continue
		case dump.Sequence:
			im.seqs[v.Name], im.next = v.Next, nil
			continue
		}
		t, err := tableOf(it)
		if err != nil {
			return err
		}
		src := &copySource{im: im, table: t}
		if _, err := im.tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, src); err != nil {
			if src.err != nil {
				return src.err
			}
			return fmt.Errorf("copy into %s: %w", t.name, err)
		}
		if src.err != nil {
			return src.err
		}
	}
	if im.meta == nil {
		return errors.New("the dump has no meta item")
	}
	if len(im.meta.Salt) != 32 {
		return fmt.Errorf("the dump's visitor salt has %d bytes, not 32", len(im.meta.Salt))
	}
	return nil
}

// copySource feeds COPY the items of one table as they are read, and stops at the first item of
// another.
type copySource struct {
	im    *importer
	table *importTable
	row   []any
	err   error
}

func (c *copySource) Next() bool {
	it, err := c.im.peek()
	if err != nil {
		if err != io.EOF {
			c.err = err
		}
		return false
	}
	switch it.(type) {
	case dump.Meta, dump.Sequence:
		return false
	}
	t, err := tableOf(it)
	if err != nil || t != c.table {
		return false
	}
	if it, c.err = c.im.dropNUL(it); c.err != nil {
		return false
	}
	if c.row, c.err = t.row(it); c.err != nil {
		return false
	}
	c.im.next = nil
	return true
}

func (c *copySource) Values() ([]any, error) { return c.row, nil }
func (c *copySource) Err() error             { return c.err }

// dropNUL returns it without NUL characters in any of its strings, counting the items that had some.
// The kinds of items the program makes from its own ids and codes alone (clicks, visitor marks,
// counts), which are most of a large dump, are not looked at.
func (im *importer) dropNUL(it dump.Item) (dump.Item, error) {
	switch it.(type) {
	case dump.Click, dump.Visitor, dump.Aggregate, dump.Total:
		return it, nil
	}
	v := reflect.New(reflect.TypeOf(it)).Elem()
	v.Set(reflect.ValueOf(it))
	if !stripNUL(v) {
		return it, nil
	}
	im.nuls++
	return v.Interface().(dump.Item), nil
}

// stripNUL drops NUL characters from every string in v, which must be settable, and reports whether
// it changed any.
func stripNUL(v reflect.Value) bool {
	changed := false
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); strings.IndexByte(s, 0) >= 0 {
			v.SetString(strings.ReplaceAll(s, "\x00", ""))
			changed = true
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				changed = stripNUL(f) || changed
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			changed = stripNUL(v.Index(i)) || changed
		}
	case reflect.Map:
		if v.IsNil() {
			break
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k := reflect.New(v.Type().Key()).Elem()
			k.Set(it.Key())
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			changed = stripNUL(k) || changed
			changed = stripNUL(e) || changed
			out.SetMapIndex(k, e)
		}
		if changed {
			v.Set(out)
		}
	}
	return changed
}

// importTable is a table that items are copied into, with how an item becomes a row.
type importTable struct {
	name    string
	columns []string
	row     func(dump.Item) ([]any, error)
}

var countColumnNames = strings.Split(countColumns, ", ")

// aggImport is an aggregate table's importTable; key is the column of the link code or id.
func aggImport(name, key string) *importTable {
	return &importTable{name: name, columns: append([]string{key, "hour"}, countColumnNames...),
		row: func(it dump.Item) ([]any, error) {
			a := it.(dump.Aggregate)
			var id any = a.ID
			if a.Of == dump.AggLink {
				id = a.Code
			}
			return countRow([]any{id, a.Hour}, a.Counts), nil
		}}
}

// countRow is head followed by the count columns of c.
func countRow(head []any, c affiliate.Counts) []any {
	for _, v := range countValues(c) {
		head = append(head, v)
	}
	return head
}

var (
	importUsers = &importTable{name: "users",
		columns: []string{"id", "doc", "seller", "reachable", "time_zone", "digest_minute", "digest_handled"},
		row: func(it dump.Item) ([]any, error) {
			u := it.(dump.User).User
			doc, err := encodeDoc(u)
			return []any{u.ID, doc, u.Seller, u.Reachable, u.TimeZone, digestColumn(u), ""}, err
		}}
	importAPIKeys = &importTable{name: "import_api_keys", columns: []string{"seller_id", "api_key", "api_key_hash"},
		row: func(it dump.Item) ([]any, error) {
			k := it.(dump.APIKey)
			if k.Key == "" {
				return nil, fmt.Errorf("an empty API key of seller %d", k.SellerID)
			}
			return []any{k.SellerID, k.Key, store.APIKeyHash(k.Key)}, nil
		}}
	importApplications = &importTable{name: "applications", columns: []string{"user_id", "doc", "status", "created_at"},
		row: func(it dump.Item) ([]any, error) {
			a := it.(dump.Application).Application
			doc, err := encodeDoc(a)
			return []any{a.UserID, doc, string(a.Status), a.CreatedAt}, err
		}}
	importFlows = &importTable{name: "flows", columns: []string{"user_id", "doc"},
		row: func(it dump.Item) ([]any, error) {
			f := it.(dump.Flow).Flow
			doc, err := encodeDoc(f)
			return []any{f.UserID, doc}, err
		}}
	importDigests = &importTable{name: "import_digests", columns: []string{"zone", "minute", "user_id", "handled"},
		row: func(it dump.Item) ([]any, error) {
			d := it.(dump.Digest)
			return []any{d.Zone, d.Minute, d.UserID, d.Handled}, nil
		}}
	importProducts = &importTable{name: "products",
		columns: []string{"id", "seller_id", "status", "rate_bp", "created_at", "name_lower", "description_lower", "doc"},
		row: func(it dump.Item) ([]any, error) {
			p := it.(dump.Product).Product
			doc, err := encodeDoc(p)
			return []any{int64(p.ID), p.SellerID, string(p.Status), int32(p.Rate), p.CreatedAt, strings.ToLower(p.Name),
				strings.ToLower(p.Description), doc}, err
		}}
	importLinks = &importTable{name: "links", columns: []string{"code", "affiliate_id", "product_id", "seller_id", "created_at", "doc"},
		row: func(it dump.Item) ([]any, error) {
			l := it.(dump.Link).Link
			doc, err := encodeDoc(l)
			return []any{l.Code, l.AffiliateID, int64(l.ProductID), l.SellerID, l.CreatedAt, doc}, err
		}}
	importClicks = &importTable{name: "clicks",
		columns: []string{"id", "code", "product_id", "affiliate_id", "seller_id", "at_ns", "visitor", "is_unique"},
		row: func(it dump.Item) ([]any, error) {
			c := it.(dump.Click).Click
			if c.Bot || c.ID == "" {
				return nil, fmt.Errorf("click %q: a logged click is a human's and has an id", c.ID)
			}
			return []any{c.ID, c.Code, int64(c.ProductID), c.AffiliateID, c.SellerID, c.At.UnixNano(), int64(c.Visitor), c.Unique}, nil
		}}
	importVisitors = &importTable{name: "click_visitors", columns: []string{"code", "visitor", "last_ns"},
		row: func(it dump.Item) ([]any, error) {
			v := it.(dump.Visitor)
			return []any{v.Code, int64(v.Visitor), v.Last.UnixNano()}, nil
		}}
	importAggLink      = aggImport("agg_link", "code")
	importAggAffiliate = aggImport("agg_affiliate", "affiliate_id")
	importAggProduct   = aggImport("agg_product", "product_id")
	importAggSeller    = aggImport("agg_seller", "seller_id")
	importTotals       = &importTable{name: "link_totals", columns: append([]string{"code"}, countColumnNames...),
		row: func(it dump.Item) ([]any, error) {
			t := it.(dump.Total)
			return countRow([]any{t.Code}, t.Counts), nil
		}}
	importOrders = &importTable{name: "orders", columns: []string{"seller_id", "order_id", "occurred_sec", "occurred_at", "doc"},
		row: func(it dump.Item) ([]any, error) {
			o := it.(dump.Order).Order
			doc, err := encodeDoc(o)
			return []any{o.SellerID, o.OrderID, unixSeconds(o.OccurredAt), o.OccurredAt, doc}, err
		}}
	importFeedback = &importTable{name: "feedback", columns: []string{"id", "seller_id", "affiliate_id", "doc"},
		row: func(it dump.Item) ([]any, error) {
			f := it.(dump.Feedback).Feedback
			doc, err := encodeDoc(f)
			return []any{int64(f.ID), f.SellerID, f.AffiliateID, doc}, err
		}}
	importAlerts = &importTable{name: "alerts",
		columns: []string{"id", "title", "body", "url", "audience", "source", "created_at", "fanned_out", "fanout_cursor"},
		row: func(it dump.Item) ([]any, error) {
			a := it.(dump.Alert)
			return []any{int64(a.ID), a.Title, a.Body, a.URL, string(a.Audience), a.Source, a.CreatedAt, a.FannedOut, a.Progress.Cursor}, nil
		}}
	importAlertCounts = &importTable{name: "alert_counts",
		columns: []string{"alert_id", "queued", "delivered", "unreachable", "failed", "skipped"},
		row: func(it dump.Item) ([]any, error) {
			c := it.(dump.AlertCounts)
			return []any{int64(c.AlertID), c.Counts.Queued, c.Counts.Delivered, c.Counts.Unreachable, c.Counts.Failed, c.Counts.Skipped}, nil
		}}
	importOutbox = &importTable{name: "outbox",
		columns: []string{"id", "idem_key", "kind", "alert_id", "user_id", "chat_id", "grp", "text", "buttons", "status",
			"attempts", "next_at", "last_error", "created_at", "sent_at", "finished_at"},
		row: func(it dump.Item) ([]any, error) {
			m := it.(dump.OutboxMessage).OutboxMessage
			buttons, err := encodeButtons(m.Buttons)
			if err != nil {
				return nil, err
			}
			var sentAt, finished any
			if !m.SentAt.IsZero() {
				sentAt = m.SentAt
			}
			switch m.Status {
			case affiliate.OutboxQueued:
			case affiliate.OutboxSent, affiliate.OutboxFailed, affiliate.OutboxDropped:
				// When a message finished, as the bbolt backend's finishedAt says.
				finished = m.NextAt
				if m.Status == affiliate.OutboxSent && !m.SentAt.IsZero() {
					finished = m.SentAt
				}
			default:
				return nil, fmt.Errorf("outbox message %d: unknown status %q", m.ID, m.Status)
			}
			return []any{int64(m.ID), m.Key, m.Kind, int64(m.AlertID), m.UserID, m.ChatID, m.Group, m.Text, buttons,
				string(m.Status), m.Attempts, m.NextAt, m.LastError, m.CreatedAt, sentAt, finished}, nil
		}}
	importFeeds = &importTable{name: "feeds", columns: []string{"url_hash", "url", "first_polled", "last_polled"},
		row: func(it dump.Item) ([]any, error) {
			f := it.(dump.Feed)
			return []any{feedKey(f.URL), f.URL, f.FirstPolled, f.LastPolled}, nil
		}}
	importFeedItems = &importTable{name: "feed_items", columns: []string{"feed", "item_id", "alert_id"},
		row: func(it dump.Item) ([]any, error) {
			f := it.(dump.FeedItem)
			return []any{feedKey(f.FeedURL), f.ItemID, int64(f.AlertID)}, nil
		}}
	importBroadcasts = &importTable{name: "broadcasts", columns: []string{"seller_id", "last_at"},
		row: func(it dump.Item) ([]any, error) {
			b := it.(dump.Broadcast)
			return []any{b.SellerID, b.Last}, nil
		}}
)

// tableOf is the table an item is copied into.
func tableOf(it dump.Item) (*importTable, error) {
	switch v := it.(type) {
	case dump.User:
		return importUsers, nil
	case dump.APIKey:
		return importAPIKeys, nil
	case dump.Application:
		return importApplications, nil
	case dump.Flow:
		return importFlows, nil
	case dump.Digest:
		return importDigests, nil
	case dump.Product:
		return importProducts, nil
	case dump.Link:
		return importLinks, nil
	case dump.Click:
		return importClicks, nil
	case dump.Visitor:
		return importVisitors, nil
	case dump.Aggregate:
		switch v.Of {
		case dump.AggLink:
			return importAggLink, nil
		case dump.AggAffiliate:
			return importAggAffiliate, nil
		case dump.AggProduct:
			return importAggProduct, nil
		case dump.AggSeller:
			return importAggSeller, nil
		}
	case dump.Total:
		return importTotals, nil
	case dump.Order:
		return importOrders, nil
	case dump.Feedback:
		return importFeedback, nil
	case dump.Alert:
		return importAlerts, nil
	case dump.AlertCounts:
		return importAlertCounts, nil
	case dump.OutboxMessage:
		return importOutbox, nil
	case dump.Feed:
		return importFeeds, nil
	case dump.FeedItem:
		return importFeedItems, nil
	case dump.Broadcast:
		return importBroadcasts, nil
	}
	return nil, fmt.Errorf("no table for a %s item", dump.KindOf(it))
}

// The sequences: each continues past the dump's next value (its argument) and every id stored.
const (
	sqlSetProductSeq = `SELECT setval(pg_get_serial_sequence('products', 'id'), greatest(v, 1), v > 0)
		FROM (SELECT greatest($1::bigint - 1, (SELECT coalesce(max(id), 0) FROM products)) AS v) n`
	sqlSetFeedbackSeq = `SELECT setval(pg_get_serial_sequence('feedback', 'id'), greatest(v, 1), v > 0)
		FROM (SELECT greatest($1::bigint - 1, (SELECT coalesce(max(id), 0) FROM feedback)) AS v) n`
	sqlSetOutboxSeq = `SELECT setval(pg_get_serial_sequence('outbox', 'id'), greatest(v, 1), v > 0)
		FROM (SELECT greatest($1::bigint - 1, (SELECT coalesce(max(id), 0) FROM outbox)) AS v) n`
	sqlSetAlertSeq = `SELECT setval(pg_get_serial_sequence('alerts', 'id'), greatest(v, 1), v > 0)
		FROM (SELECT greatest($1::bigint - 1, (SELECT coalesce(max(id), 0) FROM alerts)) AS v) n`
	sqlSetBroadcastSeq = `SELECT setval('broadcast_ids', greatest(v, 1), v > 0) FROM (SELECT greatest($1::bigint - 1, 0) AS v) n`
)

// seqSetters are the statements that set each sequence of the dump.
var seqSetters = map[string]string{
	dump.SeqProducts: sqlSetProductSeq, dump.SeqFeedback: sqlSetFeedbackSeq, dump.SeqOutbox: sqlSetOutboxSeq,
	dump.SeqAlerts: sqlSetAlertSeq, dump.SeqBroadcasts: sqlSetBroadcastSeq,
}

// finish writes what follows from the items loaded: the sellers' rows and API keys, the digest
// schedule's handled dates, the salt and the counters, and the sequences.
func (im *importer) finish(ctx context.Context) error {
	if _, err := im.tx.Exec(ctx, `INSERT INTO sellers (id) SELECT id FROM users WHERE seller`); err != nil {
		return err
	}
	tag, err := im.tx.Exec(ctx, `UPDATE sellers s SET api_key = k.api_key, api_key_hash = k.api_key_hash
		FROM import_api_keys k WHERE s.id = k.seller_id`)
	if err != nil {
		return err
	}
	if n := im.r.Counts()[dump.KindAPIKey]; tag.RowsAffected() != n {
		return fmt.Errorf("%d of the dump's %d API keys belong to no seller", n-tag.RowsAffected(), n)
	}
	// An entry of the schedule must sit where its user's record puts it, or DigestDue would answer
	// otherwise than the source did.
	tag, err = im.tx.Exec(ctx, `UPDATE users u SET digest_handled = d.handled FROM import_digests d
		WHERE u.id = d.user_id AND u.time_zone = d.zone AND u.digest_minute = d.minute`)
	if err != nil {
		return err
	}
	if n := im.r.Counts()[dump.KindDigest]; tag.RowsAffected() != n {
		return fmt.Errorf("%d of the dump's %d digest schedule entries match no user's zone and digest time", n-tag.RowsAffected(), n)
	}

	m := im.meta
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE meta SET salt = $1`, m.Salt)
	batch.Queue(`UPDATE click_counters SET n_clicks = CASE WHEN slot = 0 THEN $1::bigint ELSE 0 END,
		n_bots = CASE WHEN slot = 0 THEN $2::bigint ELSE 0 END, n_orphans = CASE WHEN slot = 0 THEN $3::bigint ELSE 0 END`,
		m.Clicks, m.Bots, m.Orphans)
	batch.Queue(`UPDATE outbox_counters SET queued = $1, sent = $2, failed = $3, dropped = $4`,
		m.Outbox.Queued, m.Outbox.Sent, m.Outbox.Failed, m.Outbox.Dropped)
	for _, name := range dump.Sequences() {
		batch.Queue(seqSetters[name], int64(im.seqs[name]))
	}
	return im.tx.SendBatch(ctx, batch).Close()
}

// checkCounts refuses an import whose rows, counted by kind, are not the dump's items.
func checkCounts(read, held dump.Counts) error {
	var diff []string
	for _, k := range dump.Kinds() {
		if read[k] != held[k] {
			diff = append(diff, fmt.Sprintf("%s %d, not %d", k, held[k], read[k]))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("the database would hold other counts than the dump: %s", strings.Join(diff, "; "))
	}
	return nil
}

// sqlDumpCounts counts what the database holds of every kind of dump item, in dump.Kinds order.
const sqlDumpCounts = `SELECT (SELECT count(*) FROM meta),
	(SELECT count(*) FROM users),
	(SELECT count(*) FROM sellers WHERE api_key <> ''),
	(SELECT count(*) FROM applications),
	(SELECT count(*) FROM flows),
	(SELECT count(*) FROM users WHERE digest_minute >= 0),
	(SELECT count(*) FROM products),
	(SELECT count(*) FROM links),
	(SELECT count(*) FROM clicks),
	(SELECT count(*) FROM click_visitors),
	(SELECT count(*) FROM agg_link) + (SELECT count(*) FROM agg_affiliate) + (SELECT count(*) FROM agg_product)
		+ (SELECT count(*) FROM agg_seller),
	(SELECT count(*) FROM link_totals),
	(SELECT count(*) FROM orders),
	(SELECT count(*) FROM feedback),
	(SELECT count(*) FROM alerts),
	(SELECT count(*) FROM alert_counts),
	(SELECT count(*) FROM outbox),
	(SELECT count(*) FROM feeds),
	(SELECT count(*) FROM feed_items),
	(SELECT count(*) FROM broadcasts WHERE last_at IS NOT NULL)`

// dumpCounts runs sqlDumpCounts in q. The sequences are not rows: an Export writes each of them.
func dumpCounts(ctx context.Context, q querier) (dump.Counts, error) {
	kinds := []dump.Kind{dump.KindMeta, dump.KindUser, dump.KindAPIKey, dump.KindApplication, dump.KindFlow, dump.KindDigest,
		dump.KindProduct, dump.KindLink, dump.KindClick, dump.KindVisitor, dump.KindAggregate, dump.KindTotal, dump.KindOrder,
		dump.KindFeedback, dump.KindAlert, dump.KindAlertCounts, dump.KindOutbox, dump.KindFeed, dump.KindFeedItem,
		dump.KindBroadcast}
	n := make([]int64, len(kinds))
	dest := make([]any, len(kinds))
	for i := range n {
		dest[i] = &n[i]
	}
	if err := q.QueryRow(ctx, sqlDumpCounts).Scan(dest...); err != nil {
		return nil, err
	}
	c := dump.Counts{dump.KindSequence: int64(len(dump.Sequences()))}
	for i, k := range kinds {
		if n[i] > 0 {
			c[k] = n[i]
		}
	}
	return c, nil
}

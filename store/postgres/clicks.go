package postgres

// Clicks on a database that several instances write at once.
//
// RecordClicks records a batch in one transaction of a few statements, and stays right when instances
// record clicks of the same visitors and links at the same time:
//
//   - Repeated ids. The ids already logged are read first; the clicks are then inserted with ON CONFLICT
//     (id) DO NOTHING, and the count of rows inserted must be the count of clicks meant to be new. When
//     it is not, another transaction logged one of them since the read (the insert waited for it to
//     commit), and the whole transaction is undone and run again, seeing it. So a click is counted by
//     the one transaction that logged it.
//   - Unique clicks. Each (link, visitor) of the batch's new clicks is upserted into click_visitors in
//     one statement, in key order, that locks the mark, returns what it held (prev_ns) and moves it to
//     its latest click. Uniqueness is then judged against that value under the lock, which is held until
//     commit: a second batch with the same visitor and link waits, then sees the first's clicks. So the
//     judgement runs in the order the batches commit, as if they had come one after another.
//   - Counts. Aggregates are added to by upserts (the stored values plus the batch's), and the running
//     counters by increments, never read and written back from Go.
//
// Every writer takes its locks phase by phase in one order (visitor marks by key, then click ids
// sorted, then the aggregate tables in the order aggDeltas.queue writes them, rows by key, then a
// counter row; orders lock order rows, then the same aggregates), so transactions wait for each other
// but do not deadlock; should the database still report a deadlock or a serialization failure,
// txRetry runs the transaction again.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keranjang/keranjang/affiliate"
)

// pruneChunk is how many clicks one PruneClicks statement deletes, so that pruning a large backlog
// never holds many rows locked for long.
const pruneChunk = 5000

const (
	// sqlLoggedIDs looks the ids up one by one in the primary key: written as a join, its plan does not
	// turn into a scan of the log when a generic plan is cached while the log is small.
	sqlLoggedIDs = `SELECT c.id FROM unnest($1::text[]) AS u(id) JOIN clicks c ON c.id = u.id`
	// sqlMarkVisitors upserts the batch's visitor marks; last_ns is the latest new click of each.
	sqlMarkVisitors = `INSERT INTO click_visitors AS v (code, visitor, last_ns)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
ON CONFLICT (code, visitor) DO UPDATE SET prev_ns = v.last_ns, last_ns = greatest(v.last_ns, excluded.last_ns)
RETURNING code, visitor, prev_ns`
	sqlLogClicks = `INSERT INTO clicks (id, code, product_id, affiliate_id, seller_id, at_ns, visitor, is_unique)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::boolean[])
ON CONFLICT (id) DO NOTHING`
	sqlGetClick = `SELECT code, product_id, affiliate_id, seller_id, at_ns, visitor, is_unique FROM clicks WHERE id = $1`
)

// RecordClicks writes a batch of clicks in one transaction: decides Unique per (code, visitor) over
// affiliate.UniqueWindow, logs the clicks and adds to the hourly aggregates per link, affiliate, product
// and seller (the click's own ProductID and SellerID) and to the link totals and counters. Bot visits are
// counted apart (BotVisits only, never logged). Returns the clicks as stored, in input order.
//
// Clicks may come in any order: within a batch they are judged in time order, input order among equal
// times. Every click must carry a valid link code (the whole batch is refused otherwise); a click without
// an id gets one; a click whose id is already logged, or came earlier in the batch, is skipped (Unique
// false), so a retried batch does not count twice. Concurrent calls, in this process or another, are
// safe (see the top of this file).
func (s *Store) RecordClicks(ctx context.Context, clicks []affiliate.Click) ([]affiliate.Click, error) {
	out, err := affiliate.PrepareClicks(clicks, &s.rand)
	if err != nil {
		return nil, fmt.Errorf("record clicks: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("record clicks: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	b := newClickBatch(out)
	if err := s.txRetry(ctx, "record clicks", b.record); err != nil {
		return nil, err
	}
	return out, nil
}

// visitorKey is a visitor mark's key: a link and a visitor.
type visitorKey struct {
	code    string
	visitor uint64
}

// clickBatch is one RecordClicks call: what can be worked out before the database is asked, and
// record, the transaction.
type clickBatch struct {
	out []affiliate.Click
	// candidates are the indexes of the clicks that are logged unless their id already is: no bot
	// visits, and each id once (its first click in input order).
	candidates []int
	ids        []string // the candidates' ids
	order      []int    // every index of out, in time order (input order among equal times)
	logged     []bool   // per click of out: logged by this batch (set by each run of record)
}

func newClickBatch(out []affiliate.Click) *clickBatch {
	b := &clickBatch{out: out, order: make([]int, len(out)), logged: make([]bool, len(out))}
	seen := make(map[string]struct{}, len(out))
	for i := range out {
		b.order[i] = i
		c := &out[i]
		if c.Bot {
			continue
		}
		if _, dup := seen[c.ID]; dup {
			continue
		}
		seen[c.ID] = struct{}{}
		b.candidates = append(b.candidates, i)
		b.ids = append(b.ids, c.ID)
	}
	if !slices.IsSortedFunc(out, func(x, y affiliate.Click) int { return x.At.Compare(y.At) }) {
		slices.SortStableFunc(b.order, func(x, y int) int { return out[x].At.Compare(out[y].At) })
	}
	return b
}

// record is RecordClicks' transaction. It sets Unique on b.out; it may run more than once.
func (b *clickBatch) record(ctx context.Context, tx pgx.Tx) error {
	out := b.out
	for i := range out {
		out[i].Unique = false
	}
	clear(b.logged)

	// The candidates whose ids are not logged yet.
	var logged map[string]struct{}
	if len(b.ids) > 0 {
		rows, err := tx.Query(ctx, sqlLoggedIDs, b.ids)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		logged = make(map[string]struct{}, len(ids))
		for _, id := range ids {
			logged[id] = struct{}{}
		}
	}
	var newIdx []int // the clicks to log
	latest := map[visitorKey]int64{}
	for _, i := range b.candidates {
		c := &out[i]
		if _, ok := logged[c.ID]; ok {
			continue
		}
		b.logged[i] = true
		newIdx = append(newIdx, i)
		k := visitorKey{c.Code, c.Visitor}
		if at, ok := latest[k]; !ok || c.At.UnixNano() > at {
			latest[k] = c.At.UnixNano()
		}
	}

	// Lock, read and move the visitor marks.
	prev, err := markVisitors(ctx, tx, latest)
	if err != nil {
		return err
	}

	// Uniqueness in time order, and the counts.
	last := make(map[visitorKey]int64, len(prev))
	deltas := newAggDeltas()
	var nClicks, nBots int64
	for _, i := range b.order {
		c := &out[i]
		var d affiliate.Counts
		switch {
		case c.Bot:
			d.BotVisits = 1
			nBots++
		case b.logged[i]:
			k := visitorKey{c.Code, c.Visitor}
			l, ok := last[k]
			if !ok {
				l = prev[k]
			}
			at := c.At.UnixNano()
			c.Unique = l == 0 || affiliate.IsUnique(time.Unix(0, l), c.At)
			last[k] = max(l, at)
			d.Clicks = 1
			if c.Unique {
				d.UniqueClicks = 1
			}
			nClicks++
		default:
			continue
		}
		deltas.add(c.Code, c.AffiliateID, c.ProductID, c.SellerID, hourOf(c.At), d)
	}

	// The log, the aggregates and the counters, in one round trip.
	var batch pgx.Batch
	if len(newIdx) > 0 {
		slices.SortFunc(newIdx, func(x, y int) int { return strings.Compare(out[x].ID, out[y].ID) })
		n := len(newIdx)
		ids, codes := make([]string, n), make([]string, n)
		products, affs, sellers, ats, visitors := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		uniques := make([]bool, n)
		for j, i := range newIdx {
			c := &out[i]
			ids[j], codes[j] = c.ID, c.Code
			products[j], affs[j], sellers[j] = int64(c.ProductID), c.AffiliateID, c.SellerID
			ats[j], visitors[j], uniques[j] = c.At.UnixNano(), int64(c.Visitor), c.Unique
		}
		batch.Queue(sqlLogClicks, ids, codes, products, affs, sellers, ats, visitors, uniques).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(n) {
				return errRetry // another transaction logged one of them since the read
			}
			return nil
		})
	}
	deltas.queue(&batch, true)
	if nClicks > 0 || nBots > 0 {
		batch.Queue(addCounters, counterSlot(), nClicks, nBots, int64(0))
	}
	return sendBatch(ctx, tx, &batch)
}

// markVisitors upserts the visitor marks of latest (key → latest new click, unix ns) in key order and
// returns what each held before (0 for a mark just created). The rows stay locked until the transaction
// ends.
func markVisitors(ctx context.Context, tx pgx.Tx, latest map[visitorKey]int64) (map[visitorKey]int64, error) {
	if len(latest) == 0 {
		return nil, nil
	}
	keys := make([]visitorKey, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y visitorKey) int {
		return cmp.Or(strings.Compare(x.code, y.code), cmp.Compare(int64(x.visitor), int64(y.visitor)))
	})
	codes := make([]string, len(keys))
	visitors := make([]int64, len(keys))
	lasts := make([]int64, len(keys))
	for i, k := range keys {
		codes[i], visitors[i], lasts[i] = k.code, int64(k.visitor), latest[k]
	}
	rows, err := tx.Query(ctx, sqlMarkVisitors, codes, visitors, lasts)
	if err != nil {
		return nil, err
	}
	prev := make(map[visitorKey]int64, len(keys))
	var code string
	var visitor int64
	var before *int64
	_, err = pgx.ForEachRow(rows, []any{&code, &visitor, &before}, func() error {
		if before != nil {
			prev[visitorKey{code, uint64(visitor)}] = *before
		}
		return nil
	})
	return prev, err
}

// GetClick returns a logged click by id or affiliate.ErrClickNotFound (bot visits are not logged).
func (s *Store) GetClick(ctx context.Context, id string) (affiliate.Click, error) {
	return read(s, ctx, "get click", func(ctx context.Context) (affiliate.Click, error) {
		return getClick(ctx, s.pool, id)
	})
}

// getClick reads a logged click in q; affiliate.ErrClickNotFound when there is none.
func getClick(ctx context.Context, q querier, id string) (affiliate.Click, error) {
	c := affiliate.Click{ID: id}
	var productID, visitor, at int64
	err := q.QueryRow(ctx, sqlGetClick, id).Scan(&c.Code, &productID, &c.AffiliateID, &c.SellerID, &at, &visitor, &c.Unique)
	if errors.Is(err, pgx.ErrNoRows) {
		return affiliate.Click{}, affiliate.ErrClickNotFound
	}
	if err != nil {
		return affiliate.Click{}, fmt.Errorf("click %q: %w", id, err)
	}
	c.ProductID, c.Visitor, c.At = uint64(productID), uint64(visitor), time.Unix(0, at).UTC()
	return c, nil
}

// PruneVisitors deletes the visitor marks whose last click is before before and returns how many went.
// Marks older than affiliate.UniqueWindow no longer change any decision, so the daily caller can pass
// now minus the window.
func (s *Store) PruneVisitors(ctx context.Context, before time.Time) (int, error) {
	return read(s, ctx, "prune visitors", func(ctx context.Context) (int, error) {
		tag, err := s.pool.Exec(ctx, `DELETE FROM click_visitors WHERE last_ns < $1`, before.UnixNano())
		return int(tag.RowsAffected()), err
	})
}

// PruneClicks deletes the clicks logged before before and returns how many went. Aggregates and
// counters are kept, so every report stays the same; only attribution of an order to a click older than
// before becomes impossible, so callers pass a time older than the attribution window. It deletes in
// statements of pruneChunk clicks, checking ctx between them; on an error it returns how many went
// before it.
func (s *Store) PruneClicks(ctx context.Context, before time.Time) (int, error) {
	limit := before.UnixNano()
	total := 0
	for {
		n, err := read(s, ctx, "prune clicks", func(ctx context.Context) (int, error) {
			tag, err := s.pool.Exec(ctx, `DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE at_ns < $1 LIMIT $2)`, limit, pruneChunk)
			return int(tag.RowsAffected()), err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// AddOrphans counts visits to unknown codes.
func (s *Store) AddOrphans(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	_, err := read(s, ctx, "add orphans", func(ctx context.Context) (struct{}, error) {
		_, err := s.pool.Exec(ctx, addCounters, counterSlot(), int64(0), int64(0), n)
		return struct{}{}, err
	})
	return err
}

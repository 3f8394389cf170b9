package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keranjang/keranjang/affiliate"
)

// The aggregates (migration 00002): counts per unix hour of each link (agg_link), affiliate
// (agg_affiliate), product (agg_product) and seller (agg_seller), and each link's totals (link_totals).
// Writers add to them by multi-row upserts whose update adds the new values to the stored ones, with
// the rows of a statement in key order and the tables always in the order of aggTables, so that
// transactions that add to the same rows wait for each other in one order and never deadlock.

// countColumns are the columns of affiliate.Counts in every aggregate table, in countValues order.
const countColumns = `clicks, unique_clicks, bot_visits, orders, gmv, refunded, commission_pending, commission_settled, commission_reversed`

// countFields is the number of count columns.
const countFields = 9

// clickFields is the number of count columns a batch of clicks moves (clicks, unique clicks, bot visits).
const clickFields = 3

// countValues lists c's fields in countColumns order.
func countValues(c affiliate.Counts) [countFields]int64 {
	return [countFields]int64{c.Clicks, c.UniqueClicks, c.BotVisits, c.Orders, int64(c.GMV), int64(c.Refunded),
		int64(c.CommissionPending), int64(c.CommissionSettled), int64(c.CommissionReversed)}
}

// countDest is what a row of countColumns scans into.
func countDest(c *affiliate.Counts) []any {
	return []any{&c.Clicks, &c.UniqueClicks, &c.BotVisits, &c.Orders, &c.GMV, &c.Refunded,
		&c.CommissionPending, &c.CommissionSettled, &c.CommissionReversed}
}

// sumColumns sums countColumns over the rows of a query (zero without rows).
var sumColumns = func() string {
	cols := strings.Split(countColumns, ", ")
	for i, c := range cols {
		cols[i] = "coalesce(sum(" + c + "), 0)::bigint"
	}
	return strings.Join(cols, ", ")
}()

// aggTable is one aggregate table and the statements that add to it. Each takes one array per key
// column, then one per count column, rows in key order.
type aggTable struct {
	// upsertClicks adds the click columns, upsertAll every column. The values must not be negative:
	// PostgreSQL checks the row an upsert proposes against the CHECK constraints before it finds the
	// conflict, so a negative value fails even when it would update a larger stored one.
	upsertClicks, upsertAll string
	// subtract adds values that may be negative (every column) to rows that exist; the CHECK
	// constraints apply to the results.
	subtract string
}

// newAggTable builds the statements of table name, keyed by keys (column name and SQL type).
func newAggTable(name string, keys ...[2]string) aggTable {
	cols := strings.Split(countColumns, ", ")
	var keyNames, arrays, match []string
	for _, k := range keys {
		keyNames = append(keyNames, k[0])
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", len(arrays)+1, k[1]))
		match = append(match, fmt.Sprintf("a.%s = u.%s", k[0], k[0]))
	}
	for range cols {
		arrays = append(arrays, fmt.Sprintf("$%d::bigint[]", len(arrays)+1))
	}
	upsert := func(n int) string {
		var sets []string
		for _, c := range cols[:n] {
			sets = append(sets, fmt.Sprintf("%s = a.%s + excluded.%s", c, c, c))
		}
		return fmt.Sprintf("INSERT INTO %s AS a (%s, %s) SELECT * FROM unnest(%s) ON CONFLICT (%s) DO UPDATE SET %s",
			name, strings.Join(keyNames, ", "), strings.Join(cols[:n], ", "), strings.Join(arrays[:len(keys)+n], ", "),
			strings.Join(keyNames, ", "), strings.Join(sets, ", "))
	}
	var sets []string
	for _, c := range cols {
		sets = append(sets, fmt.Sprintf("%s = a.%s + u.%s", c, c, c))
	}
	subtract := fmt.Sprintf("UPDATE %s AS a SET %s FROM unnest(%s) AS u(%s, %s) WHERE %s",
		name, strings.Join(sets, ", "), strings.Join(arrays, ", "), strings.Join(keyNames, ", "), countColumns,
		strings.Join(match, " AND "))
	return aggTable{upsertClicks: upsert(clickFields), upsertAll: upsert(countFields), subtract: subtract}
}

// The aggregate tables, in the order every writer locks them.
var (
	aggLink      = newAggTable("agg_link", [2]string{"code", "text"}, [2]string{"hour", "bigint"})
	aggAffiliate = newAggTable("agg_affiliate", [2]string{"affiliate_id", "bigint"}, [2]string{"hour", "bigint"})
	aggProduct   = newAggTable("agg_product", [2]string{"product_id", "bigint"}, [2]string{"hour", "bigint"})
	aggSeller    = newAggTable("agg_seller", [2]string{"seller_id", "bigint"}, [2]string{"hour", "bigint"})
	linkTotals   = newAggTable("link_totals", [2]string{"code", "text"})
)

// hourOf is the unix hour of t (0 for times before 1970), the hour of the aggregates t counts in.
func hourOf(t time.Time) int64 {
	if s := t.Unix(); s > 0 {
		return s / 3600
	}
	return 0
}

// hourRange turns [from, to) into the half-open range of unix hours whose rows hold its counts: hours
// are whole, so a partial hour at either end counts whole. Zero times are open ends.
func hourRange(from, to time.Time) (lo, hi int64) {
	lo, hi = 0, math.MaxUint32+1
	if !from.IsZero() {
		lo = hourOf(from)
	}
	if !to.IsZero() {
		hi = hourOf(to)
		if to.Unix() > 0 && (to.Unix()%3600 != 0 || to.Nanosecond() != 0) {
			hi++
		}
	}
	return lo, hi
}

type (
	codeHour struct {
		code string
		hour int64
	}
	idHour struct {
		id   int64
		hour int64
	}
)

// aggDeltas collects what a transaction adds to the aggregates, one sum per row, to be written by
// queue in one upsert per table.
type aggDeltas struct {
	link, totals               map[codeHour]affiliate.Counts // totals: hour 0
	affiliate, product, seller map[idHour]affiliate.Counts
}

func newAggDeltas() *aggDeltas {
	return &aggDeltas{
		link: map[codeHour]affiliate.Counts{}, totals: map[codeHour]affiliate.Counts{},
		affiliate: map[idHour]affiliate.Counts{}, product: map[idHour]affiliate.Counts{}, seller: map[idHour]affiliate.Counts{},
	}
}

// add adds d to every aggregate of link code (of affiliateID, productID and sellerID) at hour.
func (a *aggDeltas) add(code string, affiliateID int64, productID uint64, sellerID int64, hour int64, d affiliate.Counts) {
	addTo(a.link, codeHour{code, hour}, d)
	addTo(a.totals, codeHour{code: code}, d)
	addTo(a.affiliate, idHour{affiliateID, hour}, d)
	addTo(a.product, idHour{int64(productID), hour}, d)
	addTo(a.seller, idHour{sellerID, hour}, d)
}

func addTo[K comparable](m map[K]affiliate.Counts, k K, d affiliate.Counts) {
	c := m[k]
	c.Add(d)
	m[k] = c
}

// queue queues on b the statements that add the collected deltas, table by table in the order of the
// tables above, rows in key order; rows whose delta is zero are left out. With onlyClicks the deltas
// are click counts (never negative) and the statements carry the click columns alone.
func (a *aggDeltas) queue(b *pgx.Batch, onlyClicks bool) {
	byCode := func(x, y codeHour) int { return cmp.Or(strings.Compare(x.code, y.code), cmp.Compare(x.hour, y.hour)) }
	byID := func(x, y idHour) int { return cmp.Or(cmp.Compare(x.id, y.id), cmp.Compare(x.hour, y.hour)) }
	codeHours := func(keys []codeHour) []any {
		codes, hours := make([]string, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			codes[i], hours[i] = k.code, k.hour
		}
		return []any{codes, hours}
	}
	codes := func(keys []codeHour) []any { return codeHours(keys)[:1] }
	idHours := func(keys []idHour) []any {
		ids, hours := make([]int64, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			ids[i], hours[i] = k.id, k.hour
		}
		return []any{ids, hours}
	}
	queueTable(b, aggLink, a.link, byCode, codeHours, onlyClicks)
	queueTable(b, aggAffiliate, a.affiliate, byID, idHours, onlyClicks)
	queueTable(b, aggProduct, a.product, byID, idHours, onlyClicks)
	queueTable(b, aggSeller, a.seller, byID, idHours, onlyClicks)
	queueTable(b, linkTotals, a.totals, byCode, codes, onlyClicks)
}

// countArrays are the count columns of a statement, one array per column.
type countArrays [countFields][]int64

func (c *countArrays) add(v [countFields]int64) {
	for i := range c {
		c[i] = append(c[i], v[i])
	}
}

func (c *countArrays) args(n int) []any {
	out := make([]any, n)
	for i := range n {
		out[i] = c[i]
	}
	return out
}

// queueTable queues the statements that add the deltas of m to table t: an upsert of every row with the
// positive part of its delta, which creates the rows that are missing and locks them all in key order,
// then, for the rows whose delta has a negative part, the subtraction of that part from the rows now
// there and locked. The CHECK constraints see the result, so a delta that would take a count below
// zero fails the transaction.
func queueTable[K comparable](b *pgx.Batch, t aggTable, m map[K]affiliate.Counts, compare func(x, y K) int, keyArgs func([]K) []any, onlyClicks bool) {
	keys := make([]K, 0, len(m))
	for k, d := range m {
		if d != (affiliate.Counts{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, compare)
	var pos, neg countArrays
	var negKeys []K
	for _, k := range keys {
		v := countValues(m[k])
		var p, n [countFields]int64
		hasNeg := false
		for i, x := range v {
			if x < 0 {
				n[i], hasNeg = x, true
			} else {
				p[i] = x
			}
		}
		pos.add(p)
		if hasNeg {
			neg.add(n)
			negKeys = append(negKeys, k)
		}
	}
	if onlyClicks {
		b.Queue(t.upsertClicks, append(keyArgs(keys), pos.args(clickFields)...)...)
	} else {
		b.Queue(t.upsertAll, append(keyArgs(keys), pos.args(countFields)...)...)
	}
	if len(negKeys) > 0 {
		b.Queue(t.subtract, append(keyArgs(negKeys), neg.args(countFields)...)...)
	}
}

// errCountRange is the internal error of a change that would take a stored count below zero or past
// the bigint range: aggregates out of step with what they count, which must never be written.
var errCountRange = errors.New("count would leave its range")

// countError turns the database's refusal of a count (a CHECK constraint, an overflow) into
// errCountRange, keeping the database's message.
func countError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23514" || pe.Code == "22003") {
		return fmt.Errorf("%w: %s", errCountRange, pe.Message)
	}
	return err
}

// sendBatch runs the statements queued on b in tx in one round trip, checking each result.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return countError(tx.SendBatch(ctx, b).Close())
}

// counterSlots is the number of rows of click_counters (see migration 00002).
const counterSlots = 16

// addCounters is the increment of the counters of one slot.
const addCounters = `UPDATE click_counters SET n_clicks = n_clicks + $2, n_bots = n_bots + $3, n_orphans = n_orphans + $4 WHERE slot = $1`

// counterSlot picks the counter row a transaction adds to.
func counterSlot() int16 { return int16(rand.IntN(counterSlots)) }

// clickStats reads the running counters of logged clicks, bot visits and visits to unknown codes, and
// the number of orders, for Stats.
func clickStats(ctx context.Context, q querier) (clicks, bots, orphans, orders int64, err error) {
	err = q.QueryRow(ctx, `SELECT coalesce(sum(n_clicks), 0)::bigint, coalesce(sum(n_bots), 0)::bigint,
		coalesce(sum(n_orphans), 0)::bigint, (SELECT count(*) FROM orders) FROM click_counters`).
		Scan(&clicks, &bots, &orphans, &orders)
	return clicks, bots, orphans, orders, err
}

// errRetry asks txRetry to run the transaction again: a concurrent transaction wrote a row this one
// meant to create (a click id, an order), which the next attempt sees.
var errRetry = errors.New("concurrent write, retry")

// txAttempts bounds how often txRetry runs a transaction.
const txAttempts = 8

// txRetry runs fn in one transaction as s.tx does, again when it fails on errRetry, a deadlock or a
// serialization failure (the database undid it, so nothing was written). fn gets ctx bounded by
// Options.Timeout for its statements and must compute everything afresh on each run.
func (s *Store) txRetry(ctx context.Context, what string, fn func(context.Context, pgx.Tx) error) error {
	ctx, cancel := s.ctx(ctx) // one bound for every attempt
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, what, fn)
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// readTx runs fn in one read-only transaction on a snapshot (repeatable read), for reads of several
// statements that must agree. A context that is already done fails before anything is sent.
func (s *Store) readTx(ctx context.Context, what string, fn func(context.Context, pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(ctx, tx) })
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// read runs fn, the statements of a read (or a write of one statement), as s.statement does, and
// returns its value.
func read[T any](s *Store, ctx context.Context, what string, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := s.statement(ctx, what, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

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

// aggTable is one aggregate table: its name, key columns and key types, and the statements that add
// to it.
type aggTable struct {
	name string
	// upsertClicks adds the click columns, upsertAll every column; both take one array per key column,
	// then one per count column.
	upsertClicks, upsertAll string
}

// upsertSQL builds the upsert of the first n count columns of table, keyed by keys (name and SQL type).
func upsertSQL(table string, keys [][2]string, n int) string {
	cols := strings.Split(countColumns, ", ")[:n]
	var names, arrays, sets []string
	for _, k := range keys {
		names = append(names, k[0])
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", len(arrays)+1, k[1]))
	}
	for _, c := range cols {
		names = append(names, c)
		arrays = append(arrays, fmt.Sprintf("$%d::bigint[]", len(arrays)+1))
		sets = append(sets, fmt.Sprintf("%s = a.%s + excluded.%s", c, c, c))
	}
	conflict := make([]string, len(keys))
	for i, k := range keys {
		conflict[i] = k[0]
	}
	return fmt.Sprintf("INSERT INTO %s AS a (%s) SELECT * FROM unnest(%s) ON CONFLICT (%s) DO UPDATE SET %s",
		table, strings.Join(names, ", "), strings.Join(arrays, ", "), strings.Join(conflict, ", "), strings.Join(sets, ", "))
}

func newAggTable(name string, keys ...[2]string) aggTable {
	return aggTable{name: name, upsertClicks: upsertSQL(name, keys, clickFields), upsertAll: upsertSQL(name, keys, countFields)}
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
	link, totals                map[codeHour]affiliate.Counts // totals: hour 0
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

// queue queues on b the upserts that add the collected deltas: one statement per table, in aggTables
// order, rows in key order; rows whose delta is zero are left out. With onlyClicks the statements
// carry the click columns alone (the order columns of the deltas must then be zero).
func (a *aggDeltas) queue(b *pgx.Batch, onlyClicks bool) {
	n := countFields
	if onlyClicks {
		n = clickFields
	}
	queueCodeHours(b, aggLink, a.link, n, true)
	queueIDHours(b, aggAffiliate, a.affiliate, n)
	queueIDHours(b, aggProduct, a.product, n)
	queueIDHours(b, aggSeller, a.seller, n)
	queueCodeHours(b, linkTotals, a.totals, n, false)
}

// countArrays is the count columns of an upsert, one array per column.
type countArrays [countFields][]int64

func (c *countArrays) add(d affiliate.Counts) {
	v := countValues(d)
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

func queueCodeHours(b *pgx.Batch, t aggTable, m map[codeHour]affiliate.Counts, n int, withHour bool) {
	keys := make([]codeHour, 0, len(m))
	for k, d := range m {
		if d != (affiliate.Counts{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, func(x, y codeHour) int {
		return cmp.Or(strings.Compare(x.code, y.code), cmp.Compare(x.hour, y.hour))
	})
	codes := make([]string, len(keys))
	hours := make([]int64, len(keys))
	var counts countArrays
	for i, k := range keys {
		codes[i], hours[i] = k.code, k.hour
		counts.add(m[k])
	}
	args := []any{codes}
	if withHour {
		args = append(args, hours)
	}
	queueUpsert(b, t, append(args, counts.args(n)...), n)
}

func queueIDHours(b *pgx.Batch, t aggTable, m map[idHour]affiliate.Counts, n int) {
	keys := make([]idHour, 0, len(m))
	for k, d := range m {
		if d != (affiliate.Counts{}) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, func(x, y idHour) int { return cmp.Or(cmp.Compare(x.id, y.id), cmp.Compare(x.hour, y.hour)) })
	ids := make([]int64, len(keys))
	hours := make([]int64, len(keys))
	var counts countArrays
	for i, k := range keys {
		ids[i], hours[i] = k.id, k.hour
		counts.add(m[k])
	}
	queueUpsert(b, t, append([]any{ids, hours}, counts.args(n)...), n)
}

func queueUpsert(b *pgx.Batch, t aggTable, args []any, n int) {
	sql := t.upsertAll
	if n == clickFields {
		sql = t.upsertClicks
	}
	b.Queue(sql, args...)
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
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := s.tx(ctx, what, func(tx pgx.Tx) error { return fn(ctx, tx) })
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

// read runs fn on the pool under ctx bounded by Options.Timeout, after checking ctx, and wraps its
// error with what: a read of one statement (or of several that need not agree).
func read[T any](s *Store, ctx context.Context, what string, fn func(context.Context) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := fn(ctx)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

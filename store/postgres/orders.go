package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keranjang/keranjang/affiliate"
)

// Orders on a shared database. RecordOrder and ImportOrders lock the rows of the orders they are about
// (SELECT ... FOR UPDATE, in order id order) before reading them, so that instances that receive reports
// of one order at the same time apply them one after the other, each to what the other wrote. An order
// that is not stored yet has no row to lock: it is inserted with ON CONFLICT DO NOTHING, and when another
// transaction inserted it first (the insert waits for that one to commit), the transaction is undone and
// run again, now finding the row. The aggregates move by the difference of the orders' counts, added by
// upserts in the same transaction (see aggregates.go), and their CHECK constraints refuse a change that
// would take a count below zero.

const (
	sqlLockOrders = `SELECT o.order_id, o.doc FROM unnest($2::text[]) AS u(order_id)
JOIN orders o ON o.seller_id = $1 AND o.order_id = u.order_id
ORDER BY o.order_id FOR UPDATE OF o`
	sqlInsertOrders = `INSERT INTO orders (seller_id, order_id, occurred_sec, occurred_at, doc)
SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::jsonb[])
ON CONFLICT (seller_id, order_id) DO NOTHING`
	sqlUpdateOrders = `UPDATE orders o SET occurred_sec = u.sec, occurred_at = u.at, doc = u.doc
FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::jsonb[]) AS u(order_id, sec, at, doc)
WHERE o.seller_id = $1 AND o.order_id = u.order_id`
	sqlGetOrder = `SELECT doc FROM orders WHERE seller_id = $1 AND order_id = $2`
	// A seller's orders in (whole second, order id) order from a position on ($2, $3: at or after it,
	// or after it), up to the second $4.
	sqlSellerOrdersFrom = `SELECT occurred_sec, order_id, doc FROM orders
WHERE seller_id = $1 AND (occurred_sec, order_id) >= ($2, $3) AND occurred_sec <= $4
ORDER BY occurred_sec, order_id LIMIT $5`
	sqlSellerOrdersAfter = `SELECT occurred_sec, order_id, doc FROM orders
WHERE seller_id = $1 AND (occurred_sec, order_id) > ($2, $3) AND occurred_sec <= $4
ORDER BY occurred_sec, order_id LIMIT $5`
)

// RecordOrder applies one report of an order (the conversions API, a bot command): a first report is
// attributed (affiliate.NewOrder) with the link's product rate and the store's attribution window, a
// later one changes the stored order (affiliate.ApplyReport). The order and every aggregate it moves
// (per link, affiliate, product and seller, by the order's hour, and the link's totals) are written in one
// transaction, durable when it returns. changed is false when the report repeated what is stored. A
// domain error (an unknown click, an impossible transition) writes nothing.
func (s *Store) RecordOrder(ctx context.Context, r affiliate.OrderReport) (affiliate.Order, bool, error) {
	now := s.now()
	if err := affiliate.ValidateOrderReport(r, now); err != nil {
		return affiliate.Order{}, false, fmt.Errorf("record order: %w", err)
	}
	var res affiliate.OrderResult
	err := s.txRetry(ctx, "record order", func(ctx context.Context, tx pgx.Tx) error {
		results := []affiliate.OrderResult{{Row: 1}}
		if _, err := s.applyOrders(ctx, tx, r.SellerID, []affiliate.OrderReport{r}, results, now); err != nil {
			return err
		}
		res = results[0]
		return res.Err
	})
	if err != nil {
		return affiliate.Order{}, false, err
	}
	return res.Order, res.Outcome == affiliate.OutcomeImported, nil
}

// ImportOrders applies a batch of reports of one seller (a CSV import) in one transaction: every report
// is validated first, then the valid ones are applied in order; a report that cannot apply (an unknown
// click, an impossible transition) is rejected without stopping the others. The results are in the
// batch's order.
//
// Every report is taken as sellerID's, whatever its SellerID says: a file sent by a seller speaks only for
// that seller. A later row about the same order sees what the rows before it did.
func (s *Store) ImportOrders(ctx context.Context, sellerID int64, reports []affiliate.OrderReport) ([]affiliate.OrderResult, error) {
	now := s.now()
	rs := make([]affiliate.OrderReport, len(reports))
	invalid := make([]error, len(reports))
	for i, r := range reports {
		r.SellerID = sellerID
		rs[i] = r
		invalid[i] = affiliate.ValidateOrderReport(r, now)
	}
	var results []affiliate.OrderResult
	err := s.txRetry(ctx, "import orders", func(ctx context.Context, tx pgx.Tx) error {
		results = make([]affiliate.OrderResult, len(rs))
		for i := range results {
			results[i].Row = i + 1
			if invalid[i] != nil {
				results[i].Outcome, results[i].Err = affiliate.OutcomeRejected, invalid[i]
			}
		}
		row, err := s.applyOrders(ctx, tx, sellerID, rs, results, now)
		if err != nil && row > 0 {
			return fmt.Errorf("row %d: %w", row, err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// orderState is one order of an applyOrders call: as stored (and locked) when it began, and as the
// reports so far left it.
type orderState struct {
	stored  *affiliate.Order
	cur     affiliate.Order
	exists  bool // cur is set: stored, or created by a report of the call
	changed bool
}

// applyOrders applies reports, all of seller sellerID, in order inside tx: it locks the stored orders
// they name, applies each report whose result is not set yet (results[i].Outcome empty) and sets its
// result, then writes the orders that changed and moves the aggregates by the difference, in one round
// trip. A domain error rejects its report only; any other error fails the whole call, with the 1-based
// row of the report it came from (0 when it did not come from one). It may run more than once.
func (s *Store) applyOrders(ctx context.Context, tx pgx.Tx, sellerID int64, reports []affiliate.OrderReport, results []affiliate.OrderResult, now time.Time) (int, error) {
	var ids []string
	states := map[string]*orderState{}
	for i, r := range reports {
		if results[i].Outcome != "" {
			continue
		}
		if _, ok := states[r.OrderID]; !ok {
			states[r.OrderID] = &orderState{}
			ids = append(ids, r.OrderID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	slices.Sort(ids)
	rows, err := tx.Query(ctx, sqlLockOrders, sellerID, ids)
	if err != nil {
		return 0, err
	}
	var id string
	var o affiliate.Order
	_, err = pgx.ForEachRow(rows, []any{&id, &o}, func() error {
		stored := o
		states[id] = &orderState{stored: &stored, cur: o, exists: true}
		o = affiliate.Order{} // a JSON doc scanned into o sets only the fields it has
		return nil
	})
	if err != nil {
		return 0, err
	}

	att := attribution{s: s, links: map[string]affiliate.Link{}, products: map[uint64]affiliate.Product{}}
	for i, r := range reports {
		if results[i].Outcome != "" {
			continue
		}
		st := states[r.OrderID]
		var o affiliate.Order
		var changed bool
		var err error
		if st.exists {
			o, changed, err = affiliate.ApplyReport(st.cur, r, now)
		} else {
			o, err = att.newOrder(ctx, tx, r, now)
			changed = err == nil
		}
		switch {
		case isDomainError(err):
			results[i].Outcome, results[i].Err = affiliate.OutcomeRejected, err
		case err != nil:
			return i + 1, err
		case changed:
			st.cur, st.exists, st.changed = o, true, true
			results[i].Order, results[i].Outcome = o, affiliate.OutcomeImported
		default:
			results[i].Order, results[i].Outcome = o, affiliate.OutcomeUnchanged
		}
	}

	// The orders that changed, and what they move.
	deltas := newAggDeltas()
	var ins, upd orderRows
	for _, id := range ids {
		st := states[id]
		if !st.changed {
			continue
		}
		if st.stored != nil {
			addOrder(deltas, st.stored, -1)
			if err := upd.add(&st.cur); err != nil {
				return 0, err
			}
		} else if err := ins.add(&st.cur); err != nil {
			return 0, err
		}
		addOrder(deltas, &st.cur, +1)
	}
	var batch pgx.Batch
	if n := len(ins.ids); n > 0 {
		batch.Queue(sqlInsertOrders, sellerID, ins.ids, ins.secs, ins.ats, ins.docs).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(n) {
				return errRetry // another transaction stored one of these orders since they were looked for
			}
			return nil
		})
	}
	if len(upd.ids) > 0 {
		batch.Queue(sqlUpdateOrders, sellerID, upd.ids, upd.secs, upd.ats, upd.docs)
	}
	deltas.queue(&batch, false)
	return 0, sendBatch(ctx, tx, &batch)
}

// addOrder adds o's counts (sign -1: takes them away) to the aggregates o counts in.
func addOrder(a *aggDeltas, o *affiliate.Order, sign int) {
	oc := o.Counts()
	if sign < 0 {
		oc = affiliate.OrderCounts{}.Sub(oc)
	}
	a.add(o.LinkCode, o.AffiliateID, o.ProductID, o.SellerID, hourOf(o.OccurredAt), affiliate.Counts{OrderCounts: oc})
}

// orderRows are the columns of orders to write, one array per column.
type orderRows struct {
	ids  []string
	secs []int64
	ats  []time.Time
	docs [][]byte
}

func (r *orderRows) add(o *affiliate.Order) error {
	doc, err := encodeDoc(o)
	if err != nil {
		return err
	}
	r.ids = append(r.ids, o.OrderID)
	r.secs = append(r.secs, unixSeconds(o.OccurredAt))
	r.ats = append(r.ats, o.OccurredAt)
	r.docs = append(r.docs, doc)
	return nil
}

// unixSeconds is t's unix second, 0 for times before 1970: the position of an order in its seller's list.
func unixSeconds(t time.Time) int64 { return max(t.Unix(), 0) }

// attribution attributes first reports of orders, reading each link and product once per call.
type attribution struct {
	s        *Store
	links    map[string]affiliate.Link
	products map[uint64]affiliate.Product
}

// newOrder attributes a first report (by click id or link code) and computes the order, or returns a
// domain error.
func (a *attribution) newOrder(ctx context.Context, tx pgx.Tx, r affiliate.OrderReport, now time.Time) (affiliate.Order, error) {
	if r.ClickID == "" && r.LinkCode == "" {
		return affiliate.Order{}, affiliate.ErrOrderNotFound
	}
	var c *affiliate.Click
	code := r.LinkCode
	if r.ClickID != "" {
		click, err := getClick(ctx, tx, r.ClickID)
		if err != nil {
			return affiliate.Order{}, err
		}
		c, code = &click, click.Code
	}
	l, ok := a.links[code]
	if !ok {
		var err error
		if l, err = getLink(ctx, tx, code); errors.Is(err, affiliate.ErrLinkNotFound) {
			return affiliate.Order{}, affiliate.ErrOrderLinkNotFound
		} else if err != nil {
			return affiliate.Order{}, err
		}
		a.links[code] = l
	}
	p, ok := a.products[l.ProductID]
	if !ok {
		var err error
		if p, err = getProduct(ctx, tx, l.ProductID); err != nil {
			return affiliate.Order{}, err
		}
		a.products[l.ProductID] = p
	}
	if r.OccurredAt.IsZero() {
		r.OccurredAt = now
	}
	return affiliate.NewOrder(r, l, c, p.Rate, a.s.window, now)
}

// isDomainError reports whether err is a domain error other than EInternal: a refusal of the report,
// not a failure of the store.
func isDomainError(err error) bool {
	var e *affiliate.Error
	return errors.As(err, &e) && e.Code != affiliate.EInternal
}

// GetOrder returns a seller's order or affiliate.ErrOrderNotFound.
func (s *Store) GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error) {
	return read(s, ctx, "get order", func(ctx context.Context) (affiliate.Order, error) {
		var o affiliate.Order
		err := s.pool.QueryRow(ctx, sqlGetOrder, sellerID, orderID).Scan(&o)
		return o, notFound(err, affiliate.ErrOrderNotFound)
	})
}

// SellerOrders returns up to limit of a seller's orders placed in [from, to), in time order, after the
// order (time, id) given by after (zero: from the start): a keyset page for exports. Zero from and to
// are open ends. Time order is by the whole second, then by order id, and after is compared the same
// way, so the cursor of the last order of a page continues exactly after it. A limit of 0 or less
// returns nothing.
//
// The index gives the orders of the seconds from from's to to's; the orders of those two seconds that
// fall outside [from, to) to the nanosecond are left out here, and the page is filled from further on.
func (s *Store) SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seller orders: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	sec, id, query := unixSeconds(from), "", sqlSellerOrdersFrom
	if !after.At.IsZero() || after.OrderID != "" {
		if as := unixSeconds(after.At); as > sec || (as == sec && after.OrderID != "") {
			sec, id, query = as, after.OrderID, sqlSellerOrdersAfter
		}
	}
	hiSec := int64(math.MaxInt64)
	if !to.IsZero() {
		hiSec = unixSeconds(to)
	}
	return read(s, ctx, "seller orders", func(ctx context.Context) ([]affiliate.Order, error) {
		var out []affiliate.Order
		for len(out) < limit {
			want := limit - len(out)
			rows, err := s.pool.Query(ctx, query, sellerID, sec, id, hiSec, want)
			if err != nil {
				return nil, err
			}
			var o affiliate.Order
			n := 0
			_, err = pgx.ForEachRow(rows, []any{&sec, &id, &o}, func() error {
				n++
				if (from.IsZero() || !o.OccurredAt.Before(from)) && (to.IsZero() || o.OccurredAt.Before(to)) {
					out = append(out, o)
				}
				o = affiliate.Order{} // a JSON doc scanned into o sets only the fields it has
				return nil
			})
			if err != nil {
				return nil, err
			}
			if n < want {
				break
			}
			query = sqlSellerOrdersAfter
		}
		return out, nil
	})
}

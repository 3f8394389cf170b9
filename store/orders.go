package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// RecordOrder applies one report of an order (the conversions API, a bot command): a first report is
// attributed (affiliate.NewOrder) with the link's product rate and the store's attribution window, a later
// one changes the stored order (affiliate.ApplyReport). The order and every aggregate it moves (per link,
// affiliate, product and seller, by the order's hour, and the link's totals) are written in one
// transaction, which is durable (fsynced) before RecordOrder returns; concurrent calls share commits.
// changed is false when the report repeated what is stored.
//
// Concurrent calls are grouped by bbolt's DB.Batch into one transaction and one fsync. Batch may run the
// function of a call more than once (when another call of the same group fails, the group is rolled back
// and run again without it), so everything is read and computed inside the function, and its results are
// set afresh each time. A domain error (an unknown click, an impossible transition) is found before
// anything is written and is handed back to the caller outside the transaction, so it does not roll back
// the rest of its group.
func (s *Store) RecordOrder(ctx context.Context, r affiliate.OrderReport) (o affiliate.Order, changed bool, err error) {
	now := s.now()
	if err := affiliate.ValidateOrderReport(r, now); err != nil {
		return affiliate.Order{}, false, fmt.Errorf("record order: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return affiliate.Order{}, false, fmt.Errorf("record order: %w", err)
	}
	var domainErr error
	err = s.db.Batch(func(tx *bolt.Tx) error {
		var err error
		o, changed, err = s.applyOrder(tx, r, now)
		domainErr = nil
		if isDomainError(err) {
			o, changed, domainErr = affiliate.Order{}, false, err
			return nil
		}
		return err
	})
	if err == nil {
		err = domainErr
	}
	if err != nil {
		return affiliate.Order{}, false, fmt.Errorf("record order: %w", err)
	}
	return o, changed, nil
}

// orderBatchDelay is bbolt's DB.MaxBatchDelay: how long the first call of a group waits for others to
// join before the group commits.
var orderBatchDelay = 2 * time.Millisecond

// isDomainError reports whether err is a domain error other than EInternal: a refusal of the report,
// not a failure of the store.
func isDomainError(err error) bool {
	var e *affiliate.Error
	return errors.As(err, &e) && e.Code != affiliate.EInternal
}

// applyOrder applies one validated report inside tx: it writes the order, its index entry and the
// aggregates it moves, or writes nothing and returns a domain error, or nothing at all when the report
// changes nothing. Every check comes before the first write.
func (s *Store) applyOrder(tx *bolt.Tx, r affiliate.OrderReport, now time.Time) (affiliate.Order, bool, error) {
	orders := tx.Bucket(bOrders)
	key := orderKey(r.SellerID, r.OrderID)
	var before affiliate.Order
	found, err := getJSON(orders, key, &before)
	if err != nil {
		return affiliate.Order{}, false, err
	}
	var after affiliate.Order
	if !found {
		if r.ClickID == "" && r.LinkCode == "" {
			return affiliate.Order{}, false, affiliate.ErrOrderNotFound
		}
		var c *affiliate.Click
		code := r.LinkCode
		if r.ClickID != "" {
			click, err := orderClick(tx, r.ClickID)
			if err != nil {
				return affiliate.Order{}, false, err
			}
			c, code = &click, click.Code
		}
		l, err := getLink(tx, code)
		if errors.Is(err, affiliate.ErrLinkNotFound) {
			return affiliate.Order{}, false, affiliate.ErrOrderLinkNotFound
		}
		if err != nil {
			return affiliate.Order{}, false, err
		}
		p, err := getProduct(tx, l.ProductID)
		if err != nil {
			return affiliate.Order{}, false, err
		}
		if r.OccurredAt.IsZero() {
			r.OccurredAt = now
		}
		if after, err = affiliate.NewOrder(r, l, c, p.Rate, s.window, now); err != nil {
			return affiliate.Order{}, false, err
		}
	} else {
		var changed bool
		if after, changed, err = affiliate.ApplyReport(before, r, now); err != nil {
			return affiliate.Order{}, false, err
		}
		if !changed {
			return before, false, nil
		}
	}

	var prev *affiliate.Order
	if found {
		prev = &before
	}
	if err := moveOrderAggregates(tx, prev, &after); err != nil {
		return affiliate.Order{}, false, err
	}
	if err := putJSON(orders, key, after); err != nil {
		return affiliate.Order{}, false, err
	}
	idx := tx.Bucket(bSellerOrders)
	newIdx := sellerOrderKey(after.SellerID, after.OccurredAt, after.OrderID)
	if found {
		if oldIdx := sellerOrderKey(before.SellerID, before.OccurredAt, before.OrderID); !bytes.Equal(oldIdx, newIdx) {
			if err := idx.Delete(oldIdx); err != nil {
				return affiliate.Order{}, false, err
			}
		}
	}
	if err := idx.Put(newIdx, nil); err != nil {
		return affiliate.Order{}, false, err
	}
	return after, true, nil
}

// orderClick reads a click from the click log for attribution, as GetClick does.
func orderClick(tx *bolt.Tx, id string) (affiliate.Click, error) {
	c, ok, err := lookupClick(tx.Bucket(bClicks), id)
	if err != nil {
		return affiliate.Click{}, fmt.Errorf("click %q: %w", id, err)
	}
	if !ok {
		return affiliate.Click{}, affiliate.ErrClickNotFound
	}
	return c, nil
}

// orderKey is the orders key of a seller's order: seller id (8) + order id.
func orderKey(sellerID int64, orderID string) []byte {
	return append(idKey(sellerID), orderID...)
}

// unixSeconds is t's unix second, 0 for times before 1970.
func unixSeconds(t time.Time) uint64 { return uint64(max(t.Unix(), 0)) }

// sellerOrderKey is the seller_orders key: seller id (8) + occurred unix seconds (8) + order id.
func sellerOrderKey(sellerID int64, at time.Time, orderID string) []byte {
	k := make([]byte, 0, 16+len(orderID))
	k = binary.BigEndian.AppendUint64(k, uint64(sellerID))
	k = binary.BigEndian.AppendUint64(k, unixSeconds(at))
	return append(k, orderID...)
}

// idHourKey is the key of a per-id hourly aggregate (agg_affiliate, agg_product, agg_seller).
func idHourKey(id uint64, hour uint32) affHourKey {
	var k affHourKey
	binary.BigEndian.PutUint64(k[:], id)
	binary.BigEndian.PutUint32(k[8:], hour)
	return k
}

// aggDelta is one aggregate record an order change moves, and by how much.
type aggDelta struct {
	bucket []byte
	key    []byte
	d      affiliate.Counts
}

// orderAggKeys lists the aggregate records an order counts in: its link's and affiliate's, product's and
// seller's hour of OccurredAt, and its link's totals.
func orderAggKeys(o *affiliate.Order) [5]aggDelta {
	hour := hourOf(o.OccurredAt)
	lk := binary.BigEndian.AppendUint32(append(make([]byte, 0, codeLen+hourLen), o.LinkCode...), hour)
	ak := idHourKey(uint64(o.AffiliateID), hour)
	pk := idHourKey(o.ProductID, hour)
	sk := idHourKey(uint64(o.SellerID), hour)
	return [5]aggDelta{
		{bucket: bAggLink, key: lk},
		{bucket: bAggAff, key: ak[:]},
		{bucket: bAggProduct, key: pk[:]},
		{bucket: bAggSeller, key: sk[:]},
		{bucket: bTotals, key: []byte(o.LinkCode)},
	}
}

// moveOrderAggregates moves every aggregate by what the order's change makes: before's counts come out
// of before's records and after's go into after's (the same records unless the order's hour or link
// changed, and then only the difference is written). before is nil for a new order. A record that would
// go below zero is an internal error and the transaction is not committed.
func moveOrderAggregates(tx *bolt.Tx, before, after *affiliate.Order) error {
	var deltas []aggDelta
	addDelta := func(o *affiliate.Order, sign int) {
		oc := o.Counts()
		if sign < 0 {
			oc = affiliate.OrderCounts{}.Sub(oc)
		}
		for _, a := range orderAggKeys(o) {
			merged := false
			for i := range deltas {
				if bytes.Equal(deltas[i].bucket, a.bucket) && bytes.Equal(deltas[i].key, a.key) {
					deltas[i].d.OrderCounts.Add(oc)
					merged = true
					break
				}
			}
			if !merged {
				a.d.OrderCounts = oc
				deltas = append(deltas, a)
			}
		}
	}
	if before != nil {
		addDelta(before, -1)
	}
	addDelta(after, +1)
	for _, a := range deltas {
		if a.d == (affiliate.Counts{}) {
			continue
		}
		b := tx.Bucket(a.bucket)
		sum, err := addCountsChecked(decodeCounts(b.Get(a.key)), a.d)
		if err != nil {
			return fmt.Errorf("%s %x: %w", a.bucket, a.key, err)
		}
		if err := b.Put(a.key, appendCounts(nil, sum)); err != nil {
			return err
		}
	}
	return nil
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
	results := make([]affiliate.OrderResult, len(reports))
	rs := make([]affiliate.OrderReport, len(reports))
	valid := make([]bool, len(reports))
	for i, r := range reports {
		results[i].Row = i + 1
		r.SellerID = sellerID
		rs[i] = r
		if err := affiliate.ValidateOrderReport(r, now); err != nil {
			results[i].Outcome, results[i].Err = affiliate.OutcomeRejected, err
			continue
		}
		valid[i] = true
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		for i, r := range rs {
			if !valid[i] {
				continue
			}
			o, changed, err := s.applyOrder(tx, r, now)
			switch {
			case isDomainError(err):
				results[i].Outcome, results[i].Err = affiliate.OutcomeRejected, err
			case err != nil:
				return fmt.Errorf("row %d: %w", i+1, err)
			case changed:
				results[i].Order, results[i].Outcome = o, affiliate.OutcomeImported
			default:
				results[i].Order, results[i].Outcome = o, affiliate.OutcomeUnchanged
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import orders: %w", err)
	}
	return results, nil
}

// GetOrder returns a seller's order or affiliate.ErrOrderNotFound.
func (s *Store) GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error) {
	return get(s, ctx, "get order", func(tx *bolt.Tx) (affiliate.Order, error) {
		var o affiliate.Order
		found, err := getJSON(tx.Bucket(bOrders), orderKey(sellerID, orderID), &o)
		if err != nil {
			return affiliate.Order{}, err
		}
		if !found {
			return affiliate.Order{}, affiliate.ErrOrderNotFound
		}
		return o, nil
	})
}

// SellerOrders returns up to limit of a seller's orders placed in [from, to), in time order, after the
// order (time, id) given by after (zero: from the start): a keyset page for exports. Zero from and to
// are open ends. Time order is by the whole second, then by order id, and after is compared the same
// way, so the cursor of the last order of a page continues exactly after it. A limit of 0 or less
// returns nothing.
func (s *Store) SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seller orders: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	prefix := idKey(sellerID)
	start := sellerOrderKey(sellerID, from, "")
	var cursor []byte
	if !after.At.IsZero() || after.OrderID != "" {
		cursor = sellerOrderKey(sellerID, after.At, after.OrderID)
		if bytes.Compare(cursor, start) < 0 {
			cursor = nil
		}
	}
	var out []affiliate.Order
	err := s.view(ctx, func(tx *bolt.Tx) error {
		orders := tx.Bucket(bOrders)
		c := tx.Bucket(bSellerOrders).Cursor()
		k, _ := c.Seek(start)
		if cursor != nil {
			if k, _ = c.Seek(cursor); bytes.Equal(k, cursor) {
				k, _ = c.Next()
			}
		}
		for ; hasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			if len(k) < 16 {
				continue
			}
			if !to.IsZero() && binary.BigEndian.Uint64(k[8:16]) > unixSeconds(to) {
				break
			}
			var o affiliate.Order
			found, err := getJSON(orders, orderKey(sellerID, string(k[16:])), &o)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("order %q of seller %d in index but missing", k[16:], sellerID)
			}
			if (!from.IsZero() && o.OccurredAt.Before(from)) || (!to.IsZero() && !o.OccurredAt.Before(to)) {
				continue
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seller orders: %w", err)
	}
	return out, nil
}

// AffiliateHours returns an affiliate's counts per unix hour in [from, to), oldest first, leaving out
// hours without activity: the series behind earnings charts and daily digests. Hours are whole, as in
// AffiliateCounts: an hour that overlaps the range is in it.
func (s *Store) AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error) {
	return get(s, ctx, "affiliate hours", func(tx *bolt.Tx) ([]affiliate.HourCounts, error) {
		lo, hi := hourRange(from, to)
		if lo >= hi {
			return nil, nil
		}
		prefix := idKey(affiliateID)
		seek := binary.BigEndian.AppendUint32(append([]byte(nil), prefix...), uint32(lo))
		var out []affiliate.HourCounts
		c := tx.Bucket(bAggAff).Cursor()
		for k, v := c.Seek(seek); hasPrefix(k, prefix) && len(k) == len(prefix)+hourLen; k, v = c.Next() {
			h := uint64(binary.BigEndian.Uint32(k[len(prefix):]))
			if h >= hi {
				break
			}
			counts := decodeCounts(v)
			if counts == (affiliate.Counts{}) {
				continue
			}
			out = append(out, affiliate.HourCounts{Hour: time.Unix(int64(h)*3600, 0).UTC(), Counts: counts})
		}
		return out, nil
	})
}

// ProductCounts sums a product's counts (clicks and orders of every affiliate) over [from, to); zero
// times mean all time (hour granularity, as AffiliateCounts). ErrProductNotFound for an unknown product.
func (s *Store) ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error) {
	return get(s, ctx, "product counts", func(tx *bolt.Tx) (affiliate.Counts, error) {
		if tx.Bucket(bProducts).Get(u64(productID)) == nil {
			return affiliate.Counts{}, affiliate.ErrProductNotFound
		}
		lo, hi := hourRange(from, to)
		return sumHours(tx.Bucket(bAggProduct), u64(productID), lo, hi), nil
	})
}

// SellerCounts sums a seller's counts (clicks and orders over all their products) over [from, to); zero
// times mean all time (hour granularity, as AffiliateCounts). An unknown seller has zero counts.
func (s *Store) SellerCounts(ctx context.Context, sellerID int64, from, to time.Time) (affiliate.Counts, error) {
	return get(s, ctx, "seller counts", func(tx *bolt.Tx) (affiliate.Counts, error) {
		lo, hi := hourRange(from, to)
		return sumHours(tx.Bucket(bAggSeller), idKey(sellerID), lo, hi), nil
	})
}

// migrateOrderBuckets is migration 4: it creates the order buckets and fills agg_product and agg_seller
// with the clicks already counted in agg_link (each link's product and seller), migrateChunk records a
// transaction; resume is the last agg_link key visited. The first chunk empties both aggregates, so that a
// run interrupted half way starts again from the beginning without counting twice; no order can be
// stored before the migration is done, so they hold nothing else.
func migrateOrderBuckets(tx *bolt.Tx, resume []byte) ([]byte, error) {
	if resume == nil {
		for _, name := range [][]byte{bAggProduct, bAggSeller} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return nil, err
				}
			}
		}
		for _, name := range [][]byte{bAggProduct, bAggSeller, bOrders, bSellerOrders} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return nil, err
			}
		}
	}
	aggLink, links := tx.Bucket(bAggLink), tx.Bucket(bLinks)
	if aggLink == nil || links == nil {
		return nil, nil
	}
	type owner struct {
		ProductID uint64 `json:"product_id"`
		SellerID  int64  `json:"seller_id"`
	}
	owners := make(map[string]owner)
	product := make(map[affHourKey]affiliate.Counts)
	seller := make(map[affHourKey]affiliate.Counts)
	c := aggLink.Cursor()
	k, v := c.First()
	if resume != nil {
		if k, v = c.Seek(resume); bytes.Equal(k, resume) {
			k, v = c.Next()
		}
	}
	var last []byte
	for visited := 0; k != nil && visited < migrateChunk; k, v = c.Next() {
		visited++
		last = k
		if len(k) != codeLen+hourLen {
			continue
		}
		code := string(k[:codeLen])
		o, ok := owners[code]
		if !ok {
			if _, err := getJSON(links, k[:codeLen], &o); err != nil {
				return nil, err
			}
			owners[code] = o
		}
		if o.ProductID == 0 {
			continue // no such link: nothing to attribute its counts to
		}
		hour := binary.BigEndian.Uint32(k[codeLen:])
		counts := decodeCounts(v)
		clicks := affiliate.Counts{Clicks: counts.Clicks, UniqueClicks: counts.UniqueClicks, BotVisits: counts.BotVisits}
		add(product, idHourKey(o.ProductID, hour), clicks)
		add(seller, idHourKey(uint64(o.SellerID), hour), clicks)
	}
	var next []byte
	if k != nil {
		next = bytes.Clone(last)
	}
	var a arena
	if err := applyCounts(&a, tx.Bucket(bAggProduct), product); err != nil {
		return nil, err
	}
	if err := applyCounts(&a, tx.Bucket(bAggSeller), seller); err != nil {
		return nil, err
	}
	return next, nil
}

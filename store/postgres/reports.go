package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
)

// Reports read the aggregates only, never clicks or orders: each sums the rows of an hour range, one
// index range per link, affiliate, product or seller, so its cost follows the hours read.

var (
	sqlLinkTotals = `SELECT EXISTS (SELECT 1 FROM links WHERE code = $1), ` + sumColumns + ` FROM link_totals WHERE code = $1`
	sqlLinkHours  = `SELECT EXISTS (SELECT 1 FROM links WHERE code = $1), ` + sumColumns +
		` FROM agg_link WHERE code = $1 AND hour >= $2 AND hour < $3`
	sqlAffiliateSum = `SELECT ` + sumColumns + ` FROM agg_affiliate WHERE affiliate_id = $1 AND hour >= $2 AND hour < $3`
	sqlSellerSum    = `SELECT ` + sumColumns + ` FROM agg_seller WHERE seller_id = $1 AND hour >= $2 AND hour < $3`
	sqlProductSum   = `SELECT EXISTS (SELECT 1 FROM products WHERE id = $1), ` + sumColumns +
		` FROM agg_product WHERE product_id = $1 AND hour >= $2 AND hour < $3`
	sqlAffiliateHours = `SELECT hour, ` + countColumns + ` FROM agg_affiliate
WHERE affiliate_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour`
	// sqlReport lists the links of the seller's products ($2 = 0: all of them), each with its affiliate's
	// record (NULL once erased), its product's name and its counts over the hours [$3, $4).
	sqlReport = `SELECT l.affiliate_id, u.doc, p.id, p.doc->>'name', l.code, s.*
FROM products p
JOIN links l ON l.product_id = p.id
LEFT JOIN users u ON u.id = l.affiliate_id
CROSS JOIN LATERAL (SELECT ` + sumColumns + ` FROM agg_link a WHERE a.code = l.code AND a.hour >= $3 AND a.hour < $4) s
WHERE p.seller_id = $1 AND ($2 = 0 OR p.id = $2)`
	sqlProductSeller = `SELECT seller_id FROM products WHERE id = $1`
	// sqlDigest reads an affiliate's digest in one statement, so on one snapshot and in one round trip:
	// the counts of the hours [$2, $3), and only when they hold a click or an order, those of the month's
	// hours [$4, $3) and, per link of the affiliate, its product, the link's counts of [$2, $3) and the
	// product's name and rate (NULL for a product that is gone). Without activity the month's counts are
	// zero and the one row has no link (NULL product, zero counts); OFFSET 0 keeps the links' subquery
	// whole, so that its condition on d is checked once, before any link is read, and not for every link.
	sqlDigest = `WITH d AS (SELECT ` + namedSums + ` FROM agg_affiliate WHERE affiliate_id = $1 AND hour >= $2 AND hour < $3)
SELECT d.*, m.*, k.product_id, ` + countsOfK + `, k.name, k.rate
FROM d
CROSS JOIN LATERAL (SELECT ` + sumColumns + ` FROM agg_affiliate
	WHERE (d.clicks > 0 OR d.orders > 0) AND affiliate_id = $1 AND hour >= $4 AND hour < $3) m
LEFT JOIN LATERAL (SELECT l.product_id, s.*, p.doc->>'name' AS name, (p.doc->>'rate_bp')::bigint AS rate
	FROM links l
	CROSS JOIN LATERAL (SELECT ` + namedSums + ` FROM agg_link a WHERE a.code = l.code AND a.hour >= $2 AND a.hour < $3) s
	LEFT JOIN products p ON p.id = l.product_id
	WHERE (d.clicks > 0 OR d.orders > 0) AND l.affiliate_id = $1 OFFSET 0) k ON true`
)

// namedSums is sumColumns with each sum named after its column.
var namedSums = func() string {
	cols := strings.Split(countColumns, ", ")
	for i, c := range cols {
		cols[i] = "coalesce(sum(" + c + "), 0)::bigint AS " + c
	}
	return strings.Join(cols, ", ")
}()

// countsOfK lists the count columns of the relation k, zero where k has no row.
var countsOfK = func() string {
	cols := strings.Split(countColumns, ", ")
	for i, c := range cols {
		cols[i] = "coalesce(k." + c + ", 0)"
	}
	return strings.Join(cols, ", ")
}()

// LinkCounts returns a link's counts for clicks and orders at or after from and before to (hour
// granularity: an hour that overlaps the range counts whole); zero times mean open ends, both zero all
// time (the link's totals). ErrLinkNotFound for unknown codes.
func (s *Store) LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error) {
	if !affiliate.ValidCode(code) {
		return affiliate.Counts{}, affiliate.ErrLinkNotFound
	}
	return read(s, ctx, "link counts", func(ctx context.Context) (affiliate.Counts, error) {
		var c affiliate.Counts
		var found bool
		var err error
		if from.IsZero() && to.IsZero() {
			err = s.pool.QueryRow(ctx, sqlLinkTotals, code).Scan(append([]any{&found}, countDest(&c)...)...)
		} else {
			lo, hi := hourRange(from, to)
			err = s.pool.QueryRow(ctx, sqlLinkHours, code, lo, hi).Scan(append([]any{&found}, countDest(&c)...)...)
		}
		if err == nil && !found {
			err = affiliate.ErrLinkNotFound
		}
		return c, err
	})
}

// sumHours sums the rows of one id in [from, to) with query (sqlAffiliateSum, sqlSellerSum).
func (s *Store) sumHours(ctx context.Context, what, query string, id int64, from, to time.Time) (affiliate.Counts, error) {
	return read(s, ctx, what, func(ctx context.Context) (affiliate.Counts, error) {
		lo, hi := hourRange(from, to)
		var c affiliate.Counts
		err := s.pool.QueryRow(ctx, query, id, lo, hi).Scan(countDest(&c)...)
		return c, err
	})
}

// AffiliateCounts returns an affiliate's counts over all their links in [from, to) (hour granularity).
func (s *Store) AffiliateCounts(ctx context.Context, affiliateID int64, from, to time.Time) (affiliate.Counts, error) {
	return s.sumHours(ctx, "affiliate counts", sqlAffiliateSum, affiliateID, from, to)
}

// SellerCounts sums a seller's counts (clicks and orders over all their products) over [from, to); zero
// times mean all time (hour granularity, as AffiliateCounts). An unknown seller has zero counts.
func (s *Store) SellerCounts(ctx context.Context, sellerID int64, from, to time.Time) (affiliate.Counts, error) {
	return s.sumHours(ctx, "seller counts", sqlSellerSum, sellerID, from, to)
}

// ProductCounts sums a product's counts (clicks and orders of every affiliate) over [from, to); zero
// times mean all time (hour granularity, as AffiliateCounts). ErrProductNotFound for an unknown product.
func (s *Store) ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error) {
	return read(s, ctx, "product counts", func(ctx context.Context) (affiliate.Counts, error) {
		lo, hi := hourRange(from, to)
		var c affiliate.Counts
		var found bool
		err := s.pool.QueryRow(ctx, sqlProductSum, int64(productID), lo, hi).Scan(append([]any{&found}, countDest(&c)...)...)
		if err == nil && !found {
			err = affiliate.ErrProductNotFound
		}
		return c, err
	})
}

// AffiliateHours returns an affiliate's counts per unix hour in [from, to), oldest first, leaving out
// hours without activity: the series behind earnings charts and daily digests. Hours are whole, as in
// AffiliateCounts: an hour that overlaps the range is in it.
func (s *Store) AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error) {
	return read(s, ctx, "affiliate hours", func(ctx context.Context) ([]affiliate.HourCounts, error) {
		lo, hi := hourRange(from, to)
		if lo >= hi {
			return nil, nil
		}
		rows, err := s.pool.Query(ctx, sqlAffiliateHours, affiliateID, lo, hi)
		if err != nil {
			return nil, err
		}
		var out []affiliate.HourCounts
		var h int64
		var c affiliate.Counts
		_, err = pgx.ForEachRow(rows, append([]any{&h}, countDest(&c)...), func() error {
			if c != (affiliate.Counts{}) {
				out = append(out, affiliate.HourCounts{Hour: time.Unix(h*3600, 0).UTC(), Counts: c})
			}
			return nil
		})
		return out, err
	})
}

// AffiliateReport lists per affiliate and product the seller's link activity in [from, to), best first
// (clicks, then unique clicks, then affiliate and product id); productID 0 means all of the seller's
// products. Every enrolled affiliate has a row, with zero counts when idle. AffiliateName is empty for
// an affiliate who deleted their data. ErrProductNotFound when productID is not the seller's.
func (s *Store) AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error) {
	return read(s, ctx, "affiliate report", func(ctx context.Context) ([]affiliate.ReportRow, error) {
		if productID != 0 {
			var owner int64
			err := s.pool.QueryRow(ctx, sqlProductSeller, int64(productID)).Scan(&owner)
			if err != nil {
				return nil, notFound(err, affiliate.ErrProductNotFound)
			}
			if owner != sellerID {
				return nil, affiliate.ErrProductNotFound
			}
		}
		lo, hi := hourRange(from, to)
		rows, err := s.pool.Query(ctx, sqlReport, sellerID, int64(productID), lo, hi)
		if err != nil {
			return nil, err
		}
		var out []affiliate.ReportRow
		var r affiliate.ReportRow
		var u *affiliate.User
		var pid int64
		_, err = pgx.ForEachRow(rows, append([]any{&r.AffiliateID, &u, &pid, &r.ProductName, &r.Code}, countDest(&r.Counts)...), func() error {
			r.ProductID, r.AffiliateName = uint64(pid), ""
			if u != nil {
				r.AffiliateName = u.DisplayName()
			}
			out = append(out, r)
			u = nil // a JSON doc scanned into *u would set only the fields it has
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(out, func(a, b affiliate.ReportRow) int {
			return cmp.Or(cmp.Compare(b.Clicks, a.Clicks), cmp.Compare(b.UniqueClicks, a.UniqueClicks),
				cmp.Compare(a.AffiliateID, b.AffiliateID), cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Code, b.Code))
		})
		return out, nil
	})
}

// AffiliateDigest reads, on one snapshot, what an affiliate's digest of [from, to) needs (hour
// granularity, as AffiliateCounts): the period's counts; when there was activity, also the month to
// date [monthFrom, to) and the best product of the period over the affiliate's links (by commission,
// then clicks, see affiliate.BetterProduct). It reads aggregates only, never clicks or orders: the
// hours of the period and of the month, and the period's hours of each of the affiliate's links. It is
// one statement (sqlDigest): a digest run makes one call per affiliate who is due.
func (s *Store) AffiliateDigest(ctx context.Context, affiliateID int64, from, to, monthFrom time.Time) (affiliate.DigestCounts, error) {
	return read(s, ctx, "affiliate digest", func(ctx context.Context) (affiliate.DigestCounts, error) {
		lo, hi := hourRange(from, to)
		mlo, _ := hourRange(monthFrom, to)
		rows, err := s.pool.Query(ctx, sqlDigest, affiliateID, lo, hi, mlo)
		if err != nil {
			return affiliate.DigestCounts{}, err
		}
		var (
			d, row affiliate.DigestCounts
			pid    *int64
			name   *string
			rate   *int64
			found  bool
			known  bool // the best product's row was there
			bname  string
			brate  int64
		)
		dest := append(append(countDest(&row.Day), countDest(&row.Month)...), &pid)
		dest = append(append(dest, countDest(&row.Best.Counts)...), &name, &rate)
		_, err = pgx.ForEachRow(rows, dest, func() error {
			d.Day, d.Month = row.Day, row.Month
			if pid == nil || (row.Best.Counts.Clicks == 0 && row.Best.Counts.Orders == 0) {
				return nil
			}
			cand := affiliate.BestProduct{ProductID: uint64(*pid), Counts: row.Best.Counts}
			if !found || affiliate.BetterProduct(cand, d.Best) < 0 {
				d.Best, found = cand, true
				known = name != nil && rate != nil
				if known {
					bname, brate = *name, *rate
				}
			}
			return nil
		})
		if err != nil {
			return affiliate.DigestCounts{}, err
		}
		if !d.Active() {
			return affiliate.DigestCounts{Day: d.Day}, nil
		}
		if found {
			if !known {
				return affiliate.DigestCounts{}, affiliate.ErrProductNotFound
			}
			d.Best.Name, d.Best.Rate = bname, affiliate.BasisPoints(brate)
		}
		return d, nil
	})
}

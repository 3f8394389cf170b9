package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// hourRange turns [from, to) into the half-open range of unix hours whose buckets hold its clicks:
// hours are whole, so a partial hour at either end counts whole. Zero times are open ends.
func hourRange(from, to time.Time) (lo, hi uint64) {
	lo, hi = 0, math.MaxUint32+1
	if !from.IsZero() {
		lo = uint64(hourOf(from))
	}
	if !to.IsZero() {
		hi = uint64(hourOf(to))
		if to.Unix() > 0 && (to.Unix()%3600 != 0 || to.Nanosecond() != 0) {
			hi++
		}
	}
	return lo, hi
}

// sumHours adds the counts of the hour buckets prefix+hour for lo ≤ hour < hi, by cursor seek.
func sumHours(b *bolt.Bucket, prefix []byte, lo, hi uint64) affiliate.Counts {
	var sum affiliate.Counts
	if lo >= hi {
		return sum
	}
	seek := binary.BigEndian.AppendUint32(append(make([]byte, 0, len(prefix)+hourLen), prefix...), uint32(lo))
	c := b.Cursor()
	for k, v := c.Seek(seek); hasPrefix(k, prefix) && len(k) == len(prefix)+hourLen; k, v = c.Next() {
		if uint64(binary.BigEndian.Uint32(k[len(prefix):])) >= hi {
			break
		}
		sum.Add(decodeCounts(v))
	}
	return sum
}

// LinkCounts returns a link's counts for clicks at or after from and before to (hour granularity: an
// hour that overlaps the range counts whole); zero times mean open ends, both zero all time.
// ErrLinkNotFound for unknown codes.
func (s *Store) LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error) {
	if !affiliate.ValidCode(code) {
		return affiliate.Counts{}, affiliate.ErrLinkNotFound
	}
	return get(s, ctx, "link counts", func(tx *bolt.Tx) (affiliate.Counts, error) {
		if tx.Bucket(bLinks).Get([]byte(code)) == nil {
			return affiliate.Counts{}, affiliate.ErrLinkNotFound
		}
		if from.IsZero() && to.IsZero() {
			return decodeCounts(tx.Bucket(bTotals).Get([]byte(code))), nil
		}
		lo, hi := hourRange(from, to)
		return sumHours(tx.Bucket(bAggLink), []byte(code), lo, hi), nil
	})
}

// AffiliateCounts returns an affiliate's counts over all their links in [from, to) (hour granularity).
func (s *Store) AffiliateCounts(ctx context.Context, affiliateID int64, from, to time.Time) (affiliate.Counts, error) {
	return get(s, ctx, "affiliate counts", func(tx *bolt.Tx) (affiliate.Counts, error) {
		lo, hi := hourRange(from, to)
		return sumHours(tx.Bucket(bAggAff), idKey(affiliateID), lo, hi), nil
	})
}

// AffiliateReport lists per affiliate and product the seller's link activity in [from, to), best first
// (clicks, then unique clicks, then affiliate and product id); productID 0 means all of the seller's
// products. Every enrolled affiliate has a row, with zero counts when idle. AffiliateName is empty for
// an affiliate who deleted their data. ErrProductNotFound when productID is not the seller's.
func (s *Store) AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error) {
	var rows []affiliate.ReportRow
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var products []affiliate.Product
		if productID != 0 {
			p, err := getProduct(tx, productID)
			if err != nil {
				return err
			}
			if p.SellerID != sellerID {
				return affiliate.ErrProductNotFound
			}
			products = []affiliate.Product{p}
		} else {
			var err error
			if products, err = sellerProducts(tx, sellerID); err != nil {
				return err
			}
		}
		lo, hi := hourRange(from, to)
		names := make(map[int64]string)
		agg, pl, links := tx.Bucket(bAggLink), tx.Bucket(bProductLinks), tx.Bucket(bLinks)
		for _, p := range products {
			prefix := u64(p.ID)
			c := pl.Cursor()
			for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
				code := k[8:]
				affID, err := linkAffiliate(links, code)
				if err != nil {
					return err
				}
				name, ok := names[affID]
				if !ok {
					if u, err := getUser(tx, affID); err == nil {
						name = u.DisplayName()
					}
					names[affID] = name
				}
				rows = append(rows, affiliate.ReportRow{
					AffiliateID:   affID,
					AffiliateName: name,
					ProductID:     p.ID,
					ProductName:   p.Name,
					Code:          string(code),
					Counts:        sumHours(agg, code, lo, hi),
				})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("affiliate report: %w", err)
	}
	slices.SortFunc(rows, func(a, b affiliate.ReportRow) int {
		if c := cmp.Compare(b.Clicks, a.Clicks); c != 0 {
			return c
		}
		if c := cmp.Compare(b.UniqueClicks, a.UniqueClicks); c != 0 {
			return c
		}
		if c := cmp.Compare(a.AffiliateID, b.AffiliateID); c != 0 {
			return c
		}
		return cmp.Compare(a.ProductID, b.ProductID)
	})
	return rows, nil
}

// linkAffiliate reads only the affiliate id of a link, without decoding the whole record.
func linkAffiliate(links *bolt.Bucket, code []byte) (int64, error) {
	var l struct {
		AffiliateID int64 `json:"affiliate_id"`
	}
	found, err := getJSON(links, code, &l)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("link %s in index but missing", code)
	}
	return l.AffiliateID, nil
}

package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// Count records (the values of agg_link, agg_affiliate and totals) are versioned so that new tallies
// arrive by adding fields, not by rewriting every record:
//
//	[0]  format, countsFormat (1)
//	[1:] the fields as unsigned varints, in this order: clicks, unique clicks, bot visits, orders, GMV,
//	     refunded, commission pending, commission settled, commission reversed (money in whole rupiah)
//
// A reader takes the fields it knows and treats missing ones as zero, and skips fields after those it
// knows; so appendCounts leaves out trailing zero fields, and a field is only ever added at the end.
// Schema 1 kept three big-endian uint64 (24 bytes, first byte 0); migration 2 rewrote them. The six order
// fields came later and need no rewrite: a record without them reads as zero orders.
//
// Stored fields are never negative. Order changes move aggregates by signed deltas (a refund lowers the
// pending commission), so they are applied with addCountsChecked, which refuses a result below zero
// instead of letting it wrap to a huge unsigned number.
const countsFormat = 1

// maxCountsLen bounds the size of a count record this binary writes.
const maxCountsLen = 1 + countFields*binary.MaxVarintLen64

// countFields is the number of fields this binary knows.
const countFields = 9

// countValues lists c's fields in record order.
func countValues(c affiliate.Counts) [countFields]uint64 {
	return [countFields]uint64{uint64(c.Clicks), uint64(c.UniqueClicks), uint64(c.BotVisits),
		uint64(c.Orders), uint64(c.GMV), uint64(c.Refunded),
		uint64(c.CommissionPending), uint64(c.CommissionSettled), uint64(c.CommissionReversed)}
}

// countsFrom is the inverse of countValues.
func countsFrom(v [countFields]uint64) affiliate.Counts {
	return affiliate.Counts{
		Clicks: int64(v[0]), UniqueClicks: int64(v[1]), BotVisits: int64(v[2]),
		OrderCounts: affiliate.OrderCounts{
			Orders: int64(v[3]), GMV: affiliate.Rupiah(v[4]), Refunded: affiliate.Rupiah(v[5]),
			CommissionPending: affiliate.Rupiah(v[6]), CommissionSettled: affiliate.Rupiah(v[7]),
			CommissionReversed: affiliate.Rupiah(v[8]),
		},
	}
}

// errCountBelowZero is the internal error of a delta that would take a stored count below zero (or past
// the int64 range): aggregates out of step with the orders they sum, which must never be written.
var errCountBelowZero = errors.New("count record would leave its range")

// addCountsChecked returns sum + d field by field, or errCountBelowZero when any field of the result
// would be negative or overflow. Deltas may be negative; stored values never are.
func addCountsChecked(sum, d affiliate.Counts) (affiliate.Counts, error) {
	a, b := countValues(sum), countValues(d)
	var out [countFields]uint64
	for i := range a {
		x, y := int64(a[i]), int64(b[i])
		if x < 0 {
			return sum, fmt.Errorf("%w: field %d is %d", errCountBelowZero, i, x)
		}
		r := x + y
		if (y > 0 && r < x) || (y < 0 && r > x) || r < 0 {
			return sum, fmt.Errorf("%w: field %d, %d%+d", errCountBelowZero, i, x, y)
		}
		out[i] = uint64(r)
	}
	return countsFrom(out), nil
}

// appendCounts appends the count record of c to dst.
func appendCounts(dst []byte, c affiliate.Counts) []byte {
	vals := countValues(c)
	n := len(vals)
	for n > 0 && vals[n-1] == 0 {
		n--
	}
	dst = append(dst, countsFormat)
	for _, v := range vals[:n] {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

// decodeCounts reads a count record. An empty or unreadable record reads as zero counts; a record cut
// short inside a field keeps the fields before it.
func decodeCounts(v []byte) affiliate.Counts {
	var vals [countFields]uint64
	if len(v) == 0 || v[0] != countsFormat {
		return affiliate.Counts{}
	}
	v = v[1:]
	for i := range vals {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			break
		}
		vals[i], v = x, v[n:]
	}
	return countsFrom(vals)
}

// schema1CountsLen is the size of a schema-1 count record: clicks, unique, bots as big-endian uint64.
const schema1CountsLen = 24

// isSchema1Counts reports whether v is a schema-1 count record. Its first byte is the top byte of a
// click count, which never reaches 2^56, so it is 0 and cannot be mistaken for a format byte.
func isSchema1Counts(v []byte) bool { return len(v) == schema1CountsLen && v[0] == 0 }

func decodeSchema1Counts(v []byte) affiliate.Counts {
	return affiliate.Counts{
		Clicks:       int64(binary.BigEndian.Uint64(v)),
		UniqueClicks: int64(binary.BigEndian.Uint64(v[8:])),
		BotVisits:    int64(binary.BigEndian.Uint64(v[16:])),
	}
}

// countBuckets are the buckets whose values are count records.
var countBuckets = [][]byte{bAggLink, bAggAff, bTotals}

// migrateChunk is how many records one chunk of a migration visits.
var migrateChunk = 10_000

// migrateCountRecords is migration 2: it rewrites the schema-1 count records into the versioned format,
// migrateChunk records a transaction. resume is the bucket's index in countBuckets and the last key
// visited. Records already in the new format are left alone, so a run that was interrupted can start
// again from the beginning.
func migrateCountRecords(tx *bolt.Tx, resume []byte) ([]byte, error) {
	bi, after := 0, []byte(nil)
	if len(resume) > 0 {
		bi, after = int(resume[0]), resume[1:]
	}
	visited := 0
	for ; bi < len(countBuckets); bi, after = bi+1, nil {
		b := tx.Bucket(countBuckets[bi])
		if b == nil {
			continue
		}
		// bbolt cursors must not be used across writes, so a chunk collects its rewrites first.
		var keys, vals [][]byte
		c := b.Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; k != nil && visited < migrateChunk; k, v = c.Next() {
			visited++
			last = k
			if isSchema1Counts(v) {
				keys = append(keys, bytes.Clone(k))
				vals = append(vals, appendCounts(nil, decodeSchema1Counts(v)))
			}
		}
		var next []byte
		if k != nil {
			next = append([]byte{byte(bi)}, last...)
		}
		for i := range keys {
			if err := b.Put(keys[i], vals[i]); err != nil {
				return nil, err
			}
		}
		if next != nil {
			return next, nil
		}
	}
	return nil, nil
}

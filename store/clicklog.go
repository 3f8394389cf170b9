package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// The click log holds records of many clicks each: RecordClicks writes a batch as one record (records of
// up to recordMaxClicks), keyed by the smallest click id in it, with its clicks sorted by id. Writing a
// batch of thousands of clicks is then a few Puts instead of thousands.
//
// Records never overlap: every logged id lies between its record's key and its record's largest id, and
// no other record's key falls in that range. So the record that may hold an id is the one with the
// largest key at or below it (Seek, then Prev), and ids above the log's largest id cannot be in it.
// Clicks whose ids fall inside an existing record's range (ids that are not time-ordered) are merged into
// that record (split in halves when it would grow past recordMaxClicks); clicks that fall between
// records get a record of their own.
//
// Record layout (binary; integers are unsigned or zig-zag signed varints unless marked):
//
//	[0]     format, clickRecFormat
//	[1:9]   the latest click time in the record, unix ns (big-endian int64); PruneClicks reads only this
//	count   number of clicks
//	nlinks  number of distinct links, then per link: code length, code, product id, affiliate id (signed),
//	        seller id (signed)
//	clicks  in id order, each: length of the prefix shared with the previous id, length of the rest, the
//	        rest of the id; link index << 2 | flags (1 unique, 2 bot); click time minus the previous
//	        click's (signed; the first is the time itself); visitor (8 bytes, big-endian)
//
// A record carries its links' product, affiliate and seller, so a click can be read without the links
// bucket and as it was when it was recorded.
const (
	// recordMaxClicks bounds a record, so that reading one (GetClick, the repeated-id check) and
	// rewriting one (clicks whose ids fall inside it) stay cheap even when ids are not time-ordered: a
	// batch is written as records of at most this many clicks, and a record that would grow past it is
	// split in halves.
	recordMaxClicks   = 1024
	clickRecFormat    = 2
	clickRecHeaderLen = 9
	// clickRecFormat1 is the format of schema 1 and 2: one record per click (see decodeClick1).
	clickRecFormat1 = 1
)

// recLink is one entry of a record's link table.
type recLink struct {
	code        string
	productID   uint64
	affiliateID int64
	sellerID    int64
}

// recEncoder builds click-log records; its buffers are reused from record to record.
type recEncoder struct {
	buf    []byte
	prevID []byte
	links  []recLink
	linkAt map[string]int
}

// encode returns a record of clicks, which must be sorted by id with no id twice. The result is valid
// until the next call.
func (e *recEncoder) encode(clicks []*affiliate.Click) []byte {
	e.resetLinks()
	e.addLinks(clicks)
	b := e.header(e.buf[:0], latestOf(clicks, 0), len(clicks))
	b = e.appendClicks(b, clicks, "", 0)
	e.buf = b
	return b
}

// merge returns record v with clicks added (sorted by id, none in v). The encoded clicks of v below the
// first added id are copied as they are, so adding to the end of a large record costs little more than
// the copy. The result is valid until the next call.
func (e *recEncoder) merge(v []byte, clicks []*affiliate.Click) ([]byte, error) {
	n, latest, err := clickRecHeader(v)
	if err != nil {
		return nil, err
	}
	r := newRecReader(v)
	e.resetLinks()
	for i, l := range r.links {
		e.links = append(e.links, l)
		e.linkAt[l.code] = i
	}
	e.addLinks(clicks)
	start := len(v) - len(r.v) // the first click
	split := len(v)
	var rest []affiliate.Click
	prevAt := int64(0)
	e.prevID = e.prevID[:0]
	for {
		off := len(v) - len(r.v)
		if !r.next() {
			break
		}
		if string(r.id) > clicks[0].ID {
			split = off
			rest = append(rest, r.click())
			for r.next() {
				rest = append(rest, r.click())
			}
			break
		}
		e.prevID, prevAt = append(e.prevID[:0], r.id...), r.at
	}
	if r.err != nil {
		return nil, r.err
	}
	tail := make([]*affiliate.Click, 0, len(rest)+len(clicks))
	for i := range rest {
		tail = append(tail, &rest[i])
	}
	tail = append(tail, clicks...)
	sortByID(tail)
	b := e.header(e.buf[:0], latestOf(clicks, latest), n+len(clicks))
	b = append(b, v[start:split]...)
	b = e.appendClicks(b, tail, string(e.prevID), prevAt)
	e.buf = b
	return b, nil
}

func (e *recEncoder) resetLinks() {
	if e.linkAt == nil {
		e.linkAt = make(map[string]int)
	}
	e.links = e.links[:0]
	clear(e.linkAt)
}

// addLinks adds the links of clicks that are not in the table yet.
func (e *recEncoder) addLinks(clicks []*affiliate.Click) {
	for _, c := range clicks {
		if _, ok := e.linkAt[c.Code]; !ok {
			e.linkAt[c.Code] = len(e.links)
			e.links = append(e.links, recLink{c.Code, c.ProductID, c.AffiliateID, c.SellerID})
		}
	}
}

// latestOf is the latest click time of clicks, or latest when that is later.
func latestOf(clicks []*affiliate.Click, latest int64) int64 {
	for i, c := range clicks {
		if at := c.At.UnixNano(); i == 0 && latest == 0 || at > latest {
			latest = at
		}
	}
	return latest
}

// header appends a record's header and link table.
func (e *recEncoder) header(b []byte, latest int64, n int) []byte {
	b = append(b, clickRecFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(latest))
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.AppendUvarint(b, uint64(len(e.links)))
	for _, l := range e.links {
		b = binary.AppendUvarint(b, uint64(len(l.code)))
		b = append(b, l.code...)
		b = binary.AppendUvarint(b, l.productID)
		b = binary.AppendVarint(b, l.affiliateID)
		b = binary.AppendVarint(b, l.sellerID)
	}
	return b
}

// appendClicks appends clicks, each after the one before, the first after a click with prevID and
// prevAt ("" and 0 at the start of a record).
func (e *recEncoder) appendClicks(b []byte, clicks []*affiliate.Click, prevID string, prevAt int64) []byte {
	for _, c := range clicks {
		shared := 0
		for shared < len(prevID) && shared < len(c.ID) && prevID[shared] == c.ID[shared] {
			shared++
		}
		b = binary.AppendUvarint(b, uint64(shared))
		b = binary.AppendUvarint(b, uint64(len(c.ID)-shared))
		b = append(b, c.ID[shared:]...)
		flags := uint64(0)
		if c.Unique {
			flags |= 1
		}
		if c.Bot {
			flags |= 2
		}
		b = binary.AppendUvarint(b, uint64(e.linkAt[c.Code])<<2|flags)
		at := c.At.UnixNano()
		b = binary.AppendVarint(b, at-prevAt)
		b = binary.BigEndian.AppendUint64(b, c.Visitor)
		prevID, prevAt = c.ID, at
	}
	return b
}

var errBadClickRecord = errors.New("bad click record")

// recReader reads the clicks of a record in id order.
type recReader struct {
	v     []byte
	left  int
	links []recLink
	id    []byte // the current click's id, valid until the next call to next
	link  int
	flags uint64
	at    int64
	vis   uint64
	err   error
	// started and valid are seek's position: whether next was called, and whether it found a click.
	started, valid bool
}

// clickRecCount returns the number of clicks and the latest click time of a record.
func clickRecHeader(v []byte) (n int, latest int64, err error) {
	if len(v) < clickRecHeaderLen || v[0] != clickRecFormat {
		return 0, 0, errBadClickRecord
	}
	c, k := binary.Uvarint(v[clickRecHeaderLen:])
	if k <= 0 {
		return 0, 0, errBadClickRecord
	}
	return int(c), int64(binary.BigEndian.Uint64(v[1:])), nil
}

func newRecReader(v []byte) *recReader {
	r := &recReader{}
	n, _, err := clickRecHeader(v)
	if err != nil {
		r.err = err
		return r
	}
	r.v, r.left = v[clickRecHeaderLen:], n
	r.uvarint() // count
	nlinks := r.uvarint()
	for range nlinks {
		if r.err != nil {
			break
		}
		var l recLink
		l.code = string(r.bytes(int(r.uvarint())))
		l.productID = r.uvarint()
		l.affiliateID = r.varint()
		l.sellerID = r.varint()
		r.links = append(r.links, l)
	}
	return r
}

func (r *recReader) uvarint() uint64 {
	x, k := binary.Uvarint(r.v)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.v = r.v[k:]
	return x
}

func (r *recReader) varint() int64 {
	x, k := binary.Varint(r.v)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.v = r.v[k:]
	return x
}

func (r *recReader) bytes(n int) []byte {
	if n < 0 || n > len(r.v) {
		r.fail()
		return nil
	}
	b := r.v[:n]
	r.v = r.v[n:]
	return b
}

func (r *recReader) fail() {
	if r.err == nil {
		r.err = errBadClickRecord
	}
	r.v, r.left = nil, 0
}

// next moves to the next click; it returns false at the end of the record or on a malformed one (see
// err).
func (r *recReader) next() bool {
	if r.left <= 0 || r.err != nil {
		return false
	}
	r.left--
	shared := int(r.uvarint())
	rest := r.bytes(int(r.uvarint()))
	if shared > len(r.id) {
		r.fail()
		return false
	}
	r.id = append(r.id[:shared], rest...)
	lf := r.uvarint()
	r.link, r.flags = int(lf>>2), lf&3
	r.at += r.varint()
	if v := r.bytes(8); v != nil {
		r.vis = binary.BigEndian.Uint64(v)
	}
	if r.link >= len(r.links) {
		r.fail()
	}
	return r.err == nil
}

// click is the current click.
func (r *recReader) click() affiliate.Click {
	l := r.links[r.link]
	return affiliate.Click{
		ID:          string(r.id),
		Code:        l.code,
		ProductID:   l.productID,
		AffiliateID: l.affiliateID,
		SellerID:    l.sellerID,
		At:          time.Unix(0, r.at).UTC(),
		Visitor:     r.vis,
		Unique:      r.flags&1 != 0,
		Bot:         r.flags&2 != 0,
	}
}

// seek moves to the first click whose id is id or above and reports whether it is id. Ids given to
// successive calls must not decrease.
func (r *recReader) seek(id string) bool {
	if !r.started {
		r.started, r.valid = true, r.next()
	}
	for r.valid && string(r.id) < id {
		r.valid = r.next()
	}
	return r.valid && string(r.id) == id
}

// findInRecord looks for id in record v and returns the click when it is there.
func findInRecord(v []byte, id string) (affiliate.Click, bool, error) {
	r := newRecReader(v)
	if r.seek(id) {
		return r.click(), true, nil
	}
	return affiliate.Click{}, false, r.err
}

// recordClicks decodes every click of record v.
func recordClicks(v []byte) ([]affiliate.Click, error) {
	r := newRecReader(v)
	var out []affiliate.Click
	for r.next() {
		out = append(out, r.click())
	}
	return out, r.err
}

// lastIDOf returns the largest id in record v.
func lastIDOf(v []byte) ([]byte, error) {
	r := newRecReader(v)
	for r.next() {
	}
	return r.id, r.err
}

// recordFor returns the record that may hold id: the one with the largest key at or below id, or nil.
func recordFor(c *bolt.Cursor, id []byte) (k, v []byte) {
	k, v = c.Seek(id)
	if k != nil && bytes.Equal(k, id) {
		return k, v
	}
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// lookupClick returns the logged click with id from the click log.
func lookupClick(log *bolt.Bucket, id string) (affiliate.Click, bool, error) {
	_, v := recordFor(log.Cursor(), []byte(id))
	if v == nil {
		return affiliate.Click{}, false, nil
	}
	return findInRecord(v, id)
}

// decodeClick1 reads a click record of format 1 (schema 1 and 2: one record per click, keyed by id):
//
//	[0] format 1, [1] flags (1 unique, 2 bot), [2:10] at (unix ns), [10:18] visitor,
//	[18:26] product id, [26:34] affiliate id, [34:42] seller id, [42:] link code
func decodeClick1(id string, v []byte) (affiliate.Click, error) {
	const recLen = 42
	if len(v) < recLen || v[0] != clickRecFormat1 {
		return affiliate.Click{}, fmt.Errorf("decode click %q: bad record", id)
	}
	return affiliate.Click{
		ID:          id,
		Code:        string(v[recLen:]),
		ProductID:   binary.BigEndian.Uint64(v[18:]),
		AffiliateID: int64(binary.BigEndian.Uint64(v[26:])),
		SellerID:    int64(binary.BigEndian.Uint64(v[34:])),
		At:          time.Unix(0, int64(binary.BigEndian.Uint64(v[2:]))).UTC(),
		Visitor:     binary.BigEndian.Uint64(v[10:]),
		Unique:      v[1]&1 != 0,
		Bot:         v[1]&2 != 0,
	}, nil
}

// migrateClickRecords is migration 3: it turns the one-record-per-click log of schema 2 into records of
// many clicks, up to migrateChunk old records per transaction. Old records that follow each other in
// key order become records of up to recordMaxClicks, each keyed by its first, so the new records do not
// overlap. Records already in the new format are skipped, so a run that was interrupted can start again
// from the beginning. resume is the key to go on from.
func migrateClickRecords(tx *bolt.Tx, resume []byte) ([]byte, error) {
	b := tx.Bucket(bClicks)
	if b == nil {
		return nil, nil
	}
	c := b.Cursor()
	k, v := c.First()
	if resume != nil {
		k, v = c.Seek(resume)
	}
	var keys [][]byte
	var clicks []affiliate.Click
	for visited := 0; k != nil && visited < migrateChunk; k, v = c.Next() {
		visited++
		if len(v) > 0 && v[0] == clickRecFormat {
			if len(keys) > 0 {
				break
			}
			continue
		}
		cl, err := decodeClick1(string(k), v)
		if err != nil {
			return nil, err
		}
		keys = append(keys, bytes.Clone(k))
		clicks = append(clicks, cl)
	}
	var next []byte
	if k != nil {
		next = bytes.Clone(k)
	}
	if len(keys) > 0 {
		// The old keys are in byte order, and so are the ids.
		ptrs := make([]*affiliate.Click, len(clicks))
		for i := range clicks {
			ptrs[i] = &clicks[i]
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return nil, err
			}
		}
		b.FillPercent = clickLogFillPercent
		var e recEncoder
		for len(ptrs) > 0 {
			n := min(len(ptrs), recordMaxClicks)
			if err := b.Put([]byte(ptrs[0].ID), bytes.Clone(e.encode(ptrs[:n]))); err != nil {
				return nil, err
			}
			ptrs = ptrs[n:]
		}
	}
	return next, nil
}

// sortByID sorts clicks by id.
func sortByID(clicks []*affiliate.Click) {
	if !slices.IsSortedFunc(clicks, cmpID) {
		slices.SortFunc(clicks, cmpID)
	}
}

func cmpID(x, y *affiliate.Click) int { return strings.Compare(x.ID, y.ID) }

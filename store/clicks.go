package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

const (
	codeLen = affiliate.LinkCodeLen
	hourLen = 4
	// The ids the store makes up for clicks that come without one have the redirect's layout
	// (affiliate.ClickIDLen): a time prefix, then random characters.
	clickIDLen     = affiliate.ClickIDLen
	clickIDTimeLen = affiliate.ClickIDTimeLen
	// clickLogFillPercent is how full bbolt packs the pages of the click log when it splits them. Record
	// keys begin with their first click's time, so the log grows at its end and a page, once full, is
	// rarely touched again: near-full pages keep the file small.
	clickLogFillPercent = 0.95
)

type (
	linkHourKey [codeLen + hourLen]byte
	affHourKey  [8 + hourLen]byte
	codeKey     [codeLen]byte
	visitorKey  [codeLen + 8]byte
)

// visitorMark is one (link, visitor) pair of a batch: when its last click before the batch was (as
// stored, 0 for none) and the latest click seen so far, stored or in the batch.
type visitorMark struct {
	key    visitorKey
	stored int64
	last   int64
}

// clickGroup is what a batch's clicks are counted by before the aggregates are written: one link, its
// affiliate and one hour. The per-link, per-affiliate and total aggregates are sums over groups.
type clickGroup struct {
	code    codeKey
	hour    uint32
	aff     int64
	product uint64
	seller  int64
}

// clickBuffers are reused by RecordClicks from batch to batch (guarded by Store.clickMu).
type clickBuffers struct {
	arena   arena
	scratch []byte // a key for bbolt calls that copy or only read it
	enc     recEncoder
	ptrs    []*affiliate.Click // the clicks to log, sorted by id
	// lastKey and lastID are the key and the largest id of the log's last record, as far as known:
	// valid while lastOK and the last record's key is still lastKey. newKey and newID are what they
	// become when the batch commits.
	lastKey, lastID []byte
	lastOK          bool
	newKey, newID   []byte
	logged          []bool              // per click of the batch: to be logged (not a bot visit, not a repeated id)
	order           []int32             // the batch's indexes in time order
	ids             map[string]struct{} // the ids of the batch seen so far
	marks           []visitorMark
	markAt          map[visitorKey]int32
	groups          map[clickGroup]affiliate.Counts
	link            map[linkHourKey]affiliate.Counts
	aff             map[affHourKey]affiliate.Counts
	totals          map[codeKey]affiliate.Counts
	product         map[affHourKey]affiliate.Counts // product id + hour
	seller          map[affHourKey]affiliate.Counts // seller id + hour
}

func (b *clickBuffers) init() {
	if b.markAt == nil {
		b.ids = make(map[string]struct{})
		b.markAt = make(map[visitorKey]int32)
		b.groups = make(map[clickGroup]affiliate.Counts)
		b.link = make(map[linkHourKey]affiliate.Counts)
		b.aff = make(map[affHourKey]affiliate.Counts)
		b.totals = make(map[codeKey]affiliate.Counts)
		b.product = make(map[affHourKey]affiliate.Counts)
		b.seller = make(map[affHourKey]affiliate.Counts)
	}
}

func (b *clickBuffers) reset() {
	b.arena.reset()
	b.newKey, b.newID = b.newKey[:0], b.newID[:0]
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	b.logged = b.logged[:0]
	b.order = b.order[:0]
	b.marks = b.marks[:0]
	clear(b.ids)
	clear(b.markAt)
	clear(b.groups)
	clear(b.link)
	clear(b.aff)
	clear(b.totals)
	clear(b.product)
	clear(b.seller)
}

// arena hands out byte slices for bbolt values. bbolt requires a value given to Put to stay untouched
// until the transaction ends, so slices are never reused within a batch; reset after commit. (Put copies
// keys, so keys need no arena.)
type arena struct{ buf []byte }

func (a *arena) alloc(n int) []byte {
	if len(a.buf)+n > cap(a.buf) {
		// Older slices keep the previous block alive until the transaction is over.
		a.buf = make([]byte, 0, max(2*cap(a.buf), n, 64<<10))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

func (a *arena) reset() { a.buf = a.buf[:0] }

// hourOf is the unix hour of t (0 for times before 1970).
func hourOf(t time.Time) uint32 {
	if s := t.Unix(); s > 0 {
		return uint32(s / 3600)
	}
	return 0
}

// addCounts adds c to the counts stored at k. Put copies k; the value comes from the arena.
func (a *arena) addCounts(b *bolt.Bucket, k []byte, c affiliate.Counts) error {
	sum := decodeCounts(b.Get(k))
	sum.Add(c)
	var buf [maxCountsLen]byte
	rec := appendCounts(buf[:0], sum)
	v := a.alloc(len(rec))
	copy(v, rec)
	return b.Put(k, v)
}

// RecordClicks writes a batch of clicks in one transaction: decides Unique per (code, visitor) over
// affiliate.UniqueWindow, appends to the click log and adds to the hourly aggregates per link, affiliate,
// product and seller (the click's ProductID and SellerID) and to the running totals. Bot visits are counted apart (BotVisits only, not logged).
// Returns the clicks as stored, in input order.
//
// Clicks may come in any order: within a batch they are judged in time order (see the package
// documentation for the rule across batches). Every click must carry a valid link code (the whole batch
// is refused otherwise); a click without an id gets one; a click whose id is already logged is skipped
// (Unique false), so a retried batch does not count twice. It is meant for one background writer;
// concurrent calls are serialized.
//
// The batch is written bucket by bucket: the click log (one record for the batch at the log's end, since
// ids are time-ordered; see clicklog.go), the visitor marks once per (link, visitor) with the latest click and in key order, and each
// aggregate once per key with the batch's sum.
func (s *Store) RecordClicks(ctx context.Context, clicks []affiliate.Click) ([]affiliate.Click, error) {
	out, err := affiliate.PrepareClicks(clicks, &s.rand)
	if err != nil {
		return nil, fmt.Errorf("record clicks: %w", err)
	}

	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	b := &s.cb
	b.init()
	defer b.reset()
	if err := s.update(ctx, func(tx *bolt.Tx) error { return b.record(tx, out) }); err != nil {
		b.lastOK = false
		return nil, fmt.Errorf("record clicks: %w", err)
	}
	if len(b.newKey) > 0 {
		b.lastKey = append(b.lastKey[:0], b.newKey...)
		b.lastID = append(b.lastID[:0], b.newID...)
	}
	return out, nil
}

// record is RecordClicks inside its transaction. It sets Unique on out.
func (b *clickBuffers) record(tx *bolt.Tx, out []affiliate.Click) error {
	log := tx.Bucket(bClicks)
	log.FillPercent = clickLogFillPercent
	if err := b.findNew(log, out); err != nil {
		return err
	}

	// Uniqueness in time order, and the counts per group.
	visitors := tx.Bucket(bVisitors)
	vc := visitors.Cursor()
	var nClicks, nBots uint64
	for _, i := range b.timeOrder(out) {
		c := &out[i]
		var d affiliate.Counts
		if c.Bot {
			d.BotVisits = 1
			nBots++
		} else {
			if !b.logged[i] {
				continue
			}
			var vk visitorKey
			copy(vk[:], c.Code)
			binary.BigEndian.PutUint64(vk[codeLen:], c.Visitor)
			m, ok := b.markAt[vk]
			if !ok {
				var stored int64
				if k, v := vc.Seek(vk[:]); string(k) == string(vk[:]) && len(v) == 8 {
					stored = int64(binary.BigEndian.Uint64(v))
				}
				m = int32(len(b.marks))
				b.marks = append(b.marks, visitorMark{key: vk, stored: stored, last: stored})
				b.markAt[vk] = m
			}
			mark := &b.marks[m]
			at := c.At.UnixNano()
			c.Unique = mark.last == 0 || affiliate.IsUnique(time.Unix(0, mark.last), c.At)
			mark.last = max(mark.last, at)
			d.Clicks = 1
			if c.Unique {
				d.UniqueClicks = 1
			}
			nClicks++
		}
		g := clickGroup{hour: hourOf(c.At), aff: c.AffiliateID, product: c.ProductID, seller: c.SellerID}
		copy(g.code[:], c.Code)
		add(b.groups, g, d)
	}

	if err := b.writeLog(log, out); err != nil {
		return err
	}

	// The visitor marks that moved, by key.
	slices.SortFunc(b.marks, func(x, y visitorMark) int { return bytes.Compare(x.key[:], y.key[:]) })
	for i := range b.marks {
		m := &b.marks[i]
		if m.last <= m.stored {
			continue
		}
		v := b.arena.alloc(8)
		binary.BigEndian.PutUint64(v, uint64(m.last))
		if err := visitors.Put(m.key[:], v); err != nil {
			return err
		}
	}

	// The aggregates.
	for g, d := range b.groups {
		var lk linkHourKey
		copy(lk[:], g.code[:])
		binary.BigEndian.PutUint32(lk[codeLen:], g.hour)
		var ak affHourKey
		binary.BigEndian.PutUint64(ak[:], uint64(g.aff))
		binary.BigEndian.PutUint32(ak[8:], g.hour)
		add(b.link, lk, d)
		add(b.aff, ak, d)
		add(b.totals, g.code, d)
		add(b.product, idHourKey(g.product, g.hour), d)
		add(b.seller, idHourKey(uint64(g.seller), g.hour), d)
	}
	if err := applyCounts(&b.arena, tx.Bucket(bAggLink), b.link); err != nil {
		return err
	}
	if err := applyCounts(&b.arena, tx.Bucket(bAggAff), b.aff); err != nil {
		return err
	}
	if err := applyCounts(&b.arena, tx.Bucket(bTotals), b.totals); err != nil {
		return err
	}
	if err := applyCounts(&b.arena, tx.Bucket(bAggProduct), b.product); err != nil {
		return err
	}
	if err := applyCounts(&b.arena, tx.Bucket(bAggSeller), b.seller); err != nil {
		return err
	}
	meta := tx.Bucket(bMeta)
	if err := addU64(meta, kNClicks, nClicks); err != nil {
		return err
	}
	return addU64(meta, kNBots, nBots)
}

// timeOrder returns the indexes of out in time order (input order among equal times). Batches from the
// redirect come in time order already, which costs one pass to check.
func (b *clickBuffers) timeOrder(out []affiliate.Click) []int32 {
	b.order = slices.Grow(b.order[:0], len(out))
	for i := range out {
		b.order = append(b.order, int32(i))
	}
	if !slices.IsSortedFunc(out, func(x, y affiliate.Click) int { return x.At.Compare(y.At) }) {
		slices.SortStableFunc(b.order, func(x, y int32) int { return out[x].At.Compare(out[y].At) })
	}
	return b.order
}

// findNew marks in b.logged the clicks of out to log: not bot visits, and not a repeat of an id that is
// logged already or that came earlier in the batch. An id above the largest one in the log cannot be
// there, so with time-ordered ids the log is rarely searched.
func (b *clickBuffers) findNew(log *bolt.Bucket, out []affiliate.Click) error {
	b.logged = slices.Grow(b.logged[:0], len(out))[:len(out)]
	clear(b.logged)
	cur := log.Cursor()
	if err := b.loadLastID(cur); err != nil {
		return err
	}
	// Ids at or below the largest one logged are looked up in id order, so that each record is read
	// once however many of them it may hold.
	b.order = b.order[:0]
	for i := range out {
		c := &out[i]
		if c.Bot {
			continue
		}
		if _, dup := b.ids[c.ID]; dup {
			continue
		}
		b.ids[c.ID] = struct{}{}
		if c.ID <= string(b.lastID) {
			b.order = append(b.order, int32(i))
			continue
		}
		b.logged[i] = true
	}
	slices.SortFunc(b.order, func(x, y int32) int { return strings.Compare(out[x].ID, out[y].ID) })
	var r *recReader
	var rk []byte
	for _, i := range b.order {
		id := out[i].ID
		b.scratch = append(b.scratch[:0], id...)
		k, v := recordFor(cur, b.scratch)
		if k == nil {
			b.logged[i] = true
			continue
		}
		if r == nil || !bytes.Equal(k, rk) {
			r, rk = newRecReader(v), append(rk[:0], k...)
		}
		if !r.seek(id) {
			if r.err != nil {
				return r.err
			}
			b.logged[i] = true
		}
	}
	return nil
}

// loadLastID makes b.lastID the largest id in the log, reading the last record only when it is not the
// one b.lastKey names.
func (b *clickBuffers) loadLastID(cur *bolt.Cursor) error {
	k, v := cur.Last()
	switch {
	case k == nil:
		b.lastKey, b.lastID = b.lastKey[:0], b.lastID[:0]
	case !b.lastOK || !bytes.Equal(k, b.lastKey):
		id, err := lastIDOf(v)
		if err != nil {
			return err
		}
		b.lastKey = append(b.lastKey[:0], k...)
		b.lastID = append(b.lastID[:0], id...)
	}
	b.lastOK = true
	return nil
}

// writeLog writes the clicks marked in b.logged to the click log. The clicks above the log's largest id
// (with time-ordered ids, all of them) become one new record at the log's end; the others go into the
// record whose range they fall in, or into a new record between two existing ones.
func (b *clickBuffers) writeLog(log *bolt.Bucket, out []affiliate.Click) error {
	for i := range out {
		if b.logged[i] {
			b.ptrs = append(b.ptrs, &out[i])
		}
	}
	sortByID(b.ptrs)
	split, _ := slices.BinarySearchFunc(b.ptrs, string(b.lastID), func(c *affiliate.Click, id string) int {
		if c.ID <= id {
			return -1
		}
		return 1
	})
	if split > 0 {
		if err := b.writeInner(log, b.ptrs[:split]); err != nil {
			return err
		}
	}
	tail := b.ptrs[split:]
	if len(tail) == 0 {
		return nil
	}
	last, err := b.putRecords(log, tail, recordMaxClicks)
	if err != nil {
		return err
	}
	b.newKey = append(b.newKey[:0], last...)
	b.newID = append(b.newID[:0], tail[len(tail)-1].ID...)
	return nil
}

// putRecords writes clicks (sorted by id) as records of at most size clicks, each keyed by its first id,
// and returns the key of the last.
func (b *clickBuffers) putRecords(log *bolt.Bucket, clicks []*affiliate.Click, size int) (last string, err error) {
	for len(clicks) > 0 {
		n := min(len(clicks), size)
		if err := b.putRecord(log, clicks[0].ID, clicks[:n]); err != nil {
			return "", err
		}
		last, clicks = clicks[0].ID, clicks[n:]
	}
	return last, nil
}

// putRecord writes clicks (sorted by id) as the record at key.
func (b *clickBuffers) putRecord(log *bolt.Bucket, key string, clicks []*affiliate.Click) error {
	rec := b.enc.encode(clicks)
	v := b.arena.alloc(len(rec))
	copy(v, rec)
	b.scratch = append(b.scratch[:0], key...)
	return log.Put(b.scratch, v)
}

// writeInner logs clicks (sorted by id, none logged yet, none above the log's largest id). Each goes
// into the record whose range holds it, which is rewritten with it; the clicks that fall between two
// records, or before the first, become a new record there. So records keep not overlapping.
func (b *clickBuffers) writeInner(log *bolt.Bucket, clicks []*affiliate.Click) error {
	type slot struct {
		key        []byte // the record at or before the clicks; nil before the first record
		inside     bool   // the clicks are inside that record's range
		start, end int
	}
	var slots []slot
	var prevKey, prevLast []byte
	cur := log.Cursor()
	for i, c := range clicks {
		k, v := recordFor(cur, []byte(c.ID))
		inside := false
		if k != nil {
			if !bytes.Equal(k, prevKey) {
				last, err := lastIDOf(v)
				if err != nil {
					return err
				}
				prevKey, prevLast = bytes.Clone(k), bytes.Clone(last)
			}
			inside = string(prevLast) > c.ID
		}
		if n := len(slots); n > 0 && bytes.Equal(slots[n-1].key, k) && slots[n-1].inside == inside {
			slots[n-1].end = i + 1
			continue
		}
		slots = append(slots, slot{key: bytes.Clone(k), inside: inside, start: i, end: i + 1})
	}
	for _, sl := range slots {
		group := clicks[sl.start:sl.end]
		if !sl.inside {
			if _, err := b.putRecords(log, group, recordMaxClicks); err != nil {
				return err
			}
			continue
		}
		v := log.Get(sl.key)
		n, _, err := clickRecHeader(v)
		if err != nil {
			return err
		}
		if n+len(group) > recordMaxClicks {
			// Split the record in halves, so that the next clicks that fall inside fit again.
			old, err := recordClicks(v)
			if err != nil {
				return err
			}
			merged := make([]*affiliate.Click, 0, len(old)+len(group))
			for i := range old {
				merged = append(merged, &old[i])
			}
			merged = append(merged, group...)
			sortByID(merged)
			if _, err := b.putRecords(log, merged, recordMaxClicks/2); err != nil {
				return err
			}
			continue
		}
		rec, err := b.enc.merge(v, group)
		if err != nil {
			return err
		}
		nv := b.arena.alloc(len(rec))
		copy(nv, rec)
		b.scratch = append(b.scratch[:0], sl.key...)
		if err := log.Put(b.scratch, nv); err != nil {
			return err
		}
	}
	return nil
}

func add[K comparable](m map[K]affiliate.Counts, k K, d affiliate.Counts) {
	c := m[k]
	c.Add(d)
	m[k] = c
}

// aggKey is a fixed-width aggregate key that can write itself into a bbolt key.
type aggKey interface {
	comparable
	size() int
	copyTo(dst []byte)
}

func (k linkHourKey) size() int         { return len(k) }
func (k linkHourKey) copyTo(dst []byte) { copy(dst, k[:]) }
func (k affHourKey) size() int          { return len(k) }
func (k affHourKey) copyTo(dst []byte)  { copy(dst, k[:]) }
func (k codeKey) size() int             { return len(k) }
func (k codeKey) copyTo(dst []byte)     { copy(dst, k[:]) }

// applyCounts adds the counts in m to bucket, one read and one write per key.
func applyCounts[K aggKey](a *arena, bucket *bolt.Bucket, m map[K]affiliate.Counts) error {
	var kb [16]byte
	for k, d := range m {
		key := kb[:k.size()]
		k.copyTo(key)
		if err := a.addCounts(bucket, key, d); err != nil {
			return err
		}
	}
	return nil
}

// GetClick returns a logged click by id or affiliate.ErrClickNotFound (bot visits are not logged).
func (s *Store) GetClick(ctx context.Context, id string) (affiliate.Click, error) {
	return get(s, ctx, "get click", func(tx *bolt.Tx) (affiliate.Click, error) {
		c, ok, err := lookupClick(tx.Bucket(bClicks), id)
		if err != nil {
			return affiliate.Click{}, fmt.Errorf("click %q: %w", id, err)
		}
		if !ok {
			return affiliate.Click{}, affiliate.ErrClickNotFound
		}
		return c, nil
	})
}

// PruneVisitors deletes the visitor entries whose last click is before before and returns how many went.
// Entries older than affiliate.UniqueWindow no longer change any decision, so the daily caller can pass
// now minus the window.
func (s *Store) PruneVisitors(ctx context.Context, before time.Time) (int, error) {
	limit := before.UnixNano()
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bVisitors)
		var stale [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < limit {
				stale = append(stale, append([]byte(nil), k...))
			}
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(stale)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune visitors: %w", err)
	}
	return n, nil
}

// pruneChunk is about how many raw clicks one PruneClicks transaction deletes, so that pruning a large
// backlog never holds the single writer for long: the click writer's batches get their turn between
// chunks.
const pruneChunk = 5000

// PruneClicks deletes raw clicks logged before before and returns how many went. Hourly aggregates,
// totals and counters are kept, so every report stays the same; only attribution of an order to a click
// id older than before becomes impossible, so callers pass a time older than the attribution window.
//
// The log keeps clicks in records of a batch each (see clicklog.go), and a record goes as a whole: when
// its latest click is before before. So every click at or after before is kept, and so are the older
// clicks that share a record with one. Click ids begin with their time, so the old records are a prefix
// of the log; deleting stops at the first record that stays, and goes in chunks.
func (s *Store) PruneClicks(ctx context.Context, before time.Time) (int, error) {
	limit := before.UnixNano()
	total := 0
	for {
		n, more := 0, false
		s.clickMu.Lock()
		err := s.update(ctx, func(tx *bolt.Tx) error {
			n, more = 0, false
			log := tx.Bucket(bClicks)
			var stale [][]byte
			c := log.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if n >= pruneChunk {
					more = true
					break
				}
				count, latest, err := clickRecHeader(v)
				if err != nil {
					return fmt.Errorf("click record %q: %w", k, err)
				}
				if latest >= limit {
					break
				}
				stale = append(stale, bytes.Clone(k))
				n += count
			}
			for _, k := range stale {
				if err := log.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		// The log's last record may be gone; the click writer reads it again.
		s.cb.lastOK = false
		s.clickMu.Unlock()
		if err != nil {
			return total, fmt.Errorf("prune clicks: %w", err)
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// AddOrphans counts visits to unknown codes.
func (s *Store) AddOrphans(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return addU64(tx.Bucket(bMeta), kNOrphans, uint64(n))
	})
	if err != nil {
		return fmt.Errorf("add orphans: %w", err)
	}
	return nil
}

package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

const (
	codeLen    = affiliate.LinkCodeLen
	hourLen    = 4
	countsLen  = 24
	clickIDLen = 16 // length of click ids the store makes up for clicks that come without one
)

type (
	linkHourKey [codeLen + hourLen]byte
	affHourKey  [8 + hourLen]byte
	codeKey     [codeLen]byte
)

// clickBuffers are reused by RecordClicks from batch to batch (guarded by Store.clickMu).
type clickBuffers struct {
	arena  arena
	link   map[linkHourKey]affiliate.Counts
	aff    map[affHourKey]affiliate.Counts
	totals map[codeKey]affiliate.Counts
}

// arena hands out byte slices for bbolt keys and values. bbolt requires what is given to Put to stay
// untouched until the transaction ends, so slices are never reused within a batch; reset after commit.
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

func decodeCounts(v []byte) affiliate.Counts {
	if len(v) != countsLen {
		return affiliate.Counts{}
	}
	return affiliate.Counts{
		Clicks:       int64(binary.BigEndian.Uint64(v)),
		UniqueClicks: int64(binary.BigEndian.Uint64(v[8:])),
		BotVisits:    int64(binary.BigEndian.Uint64(v[16:])),
	}
}

func putCounts(dst []byte, c affiliate.Counts) {
	binary.BigEndian.PutUint64(dst, uint64(c.Clicks))
	binary.BigEndian.PutUint64(dst[8:], uint64(c.UniqueClicks))
	binary.BigEndian.PutUint64(dst[16:], uint64(c.BotVisits))
}

// addCounts adds c to the counts stored at k.
func (a *arena) addCounts(b *bolt.Bucket, k []byte, c affiliate.Counts) error {
	sum := decodeCounts(b.Get(k))
	sum.Add(c)
	v := a.alloc(countsLen)
	putCounts(v, sum)
	return b.Put(k, v)
}

// Click records in the clicks bucket (binary):
//
//	[0] version 1, [1] flags (1 unique, 2 bot), [2:10] at (unix ns), [10:18] visitor,
//	[18:26] product id, [26:34] affiliate id, [34:42] seller id, [42:] link code
const clickRecLen = 42

func encodeClick(dst []byte, c *affiliate.Click) {
	dst[0] = 1
	dst[1] = 0
	if c.Unique {
		dst[1] |= 1
	}
	if c.Bot {
		dst[1] |= 2
	}
	binary.BigEndian.PutUint64(dst[2:], uint64(c.At.UnixNano()))
	binary.BigEndian.PutUint64(dst[10:], c.Visitor)
	binary.BigEndian.PutUint64(dst[18:], c.ProductID)
	binary.BigEndian.PutUint64(dst[26:], uint64(c.AffiliateID))
	binary.BigEndian.PutUint64(dst[34:], uint64(c.SellerID))
	copy(dst[clickRecLen:], c.Code)
}

func decodeClick(id string, v []byte) (affiliate.Click, error) {
	if len(v) < clickRecLen || v[0] != 1 {
		return affiliate.Click{}, fmt.Errorf("decode click %q: bad record", id)
	}
	return affiliate.Click{
		ID:          id,
		Code:        string(v[clickRecLen:]),
		ProductID:   binary.BigEndian.Uint64(v[18:]),
		AffiliateID: int64(binary.BigEndian.Uint64(v[26:])),
		SellerID:    int64(binary.BigEndian.Uint64(v[34:])),
		At:          time.Unix(0, int64(binary.BigEndian.Uint64(v[2:]))).UTC(),
		Visitor:     binary.BigEndian.Uint64(v[10:]),
		Unique:      v[1]&1 != 0,
		Bot:         v[1]&2 != 0,
	}, nil
}

// RecordClicks writes a batch of clicks in one transaction: decides Unique per (code, visitor) over
// affiliate.UniqueWindow, appends to the click log and adds to the hourly aggregates per link and per
// affiliate and to the running totals. Bot visits are counted apart (BotVisits only, not logged).
// Returns the clicks as stored, in input order.
//
// Clicks must come in time order and carry a valid link code (the whole batch is refused otherwise); a
// click without an id gets one; a click whose id is already logged is skipped (Unique false), so a
// retried batch does not count twice. It is meant for one background writer; concurrent calls are
// serialized.
func (s *Store) RecordClicks(clicks []affiliate.Click) ([]affiliate.Click, error) {
	out := make([]affiliate.Click, len(clicks))
	copy(out, clicks)
	for i := range out {
		if !affiliate.ValidCode(out[i].Code) {
			return nil, affiliate.Errorf(affiliate.EInvalid, "click_code", out[i].Code)
		}
		out[i].Unique = false
		if out[i].ID == "" && !out[i].Bot {
			id, err := s.randomString(clickIDLen)
			if err != nil {
				return nil, fmt.Errorf("record clicks: %w", err)
			}
			out[i].ID = id
		}
	}

	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	b := &s.cb
	if b.link == nil {
		b.link = make(map[linkHourKey]affiliate.Counts)
		b.aff = make(map[affHourKey]affiliate.Counts)
		b.totals = make(map[codeKey]affiliate.Counts)
	}
	defer func() {
		clear(b.link)
		clear(b.aff)
		clear(b.totals)
		b.arena.reset()
	}()

	err := s.db.Update(func(tx *bolt.Tx) error {
		log, visitors := tx.Bucket(bClicks), tx.Bucket(bVisitors)
		var nClicks, nBots uint64
		for i := range out {
			c := &out[i]
			var d affiliate.Counts
			if c.Bot {
				d.BotVisits = 1
				nBots++
			} else {
				id := b.arena.alloc(len(c.ID))
				copy(id, c.ID)
				if log.Get(id) != nil {
					continue
				}
				vk := b.arena.alloc(codeLen + 8)
				copy(vk, c.Code)
				binary.BigEndian.PutUint64(vk[codeLen:], c.Visitor)
				at := c.At.UnixNano()
				last := int64(0)
				if v := visitors.Get(vk); len(v) == 8 {
					last = int64(binary.BigEndian.Uint64(v))
				}
				c.Unique = last == 0 || at-last >= int64(affiliate.UniqueWindow)
				if at > last {
					vv := b.arena.alloc(8)
					binary.BigEndian.PutUint64(vv, uint64(at))
					if err := visitors.Put(vk, vv); err != nil {
						return err
					}
				}
				rec := b.arena.alloc(clickRecLen + len(c.Code))
				encodeClick(rec, c)
				if err := log.Put(id, rec); err != nil {
					return err
				}
				d.Clicks = 1
				if c.Unique {
					d.UniqueClicks = 1
				}
				nClicks++
			}
			h := hourOf(c.At)
			var lk linkHourKey
			copy(lk[:], c.Code)
			binary.BigEndian.PutUint32(lk[codeLen:], h)
			var ak affHourKey
			binary.BigEndian.PutUint64(ak[:], uint64(c.AffiliateID))
			binary.BigEndian.PutUint32(ak[8:], h)
			var ck codeKey
			copy(ck[:], c.Code)
			add(b.link, lk, d)
			add(b.aff, ak, d)
			add(b.totals, ck, d)
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
		meta := tx.Bucket(bMeta)
		if err := addU64(meta, kNClicks, nClicks); err != nil {
			return err
		}
		return addU64(meta, kNBots, nBots)
	})
	if err != nil {
		return nil, fmt.Errorf("record clicks: %w", err)
	}
	return out, nil
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

func applyCounts[K aggKey](a *arena, bucket *bolt.Bucket, m map[K]affiliate.Counts) error {
	for k, d := range m {
		kb := a.alloc(k.size())
		k.copyTo(kb)
		if err := a.addCounts(bucket, kb, d); err != nil {
			return err
		}
	}
	return nil
}

// GetClick returns a logged click by id or affiliate.ErrClickNotFound (bot visits are not logged).
func (s *Store) GetClick(id string) (affiliate.Click, error) {
	var c affiliate.Click
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bClicks).Get([]byte(id))
		if v == nil {
			return affiliate.ErrClickNotFound
		}
		var err error
		c, err = decodeClick(id, v)
		return err
	})
	if err != nil {
		return affiliate.Click{}, fmt.Errorf("get click: %w", err)
	}
	return c, nil
}

// PruneVisitors deletes the visitor entries whose last click is before before and returns how many went.
// Entries older than affiliate.UniqueWindow no longer change any decision, so the daily caller can pass
// now minus the window.
func (s *Store) PruneVisitors(before time.Time) (int, error) {
	limit := before.UnixNano()
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
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

// AddOrphans counts visits to unknown codes.
func (s *Store) AddOrphans(n int64) error {
	if n <= 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return addU64(tx.Bucket(bMeta), kNOrphans, uint64(n))
	})
	if err != nil {
		return fmt.Errorf("add orphans: %w", err)
	}
	return nil
}

package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// The digest schedule (bucket digest_due) lets the digest job find the users who are due without
// reading every user: one nested bucket per time zone in use, named by the zone as the users store it
// (defaultZoneBucket for an empty zone), holding
//
//	local digest minute (uint16) + user id → local date (DateLayout) of the last digest handled, or empty
//
// so that the users of a zone whose minute lies in a range are one cursor seek away, in minute order.
// A user with the digest off has no entry. The entries are kept in step with the users by the user
// write path (writeUser, DeleteUserData): a change of DigestMinute or TimeZone moves the entry and
// keeps its handled date, so that moving the digest time never brings a second digest the same day.
// An emptied zone bucket stays; DigestZones leaves it out.

// defaultZoneBucket names the zone bucket of users without a stored zone (they read the configured
// default zone); bbolt refuses an empty bucket name.
const defaultZoneBucket = "@default"

// digestSlot is where a user sits in the schedule; ok is false when the digest is off.
type digestSlot struct {
	zone   string
	minute int
}

func slotOf(u affiliate.User) (digestSlot, bool) {
	if u.DigestMinute < 0 || u.DigestMinute >= affiliate.MinutesPerDay {
		return digestSlot{}, false
	}
	return digestSlot{zone: u.TimeZone, minute: u.DigestMinute}, true
}

func zoneBucketName(zone string) []byte {
	if zone == "" {
		return []byte(defaultZoneBucket)
	}
	return []byte(zone)
}

func digestKey(minute int, userID int64) []byte {
	k := make([]byte, 2+8)
	binary.BigEndian.PutUint16(k, uint16(minute))
	binary.BigEndian.PutUint64(k[2:], uint64(userID))
	return k
}

// storedSlot reads the schedule fields of the stored user id, without the rest of the record.
func storedSlot(tx *bolt.Tx, id int64) (digestSlot, bool, error) {
	v := tx.Bucket(bUsers).Get(idKey(id))
	if v == nil {
		return digestSlot{}, false, nil
	}
	var u struct {
		TimeZone     string `json:"time_zone"`
		DigestMinute int    `json:"digest_minute"`
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return digestSlot{}, false, fmt.Errorf("decode user %d: %w", id, err)
	}
	s, ok := slotOf(affiliate.User{TimeZone: u.TimeZone, DigestMinute: u.DigestMinute})
	return s, ok, nil
}

// moveDigestEntry moves user id's schedule entry from one slot to another (either may be absent),
// keeping its handled date. It is called before the user record changes.
func moveDigestEntry(tx *bolt.Tx, id int64, from digestSlot, hadFrom bool, to digestSlot, hasTo bool) error {
	if hadFrom == hasTo && (!hasTo || from == to) {
		return nil
	}
	root := tx.Bucket(bDigestDue)
	var handled []byte
	if hadFrom {
		if zb := root.Bucket(zoneBucketName(from.zone)); zb != nil {
			k := digestKey(from.minute, id)
			handled = bytes.Clone(zb.Get(k))
			if err := zb.Delete(k); err != nil {
				return err
			}
		}
	}
	if !hasTo {
		return nil
	}
	zb, err := root.CreateBucketIfNotExists(zoneBucketName(to.zone))
	if err != nil {
		return fmt.Errorf("digest zone %q: %w", to.zone, err)
	}
	if handled == nil {
		handled = []byte{}
	}
	return zb.Put(digestKey(to.minute, id), handled)
}

// indexDigest keeps the schedule in step with a user about to be written as u.
func indexDigest(tx *bolt.Tx, u affiliate.User) error {
	from, had, err := storedSlot(tx, u.ID)
	if err != nil {
		return err
	}
	to, has := slotOf(u)
	return moveDigestEntry(tx, u.ID, from, had, to, has)
}

// unindexDigest removes a user about to be deleted from the schedule.
func unindexDigest(tx *bolt.Tx, id int64) error {
	from, had, err := storedSlot(tx, id)
	if err != nil {
		return err
	}
	return moveDigestEntry(tx, id, from, had, digestSlot{}, false)
}

// DigestZones returns the time zones that have users in the digest schedule, as the users store them
// ("" for users without a zone, who read the configured default).
func (s *Store) DigestZones(ctx context.Context) ([]string, error) {
	return get(s, ctx, "digest zones", func(tx *bolt.Tx) ([]string, error) {
		var zones []string
		err := tx.Bucket(bDigestDue).ForEachBucket(func(name []byte) error {
			if k, _ := tx.Bucket(bDigestDue).Bucket(name).Cursor().First(); k == nil {
				return nil
			}
			zone := string(name)
			if zone == defaultZoneBucket {
				zone = ""
			}
			zones = append(zones, zone)
			return nil
		})
		return zones, err
	})
}

// DigestDue returns up to limit schedule entries of zone whose local digest minute is in [fromMinute,
// toMinute], in (minute, user id) order after the entry after (the zero entry starts at fromMinute),
// leaving out those whose handled date is skipDate. It reads only the schedule: its cost grows with the
// entries in the range, not with all users. Paging is by keyset as in ListUsers: pass the last entry
// returned as after.
func (s *Store) DigestDue(ctx context.Context, zone string, fromMinute, toMinute int, skipDate string, after affiliate.DigestEntry, limit int) ([]affiliate.DigestEntry, error) {
	if limit <= 0 || fromMinute > toMinute {
		return nil, nil
	}
	fromMinute, toMinute = max(fromMinute, 0), min(toMinute, affiliate.MinutesPerDay-1)
	return get(s, ctx, "digest due", func(tx *bolt.Tx) ([]affiliate.DigestEntry, error) {
		zb := tx.Bucket(bDigestDue).Bucket(zoneBucketName(zone))
		if zb == nil {
			return nil, nil
		}
		seek := digestKey(fromMinute, 0)
		if after.UserID != 0 || after.Minute != 0 {
			if a := digestKey(after.Minute, after.UserID+1); after.UserID >= 0 && bytes.Compare(a, seek) > 0 {
				seek = a
			}
		}
		var out []affiliate.DigestEntry
		c := zb.Cursor()
		for k, v := c.Seek(seek); k != nil && len(out) < limit; k, v = c.Next() {
			if len(k) != 10 {
				continue
			}
			minute := int(binary.BigEndian.Uint16(k))
			if minute > toMinute {
				break
			}
			if skipDate != "" && string(v) == skipDate {
				continue
			}
			out = append(out, affiliate.DigestEntry{Minute: minute, UserID: int64(binary.BigEndian.Uint64(k[2:])),
				Handled: string(v)})
		}
		return out, nil
	})
}

// MarkDigests records date as the handled date of the given entries of zone, in one transaction. An
// entry that is no longer there (the user moved their digest or left) is not created again.
func (s *Store) MarkDigests(ctx context.Context, zone string, entries []affiliate.DigestEntry, date string) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		zb := tx.Bucket(bDigestDue).Bucket(zoneBucketName(zone))
		if zb == nil {
			return nil
		}
		for _, e := range entries {
			k := digestKey(e.Minute, e.UserID)
			if zb.Get(k) == nil {
				continue
			}
			if err := zb.Put(k, []byte(date)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark digests: %w", err)
	}
	return nil
}

// AffiliateDigest reads, in one short read, what an affiliate's digest of [from, to) needs (hour
// granularity, as AffiliateCounts): the period's counts; when there was activity, also the month to
// date [monthFrom, to) and the best product of the period over the affiliate's links (by commission,
// then clicks, see affiliate.BetterProduct). It reads aggregates only, never clicks or orders.
func (s *Store) AffiliateDigest(ctx context.Context, affiliateID int64, from, to, monthFrom time.Time) (affiliate.DigestCounts, error) {
	return get(s, ctx, "affiliate digest", func(tx *bolt.Tx) (affiliate.DigestCounts, error) {
		var d affiliate.DigestCounts
		prefix := idKey(affiliateID)
		agg := tx.Bucket(bAggAff)
		lo, hi := hourRange(from, to)
		d.Day = sumHours(agg, prefix, lo, hi)
		if !d.Active() {
			return d, nil
		}
		mlo, _ := hourRange(monthFrom, to)
		d.Month = sumHours(agg, prefix, mlo, hi)
		links, found := tx.Bucket(bAggLink), false
		c := tx.Bucket(bAffLinks).Cursor()
		for k, code := c.Seek(prefix); hasPrefix(k, prefix) && len(k) == 16; k, code = c.Next() {
			cand := affiliate.BestProduct{ProductID: binary.BigEndian.Uint64(k[8:]), Counts: sumHours(links, code, lo, hi)}
			if cand.Counts.Clicks == 0 && cand.Counts.Orders == 0 {
				continue
			}
			if !found || affiliate.BetterProduct(cand, d.Best) < 0 {
				d.Best, found = cand, true
			}
		}
		if found {
			p, err := getProduct(tx, d.Best.ProductID)
			if err != nil {
				return d, err
			}
			d.Best.Name, d.Best.Rate = p.Name, p.Rate
		}
		return d, nil
	})
}

// digestIndexChunk is how many users one chunk of migration 6 reads.
const digestIndexChunk = 2000

// migrateDigestIndex (migration 6) builds the digest schedule of the users already stored, in chunks of
// users by id. Running it again puts the same entries and keeps a handled date already there.
func migrateDigestIndex(tx *bolt.Tx, resume []byte) ([]byte, error) {
	root, err := tx.CreateBucketIfNotExists(bDigestDue)
	if err != nil {
		return nil, err
	}
	c := tx.Bucket(bUsers).Cursor()
	k, v := c.First()
	if resume != nil {
		k, v = c.Seek(resume)
	}
	for n := 0; k != nil; k, v = c.Next() {
		if n == digestIndexChunk {
			return bytes.Clone(k), nil
		}
		n++
		var u affiliate.User
		if err := json.Unmarshal(v, &u); err != nil {
			return nil, fmt.Errorf("decode user %x: %w", k, err)
		}
		slot, ok := slotOf(u)
		if !ok {
			continue
		}
		zb, err := root.CreateBucketIfNotExists(zoneBucketName(slot.zone))
		if err != nil {
			return nil, err
		}
		if dk := digestKey(slot.minute, u.ID); zb.Get(dk) == nil {
			if err := zb.Put(dk, []byte{}); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// alertRecord is the value of the alerts bucket: the alert and how far its fan-out has gone.
type alertRecord struct {
	affiliate.Alert
	Progress affiliate.AlertProgress `json:"progress"`
}

// feedRecord is the value of the feeds bucket: when the feed was first and last read with success.
type feedRecord struct {
	FirstPolled time.Time `json:"first_polled"`
	LastPolled  time.Time `json:"last_polled"`
}

// migrateAlertBuckets creates the buckets of policy alerts, policy feeds and broadcasts.
func migrateAlertBuckets(tx *bolt.Tx, _ []byte) ([]byte, error) {
	for _, name := range [][]byte{bAlerts, bAlertsPending, bFeeds, bFeedItems, bBroadcasts} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// CreateAlert stores a new alert, not fanned out yet, and returns it with its id (from a sequence) and
// creation time (now, unless set).
func (s *Store) CreateAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error) {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		a, err = createAlert(tx, a, s.now().UTC())
		return err
	})
	if err != nil {
		return affiliate.Alert{}, fmt.Errorf("create alert: %w", err)
	}
	return a, nil
}

func createAlert(tx *bolt.Tx, a affiliate.Alert, now time.Time) (affiliate.Alert, error) {
	b := tx.Bucket(bAlerts)
	id, err := b.NextSequence()
	if err != nil {
		return a, err
	}
	a.ID, a.FannedOut = id, false
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	if err := putJSON(b, u64(id), alertRecord{Alert: a}); err != nil {
		return a, err
	}
	return a, tx.Bucket(bAlertsPending).Put(u64(id), nil)
}

// GetAlert returns an alert or affiliate.ErrAlertNotFound.
func (s *Store) GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error) {
	return get(s, ctx, "get alert", func(tx *bolt.Tx) (affiliate.Alert, error) {
		r, err := getAlert(tx, id)
		return r.Alert, err
	})
}

// AlertProgress returns how far an alert's fan-out has gone, or affiliate.ErrAlertNotFound.
func (s *Store) AlertProgress(ctx context.Context, id uint64) (affiliate.AlertProgress, error) {
	return get(s, ctx, "alert progress", func(tx *bolt.Tx) (affiliate.AlertProgress, error) {
		r, err := getAlert(tx, id)
		return r.Progress, err
	})
}

func getAlert(tx *bolt.Tx, id uint64) (alertRecord, error) {
	var r alertRecord
	found, err := getJSON(tx.Bucket(bAlerts), u64(id), &r)
	if err != nil {
		return r, err
	}
	if !found {
		return r, affiliate.ErrAlertNotFound
	}
	return r, nil
}

// PendingAlerts returns the alerts whose fan-out has not finished, oldest first.
func (s *Store) PendingAlerts(ctx context.Context) ([]affiliate.Alert, error) {
	return get(s, ctx, "pending alerts", func(tx *bolt.Tx) ([]affiliate.Alert, error) {
		var out []affiliate.Alert
		c := tx.Bucket(bAlertsPending).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			r, err := getAlert(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return nil, err
			}
			out = append(out, r.Alert)
		}
		return out, nil
	})
}

// AdvanceFanout moves an alert's fan-out cursor from from to to and adds the users of that page who were
// skipped (alerts off) to the alert's counts (AlertCounts), in one transaction. It is the fan-out's
// commit point: when the stored cursor is not from (another run, or a run before a restart, got there
// first) nothing changes and it returns false, so that no page is ever counted twice. The page's
// messages are queued before it, and queueing them again is a no-op (their keys are taken).
func (s *Store) AdvanceFanout(ctx context.Context, id uint64, from, to int64, skipped int) (bool, error) {
	if skipped < 0 {
		return false, affiliate.Errorf(affiliate.EInvalid, "alert_skipped")
	}
	advanced := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r, err := getAlert(tx, id)
		if err != nil {
			return err
		}
		if r.Progress.Cursor != from || to < from {
			return nil
		}
		r.Progress.Cursor = to
		advanced = true
		if err := putJSON(tx.Bucket(bAlerts), u64(id), r); err != nil {
			return err
		}
		if skipped == 0 {
			return nil
		}
		return moveAlertCounts(tx, id, func(c *affiliate.AlertCounts) { c.Skipped += int64(skipped) })
	})
	if err != nil {
		return false, fmt.Errorf("advance fan-out: %w", err)
	}
	return advanced, nil
}

// MarkFannedOut records that every user of an alert's audience has been queued or counted.
func (s *Store) MarkFannedOut(ctx context.Context, id uint64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r, err := getAlert(tx, id)
		if err != nil {
			return err
		}
		if r.FannedOut {
			return nil
		}
		r.FannedOut = true
		if err := putJSON(tx.Bucket(bAlerts), u64(id), r); err != nil {
			return err
		}
		return tx.Bucket(bAlertsPending).Delete(u64(id))
	})
	if err != nil {
		return fmt.Errorf("mark alert fanned out: %w", err)
	}
	return nil
}

// feedPrefix is the fixed-width key prefix of a feed's items: the first 16 bytes of the SHA-256 of its
// URL.
func feedPrefix(feedURL string) []byte {
	sum := sha256.Sum256([]byte(feedURL))
	return sum[:16]
}

// FeedItems returns the ids of the items seen in a feed so far, and whether the feed was ever read.
func (s *Store) FeedItems(ctx context.Context, feedURL string) (seen map[string]bool, polled bool, err error) {
	err = s.view(ctx, func(tx *bolt.Tx) error {
		polled = tx.Bucket(bFeeds).Get([]byte(feedURL)) != nil
		seen = map[string]bool{}
		p := feedPrefix(feedURL)
		c := tx.Bucket(bFeedItems).Cursor()
		for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
			seen[string(k[len(p):])] = true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("feed items: %w", err)
	}
	return seen, polled, nil
}

// RecordFeedItems records a successful read of a feed and the items in it, in one transaction. On the
// feed's first read the items are only remembered. On a later read each item not seen before becomes
// an alert (item.Alert, created as CreateAlert does) and is marked seen in the same transaction, so that
// an item becomes exactly one alert whatever fails or restarts around it. It returns the alerts created.
// Items with an empty id are ignored.
func (s *Store) RecordFeedItems(ctx context.Context, feedURL string, items []affiliate.FeedItem) ([]affiliate.Alert, error) {
	var created []affiliate.Alert
	err := s.update(ctx, func(tx *bolt.Tx) error {
		created = created[:0]
		now := s.now().UTC()
		feeds, seen := tx.Bucket(bFeeds), tx.Bucket(bFeedItems)
		var f feedRecord
		known, err := getJSON(feeds, []byte(feedURL), &f)
		if err != nil {
			return err
		}
		p := feedPrefix(feedURL)
		for _, it := range items {
			if it.ID == "" {
				continue
			}
			k := append(append(make([]byte, 0, len(p)+len(it.ID)), p...), it.ID...)
			if seen.Get(k) != nil {
				continue
			}
			var alertID uint64
			if known {
				a, err := createAlert(tx, it.Alert, now)
				if err != nil {
					return err
				}
				created = append(created, a)
				alertID = a.ID
			}
			if err := seen.Put(k, u64(alertID)); err != nil {
				return err
			}
		}
		if !known {
			f.FirstPolled = now
		}
		f.LastPolled = now
		return putJSON(feeds, []byte(feedURL), f)
	})
	if err != nil {
		return nil, fmt.Errorf("record feed items: %w", err)
	}
	return created, nil
}

// LastBroadcast returns when a seller last broadcast (zero when never).
func (s *Store) LastBroadcast(ctx context.Context, sellerID int64) (time.Time, error) {
	return get(s, ctx, "last broadcast", func(tx *bolt.Tx) (time.Time, error) {
		return lastBroadcast(tx, sellerID), nil
	})
}

func lastBroadcast(tx *bolt.Tx, sellerID int64) time.Time {
	if v := tx.Bucket(bBroadcasts).Get(idKey(sellerID)); len(v) == 8 {
		return time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	}
	return time.Time{}
}

// BeginBroadcast records a broadcast of a seller at at and returns its id, unless the seller's last
// broadcast is less than affiliate.BroadcastInterval before at: then nothing changes and the error is a
// conflict ("broadcast_too_soon"; affiliate.NextBroadcast of LastBroadcast says when). Check and record are one
// transaction, so two presses of a confirm button send one broadcast.
func (s *Store) BeginBroadcast(ctx context.Context, sellerID int64, at time.Time) (uint64, error) {
	var id uint64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		last := lastBroadcast(tx, sellerID)
		if !affiliate.BroadcastAllowed(last, at) {
			return affiliate.Errorf(affiliate.EConflict, "broadcast_too_soon")
		}
		b := tx.Bucket(bBroadcasts)
		var err error
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(idKey(sellerID), u64(uint64(at.UnixNano())))
	})
	if err != nil {
		return 0, fmt.Errorf("begin broadcast: %w", err)
	}
	return id, nil
}

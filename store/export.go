package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/dump"
)

// exportCheckEvery is how many items Export writes between two looks at its context.
const exportCheckEvery = 4096

// Export writes the whole database to w as a portable dump (package dump; w's header should name
// source "bbolt" and schema SchemaLatest), every item from one read transaction, so the dump is one
// consistent snapshot. It does not close w.
//
// The read transaction lasts until the last item is written, and a read transaction held open keeps
// bbolt from remapping its file, which holds up every writer behind it. So w must write to local
// storage (a temporary file), never to a network peer or anything else that may stall; a caller that
// has to send the dump somewhere copies the file afterwards. ctx is checked every few thousand items.
//
// Only a database of this binary's schema is exported (a read-only store does not migrate): an older
// one must be opened once by this keranjang first.
func (s *Store) Export(ctx context.Context, w *dump.Writer) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if v := storedVersion(tx); v != SchemaLatest {
			return fmt.Errorf("the database has schema %d and this keranjang exports schema %d: let this "+
				"keranjang open it once first (keranjang serve upgrades it)", v, SchemaLatest)
		}
		e := exporter{ctx: ctx, tx: tx, w: w}
		for _, step := range []func() error{
			e.meta, e.sequences, e.users, e.apiKeys, e.applications, e.flows, e.digests, e.products,
			e.links, e.clicks, e.visitors, e.aggregates, e.totals, e.orders, e.feedback, e.alerts,
			e.alertCounts, e.outbox, e.feeds, e.feedItems, e.broadcasts,
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// exporter writes the items of one read transaction.
type exporter struct {
	ctx context.Context
	tx  *bolt.Tx
	w   *dump.Writer
	n   int
	// feedURLs maps a feed's item key prefix (feedPrefix) to its URL.
	feedURLs map[string]string
}

func (e *exporter) put(it dump.Item) error {
	e.n++
	if e.n%exportCheckEvery == 0 {
		if err := e.ctx.Err(); err != nil {
			return err
		}
	}
	return e.w.Write(it)
}

// each calls fn for every key and value of bucket name.
func (e *exporter) each(name []byte, fn func(k, v []byte) error) error {
	c := e.tx.Bucket(name).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// eachJSON decodes every value of bucket name into a T and calls fn with it.
func eachJSON[T any](e *exporter, name []byte, fn func(k []byte, v T) error) error {
	return e.each(name, func(k, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode %s record %x: %w", name, k, err)
		}
		return fn(k, v)
	})
}

func (e *exporter) meta() error {
	meta := e.tx.Bucket(bMeta)
	n := func(k []byte) int64 { return int64(getU64(meta, k)) }
	return e.put(dump.Meta{
		Salt:   append([]byte(nil), meta.Get(kSalt)...),
		Clicks: n(kNClicks), Bots: n(kNBots), Orphans: n(kNOrphans),
		Outbox: affiliate.OutboxStats{
			Queued: n(kObCount[affiliate.OutboxQueued]), Sent: n(kObCount[affiliate.OutboxSent]),
			Failed: n(kObCount[affiliate.OutboxFailed]), Dropped: n(kObCount[affiliate.OutboxDropped]),
		},
	})
}

// sequences exports the next value of each bucket sequence that gives ids.
func (e *exporter) sequences() error {
	for _, s := range []struct {
		name   string
		bucket []byte
	}{
		{dump.SeqProducts, bProducts}, {dump.SeqFeedback, bFeedback}, {dump.SeqOutbox, bOutbox},
		{dump.SeqAlerts, bAlerts}, {dump.SeqBroadcasts, bBroadcasts},
	} {
		if err := e.put(dump.Sequence{Name: s.name, Next: e.tx.Bucket(s.bucket).Sequence() + 1}); err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) users() error {
	return eachJSON(e, bUsers, func(_ []byte, u affiliate.User) error { return e.put(dump.User{User: u}) })
}

func (e *exporter) apiKeys() error {
	return eachJSON(e, bSellers, func(k []byte, r sellerRecord) error {
		if r.APIKey == "" || len(k) != 8 {
			return nil
		}
		return e.put(dump.APIKey{SellerID: int64(binary.BigEndian.Uint64(k)), Key: r.APIKey})
	})
}

func (e *exporter) applications() error {
	return eachJSON(e, bApps, func(_ []byte, a affiliate.Application) error {
		return e.put(dump.Application{Application: a})
	})
}

func (e *exporter) flows() error {
	return eachJSON(e, bFlows, func(_ []byte, f affiliate.Flow) error { return e.put(dump.Flow{Flow: f}) })
}

func (e *exporter) digests() error {
	root := e.tx.Bucket(bDigestDue)
	return root.ForEachBucket(func(name []byte) error {
		zone := string(name)
		if zone == defaultZoneBucket {
			zone = ""
		}
		c := root.Bucket(name).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 10 {
				continue
			}
			err := e.put(dump.Digest{Zone: zone, Minute: int(binary.BigEndian.Uint16(k)),
				UserID: int64(binary.BigEndian.Uint64(k[2:])), Handled: string(v)})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *exporter) products() error {
	return eachJSON(e, bProducts, func(_ []byte, p affiliate.Product) error { return e.put(dump.Product{Product: p}) })
}

func (e *exporter) links() error {
	return eachJSON(e, bLinks, func(_ []byte, l affiliate.Link) error { return e.put(dump.Link{Link: l}) })
}

// clicks exports the click log in id order: records do not overlap and hold their clicks sorted.
func (e *exporter) clicks() error {
	return e.each(bClicks, func(k, v []byte) error {
		r := newRecReader(v)
		for r.next() {
			if err := e.put(dump.Click{Click: r.click()}); err != nil {
				return err
			}
		}
		if r.err != nil {
			return fmt.Errorf("click record %q: %w", k, r.err)
		}
		return nil
	})
}

// visitors exports the visitor marks; a value that is not a time means no mark (RecordClicks and
// PruneVisitors read it so) and is left out.
func (e *exporter) visitors() error {
	return e.each(bVisitors, func(k, v []byte) error {
		if len(k) != codeLen+8 || len(v) != 8 {
			return nil
		}
		return e.put(dump.Visitor{Code: string(k[:codeLen]), Visitor: binary.BigEndian.Uint64(k[codeLen:]),
			Last: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()})
	})
}

// aggregates exports the four hourly aggregates. Keys of another length are never read and are left
// out.
func (e *exporter) aggregates() error {
	for _, a := range []struct {
		of     dump.AggregateOf
		bucket []byte
	}{{dump.AggLink, bAggLink}, {dump.AggAffiliate, bAggAff}, {dump.AggProduct, bAggProduct}, {dump.AggSeller, bAggSeller}} {
		err := e.each(a.bucket, func(k, v []byte) error {
			idLen := 8
			if a.of == dump.AggLink {
				idLen = codeLen
			}
			if len(k) != idLen+hourLen {
				return nil
			}
			item := dump.Aggregate{Of: a.of, Hour: int64(binary.BigEndian.Uint32(k[idLen:])), Counts: decodeCounts(v)}
			if a.of == dump.AggLink {
				item.Code = string(k[:codeLen])
			} else {
				item.ID = int64(binary.BigEndian.Uint64(k))
			}
			return e.put(item)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) totals() error {
	return e.each(bTotals, func(k, v []byte) error {
		return e.put(dump.Total{Code: string(k), Counts: decodeCounts(v)})
	})
}

func (e *exporter) orders() error {
	return eachJSON(e, bOrders, func(_ []byte, o affiliate.Order) error { return e.put(dump.Order{Order: o}) })
}

func (e *exporter) feedback() error {
	return eachJSON(e, bFeedback, func(_ []byte, f affiliate.Feedback) error { return e.put(dump.Feedback{Feedback: f}) })
}

func (e *exporter) alerts() error {
	return eachJSON(e, bAlerts, func(_ []byte, r alertRecord) error {
		return e.put(dump.Alert{Alert: r.Alert, Progress: r.Progress})
	})
}

func (e *exporter) alertCounts() error {
	return eachJSON(e, bAlertCounts, func(k []byte, c affiliate.AlertCounts) error {
		if len(k) != 8 {
			return nil
		}
		return e.put(dump.AlertCounts{AlertID: binary.BigEndian.Uint64(k), Counts: c})
	})
}

func (e *exporter) outbox() error {
	return eachJSON(e, bOutbox, func(_ []byte, m affiliate.OutboxMessage) error {
		return e.put(dump.OutboxMessage{OutboxMessage: m})
	})
}

func (e *exporter) feeds() error {
	e.feedURLs = make(map[string]string)
	return eachJSON(e, bFeeds, func(k []byte, f feedRecord) error {
		url := string(k)
		e.feedURLs[string(feedPrefix(url))] = url
		return e.put(dump.Feed{URL: url, FirstPolled: f.FirstPolled, LastPolled: f.LastPolled})
	})
}

// feedItems exports the items seen in each feed. Their keys hold a hash of the feed's URL, which the
// feeds bucket gives back: RecordFeedItems writes a feed's record with its first items.
func (e *exporter) feedItems() error {
	return e.each(bFeedItems, func(k, v []byte) error {
		const p = 16
		url, ok := e.feedURLs[string(k[:min(p, len(k))])]
		if !ok || len(k) <= p {
			return fmt.Errorf("feed item %x belongs to no stored feed", k)
		}
		var alertID uint64
		if len(v) == 8 {
			alertID = binary.BigEndian.Uint64(v)
		}
		return e.put(dump.FeedItem{FeedURL: url, ItemID: string(k[p:]), AlertID: alertID})
	})
}

func (e *exporter) broadcasts() error {
	return e.each(bBroadcasts, func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return nil
		}
		return e.put(dump.Broadcast{SellerID: int64(binary.BigEndian.Uint64(k)),
			Last: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()})
	})
}

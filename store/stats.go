package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// Stats counts users (and those reachable: a walk over the user records), sellers, pending applications, products, links, clicks, bot and orphan visits, and
// orders; Outbox is the number of queued messages. Key counts walk their buckets' pages,
// which is fine for an admin command.
func (s *Store) Stats(ctx context.Context) (affiliate.Stats, error) {
	return get(s, ctx, "stats", func(tx *bolt.Tx) (affiliate.Stats, error) {
		var st affiliate.Stats
		keys := func(name []byte) int64 { return int64(tx.Bucket(name).Stats().KeyN) }
		st.Users = keys(bUsers)
		c := tx.Bucket(bUsers).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var u struct {
				Reachable bool `json:"reachable"`
			}
			if err := json.Unmarshal(v, &u); err != nil {
				return st, fmt.Errorf("decode user %x: %w", k, err)
			}
			if u.Reachable {
				st.Reachable++
			}
		}
		st.Sellers = keys(bSellers)
		st.Pending = keys(bAppsPending)
		st.Products = keys(bProducts)
		st.Links = keys(bLinks)
		st.Orders = keys(bOrders)
		meta := tx.Bucket(bMeta)
		st.Clicks = int64(getU64(meta, kNClicks))
		st.Bots = int64(getU64(meta, kNBots))
		st.Orphans = int64(getU64(meta, kNOrphans))
		st.Outbox = int64(getU64(meta, kObCount[affiliate.OutboxQueued]))
		return st, nil
	})
}

package store

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

// BenchmarkDiskPerMillion records 1,000,000 clicks through RecordClicks, as the click writer does under
// load (batches of 5000, ids from benchClickID, one click in 20 a bot visit), spread over one day on 100
// links from 50,000 visitors, and reports how much the file grew and what the buckets hold. Run it once:
//
//	go test -run '^$' -bench DiskPerMillion -benchtime 1x ./store/
func BenchmarkDiskPerMillion(b *testing.B) {
	const (
		total = 1_000_000
		batch = 5000
	)
	for range b.N {
		f, links := benchLinks(b, 100)
		size := func() int64 {
			st, err := os.Stat(f.path)
			if err != nil {
				b.Fatal(err)
			}
			return st.Size()
		}
		start := size()
		rng := rand.New(rand.NewPCG(9, 10))
		at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
		step := 24 * time.Hour / total
		clicks := make([]affiliate.Click, batch)
		for n := 0; n < total; n += batch {
			for i := range clicks {
				at = at.Add(step)
				clicks[i] = storetest.Click(links[rng.IntN(len(links))], benchClickID(rng, at), at, rng.Uint64N(50_000))
				clicks[i].Bot = (n+i)%20 == 0
			}
			if _, err := f.s.RecordClicks(b.Context(), clicks); err != nil {
				b.Fatal(err)
			}
		}
		grown := size() - start
		used := map[string]int64{}
		err := f.s.db.View(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bClicks, bVisitors, bAggLink, bAggAff, bTotals} {
				st := tx.Bucket(name).Stats()
				used[string(name)] = int64(st.BranchAlloc + st.LeafAlloc)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		mb := func(n int64) float64 { return float64(n) / (1 << 20) }
		b.ReportMetric(mb(grown), "file_MiB/1M")
		b.ReportMetric(float64(grown)/total, "file_B/click")
		b.ReportMetric(mb(used["clicks"]), "clicklog_MiB")
		b.ReportMetric(mb(used["visitors"]), "visitors_MiB")
		b.ReportMetric(mb(used["agg_link"]+used["agg_affiliate"]+used["totals"]), "aggregates_MiB")
	}
}

package postgres_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store/storetest"
)

// BenchmarkRecordClicksBatch writes batches of clicks as the redirect's click writer does, on a schema
// of its own: time-ordered ids of the redirect's layout, 100 links, 5000 visitors, one click in 20 a bot
// visit, in batches of 1 up to the click writer's largest (track.MaxBatch, 10,000). It reports clicks per
// second. The bbolt backend's BenchmarkRecordClicksBatch (store/bench_test.go) is its baseline.
func BenchmarkRecordClicksBatch(b *testing.B) {
	for _, size := range []int{1, 16, 128, 1024, 10000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			s := openInstance(b, pgtest.URL(b), time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), 1)
			storetest.Seller(b, s, 10, "Toko")
			for a := range int64(10) {
				storetest.User(b, s, 100+a, fmt.Sprint("A", a))
			}
			var links []affiliate.Link
			for p := range 10 {
				prod := storetest.Product(b, s, 10, fmt.Sprint("P", p), 1000)
				for a := range int64(10) {
					links = append(links, storetest.Join(b, s, 100+a, prod.ID))
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			batch := make([]affiliate.Click, size)
			at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range batch {
					seq++
					at = at.Add(time.Second)
					var id [affiliate.ClickIDLen]byte
					affiliate.PutClickTime(id[:], at)
					for j := affiliate.ClickIDTimeLen; j < affiliate.ClickIDLen; j++ {
						id[j] = affiliate.Alphabet[rng.IntN(len(affiliate.Alphabet))]
					}
					batch[i] = storetest.Click(links[rng.IntN(len(links))], string(id[:]), at, rng.Uint64N(5000))
					batch[i].Bot = seq%20 == 0
				}
				b.StartTimer()
				if _, err := s.RecordClicks(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "clicks/s")
		})
	}
}

package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/scheduler"
)

// BenchEnqueue is a benchmark every backend runs the same way: outbox messages queued one a call, as
// the notifier queues a digest or an order notice, by 1, 8 (the workers of a digest run) and 32
// (concurrent postbacks) goroutines at once, to 64 users. open gives each sub-benchmark an empty store.
// It reports messages queued per second.
func BenchEnqueue(b *testing.B, open func(b *testing.B) Backend) {
	for _, senders := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s := open(b)
			for i := range int64(64) {
				User(b, s, 100+i, fmt.Sprint("A", i))
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						u := 100 + n%64
						m := affiliate.OutboxMessage{Key: fmt.Sprint("bench-", n), Kind: "notice", UserID: u, ChatID: u, Text: "Pesanan baru"}
						if _, err := s.Enqueue(b.Context(), []affiliate.OutboxMessage{m}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchDigestRun times full digest runs at now over a store where want affiliates are all due and
// active (the backend's own fixture): every one is read from the schedule, built from aggregates and
// handed to a notifier that only counts. reset forgets every handled date before each iteration
// (untimed), as a new day would, so that every user is due again.
func BenchDigestRun(b *testing.B, s Backend, now time.Time, want int, reset func() error) {
	for b.Loop() {
		n := &countingNotifier{}
		d := scheduler.NewDigests(s, n, time.UTC, func() time.Time { return now })
		b.StopTimer()
		if err := reset(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := d.Run(context.Background())
		if err != nil || r.Queued != want || n.n.Load() != int64(want) {
			b.Fatalf("run: %+v %v, %d notified", r, err, n.n.Load())
		}
	}
}

// countingNotifier counts digests and sends nothing.
type countingNotifier struct{ n atomic.Int64 }

func (c *countingNotifier) Notify(context.Context, int64, affiliate.Notice) error {
	c.n.Add(1)
	return nil
}

// Command postbackload is the load generator of bench/postbacks.sh: C concurrent senders each post signed
// conversions (a new pending order on one basket link per request, every order id distinct) to POST
// /api/v1/conversions for a duration, and it prints the rate of answered postbacks and their latency
// percentiles. Every answer must be 200 with "changed": true; anything else is counted as an error and
// makes it exit 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keranjang/keranjang/bench/internal/postback"
	"github.com/keranjang/keranjang/track"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address host:port")
	seller := flag.Int64("seller", 0, "seller id (X-Keranjang-Seller)")
	key := flag.String("key", "", "the seller's API key (the signing key)")
	code := flag.String("code", "", "basket-link code of one of the seller's products")
	conc := flag.Int("c", 32, "concurrent senders")
	dur := flag.Duration("d", 10*time.Second, "how long to send")
	flag.Parse()
	if *seller <= 0 || *key == "" || *code == "" {
		fmt.Fprintln(os.Stderr, "postbackload: -seller, -key and -code are required")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc}}
	url := "http://" + *addr + "/api/v1/conversions"
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // order ids of this run differ from any earlier one's

	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var (
		errs    atomic.Int64
		firstMu sync.Mutex
		first   string
		wg      sync.WaitGroup
	)
	lat := make([][]time.Duration, *conc)
	start := time.Now()
	for w := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				body, _ := json.Marshal(track.ConversionRequest{
					OrderID: fmt.Sprintf("b%s-%d-%d", run, w, n), LinkCode: *code, Amount: 150000, Status: "pending"})
				d, err := postback.Send(client, url, *seller, *key, body)
				if err == nil {
					lat[w] = append(lat[w], d)
					continue
				}
				errs.Add(1)
				firstMu.Lock()
				if first == "" {
					first = err.Error()
				}
				firstMu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) string {
		if len(all) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())/1000)
	}
	fmt.Printf("postbacks=%d errors=%d seconds=%.1f rate=%.0f/s p50=%sms p99=%sms max=%sms\n",
		len(all), errs.Load(), elapsed.Seconds(), float64(len(all))/elapsed.Seconds(), pct(0.50), pct(0.99), pct(1))
	if errs.Load() > 0 {
		fmt.Printf("first error: %s\n", first)
		os.Exit(1)
	}
}

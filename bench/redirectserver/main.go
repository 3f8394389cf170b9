// Command redirectserver is the load target of bench/redirect.sh. By default it opens a fresh store in a
// temporary directory, creates a seller, a product and one basket link, and serves the real track server;
// with -bare it serves a bare net/http handler that only sets Location and answers 302, the floor the
// tracked server is compared with. It prints "ready code=<link code>" once listening and, after SIGINT or
// SIGTERM and a graceful shutdown, "final redirects=<302s answered> recorded=<clicks and bot visits in the
// store> dropped=<clicks dropped>".
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/track"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18089", "listen address")
	bare := flag.Bool("bare", false, "serve the bare 302 handler instead of the track server")
	discard := flag.Bool("discard-clicks", false, "tracked mode, but the click writer counts batches instead of storing them (isolates the handler's cost from the store's)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file (after shutdown)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redirectserver:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "redirectserver:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *bare {
		err = runBare(ctx, *addr)
	} else {
		err = runTracked(ctx, *addr, *discard)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "redirectserver:", err)
		os.Exit(1)
	}
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			fmt.Fprintln(os.Stderr, "redirectserver:", err)
			os.Exit(1)
		}
	}
}

// writeHeapProfile writes the heap profile, whose alloc_space and alloc_objects samples cover every
// allocation since the start.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runBare(ctx context.Context, addr string) error {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{code}", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Location"] = []string{"https://shop.example.com/p/batik?ref=abc&x=1&kclid=AbCdEfGh12345678"}
		w.WriteHeader(http.StatusFound)
		n.Add(1)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Println("ready code=AbCdEfGh")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Printf("final redirects=%d recorded=%d dropped=0\n", n.Load(), n.Load())
	return nil
}

// discardingStore is the real store except that RecordClicks only counts the clicks.
type discardingStore struct {
	*store.Store
	n atomic.Int64
}

func (d *discardingStore) RecordClicks(_ context.Context, c []affiliate.Click) ([]affiliate.Click, error) {
	d.n.Add(int64(len(c)))
	return c, nil
}

func runTracked(ctx context.Context, addr string, discard bool) error {
	dir, err := os.MkdirTemp("", "redirectserver")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "bench.db"), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	code, err := setup(st)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	var ts track.Store = st
	ds := &discardingStore{Store: st}
	if discard {
		ts = ds
	}
	srv := track.New(track.Config{
		Addr:     addr,
		Logger:   zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger(),
		Registry: reg,
	}, ts)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Printf("ready code=%s\n", code)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	counts, err := st.LinkCounts(sctx, code, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	redirects, err := counterSum(reg, "keranjang_redirects_total", "orphan")
	if err != nil {
		return err
	}
	recorded := counts.Clicks + counts.BotVisits
	if discard {
		recorded = ds.n.Load()
	}
	fmt.Printf("final redirects=%d recorded=%d dropped=%d clicks=%d unique=%d bots=%d\n",
		redirects, recorded, srv.Dropped(), counts.Clicks, counts.UniqueClicks, counts.BotVisits)
	return nil
}

// setup creates a seller with one product and an affiliate's link to it, and returns the link code.
func setup(st *store.Store) (string, error) {
	if _, _, err := st.RegisterUser(context.Background(), affiliate.User{ID: 1, FirstName: "Seller", TimeZone: "Asia/Jakarta"}); err != nil {
		return "", err
	}
	if _, _, err := st.RegisterUser(context.Background(), affiliate.User{ID: 2, FirstName: "Affiliate", TimeZone: "Asia/Jakarta"}); err != nil {
		return "", err
	}
	if _, err := st.ApplySeller(context.Background(), 1, "Bench Shop"); err != nil {
		return "", err
	}
	if _, _, err := st.DecideApplication(context.Background(), 1, true, 1); err != nil {
		return "", err
	}
	p, err := st.CreateProduct(context.Background(), affiliate.Product{SellerID: 1, Name: "Batik", Price: 150000, Rate: 1000,
		URL: "https://shop.example.com/p/batik?ref=abc&x=1"})
	if err != nil {
		return "", err
	}
	l, _, err := st.JoinProduct(context.Background(), 2, p.ID)
	if err != nil {
		return "", err
	}
	return l.Code, nil
}

// counterSum adds the values of a counter family, leaving out the series whose result label is skip.
func counterSum(g prometheus.Gatherer, name, skip string) (int64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == skip {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return int64(sum), nil
}

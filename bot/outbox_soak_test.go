package bot_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
)

// TestOutboxSoak measures the delivery rate against KERANJANG_SEND_RATE=25 for 60 seconds, against the
// fake with Telegram's own limits (30 a second, one a second per private chat). It runs only with
// KERANJANG_SOAK=1 (docs/PERFORMANCE.md, "Outbox").
func TestOutboxSoak(t *testing.T) {
	if os.Getenv("KERANJANG_SOAK") != "1" {
		t.Skip("set KERANJANG_SOAK=1 to run the 60-second delivery soak")
	}
	const rate, window = 25, 60 * time.Second
	r := newOutboxRig(t, rate)
	r.fake.Close() // the rig's fake has the test's global limit; this soak uses Telegram's
	fake := tgfake.New(tgfake.WithLimits(tgfake.TelegramLimits))
	t.Cleanup(fake.Close)
	r.fake = fake
	r.edge = newEdge(t, fake)
	ids := make([]int64, 3000) // more than 60 s of work
	for i := range ids {
		ids[i] = int64(10000 + i)
		fake.KnowChat(tgfake.Chat{ID: ids[i]})
	}
	r.enqueue(t, "soak", ids)
	stop := r.start(t)
	start := time.Now()
	time.Sleep(window) // the measurement window itself, not a synchronisation
	stop()
	elapsed := time.Since(start)
	sent := len(r.delivered())
	achieved := float64(sent) / elapsed.Seconds()
	t.Logf("sent %d in %v: %.2f messages/s against a rate of %d (%.1f%%); refused for rate: %d",
		sent, elapsed.Round(time.Millisecond), achieved, rate, 100*achieved/rate, len(fake.RateLimited()))
	if achieved < 0.95*rate || len(fake.RateLimited()) > 0 {
		t.Fatalf("below target: %.2f/s (want ≥ %.2f) or refused for rate", achieved, 0.95*rate)
	}
}

// TestOutboxMemory measures the resident memory of the process with 100,000 users and a 100,000-message
// fan-out queued, while the worker sends from it. It runs only with KERANJANG_SOAK=1.
func TestOutboxMemory(t *testing.T) {
	if os.Getenv("KERANJANG_SOAK") != "1" {
		t.Skip("set KERANJANG_SOAK=1 to measure memory with a 100,000-message fan-out")
	}
	const n = 100000
	r := newOutboxRig(t, 25)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(100000 + i)
	}
	start := time.Now()
	registerUsers(t, r, ids)
	t.Logf("%d users registered in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if q := r.enqueue(t, "alert:9", ids); q != n {
		t.Fatalf("queued %d", q)
	}
	t.Logf("%d messages queued in %v (pages of 1,000)", n, time.Since(start).Round(time.Millisecond))
	for _, id := range ids[:2000] {
		r.fake.KnowChat(tgfake.Chat{ID: id})
	}
	stop := r.start(t)
	time.Sleep(5 * time.Second) // let the worker run over the full queue for a while
	stop()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := vmRSS(t)
	fi, _ := os.Stat(r.path)
	t.Logf("queued %d; VmRSS %.1f MB, VmHWM %.1f MB, Go Sys %.1f MB, heap in use %.1f MB; database file %.1f MB",
		r.stats(t).Queued, rss["VmRSS"], rss["VmHWM"], float64(ms.Sys)/1e6, float64(ms.HeapInuse)/1e6, float64(fi.Size())/1e6)
	if rss["VmHWM"] > 150 {
		t.Errorf("peak resident memory %.1f MB, target ≤ 150 MB", rss["VmHWM"])
	}
}

// vmRSS reads the memory lines of /proc/self/status, in MB.
func vmRSS(t *testing.T) map[string]float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(k, "Vm") {
			continue
		}
		var kb float64
		for _, c := range strings.TrimSuffix(strings.TrimSpace(v), " kB") {
			kb = kb*10 + float64(c-'0')
		}
		out[k] = kb / 1024
	}
	return out
}

func newEdge(t *testing.T, fake *tgfake.Server) *bot.Bot {
	t.Helper()
	edge, err := bot.New(bot.Config{Token: secret.Secret(fake.Token()), APIURL: fake.URL(), Workers: 1, Logger: zerolog.Nop()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return edge
}

// registerUsers registers reachable users, eight at a time.
func registerUsers(t *testing.T, r *outboxRig, ids []int64) {
	t.Helper()
	var g errgroup
	for w := range 8 {
		g.Go(func() error {
			for i := w; i < len(ids); i += 8 {
				u := affiliate.User{ID: ids[i], ChatID: ids[i], FirstName: "U", Lang: affiliate.LangID, AlertsOn: true, Reachable: true}
				if _, _, err := r.st.RegisterUser(context.Background(), u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// errgroup runs functions and keeps the first error.
type errgroup struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func (g *errgroup) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
}

func (g *errgroup) Wait() error { g.wg.Wait(); return g.err }

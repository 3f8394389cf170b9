//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
)

// Shape of the end-to-end load: benchUsers registered users send benchCommands round-robin, with at
// most inflight updates (one sub-benchmark per benchInFlight) queued at the fake or in the bot and not yet
// answered: 16 keeps about one update per bot worker, 100 keeps every worker's queue busy.
const (
	benchUsers    = 1000
	benchProducts = 20
	benchLinks    = 3 // basket links per user, so /links has rows to count
)

var benchInFlight = []int{16, 100}

var benchCommands = []string{"/help", "/links", "/products"}

// BenchmarkUpdatesEndToEnd measures command updates handled per second through the whole system: the fake
// Bot API queues a user's message, the bot long-polls it, the workers run the middleware, the commands
// read the store, and the reply is recorded by the fake. Latency runs from the update being queued to
// its reply being recorded. "baseline" runs the same bot edge against the same fake with a handler that
// only sends "ok", so the cost of the commands and the store shows as the ratio of the two.
func BenchmarkUpdatesEndToEnd(b *testing.B) {
	ctx := context.Background()

	// Setup runs once: b.Run calls each closure again for every b.N it tries.
	sb, err := newSandbox(ctx, b.TempDir(), zerolog.Nop(), nil, Options{RateBurst: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.close()
	users := benchRegister(b, sb)
	b.Run("commands", func(b *testing.B) { benchWindows(b, sb.fake, users) })
	if err := sb.close(); err != nil {
		b.Fatal(err)
	}

	fake := tgfake.New()
	defer fake.Close()
	var edge *bot.Bot
	edge, err = bot.New(bot.Config{
		Token: secret.Secret(fake.Token()), APIURL: fake.URL(), Logger: zerolog.Nop(), RateBurst: 1 << 20,
	}, bot.HandlerFunc(func(ctx context.Context, r *bot.Request) {
		_, _ = edge.Send(ctx, r.Chat.ID, bot.Message{Text: "ok"})
	}))
	if err != nil {
		b.Fatal(err)
	}
	if err := edge.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = edge.Stop(context.Background()) }()
	b.Run("baseline", func(b *testing.B) { benchWindows(b, fake, users) })
}

func benchUsers0() []tgfake.User {
	users := make([]tgfake.User, benchUsers)
	for i := range users {
		users[i] = tgfake.User{ID: int64(500_000 + i), FirstName: fmt.Sprintf("Bench%d", i), LanguageCode: "en"}
	}
	return users
}

// benchRegister registers the users with /start through the fake, creates products and gives every user
// benchLinks basket links.
func benchRegister(b *testing.B, sb *sandbox) []tgfake.User {
	b.Helper()
	users := benchUsers0()
	starts := make([]string, len(users))
	for i := range starts {
		starts[i] = "/start"
	}
	if _, _, err := benchRun(sb.fake, users, starts, len(users)); err != nil {
		b.Fatalf("register: %v", err)
	}
	var ids []uint64
	for i := range benchProducts {
		p, err := sb.app.store.CreateProduct(b.Context(), affiliate.Product{SellerID: 1, Name: fmt.Sprintf("Produk %d", i),
			Description: "Barang untuk uji beban", Price: affiliate.Rupiah(10_000 + i*1_000),
			Rate: affiliate.BasisPoints(500 + i*10), URL: fmt.Sprintf("https://shop.example/p/%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	for i, u := range users {
		for j := range benchLinks {
			if _, _, err := sb.app.store.JoinProduct(b.Context(), u.ID, ids[(i+j)%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	return users
}

func benchWindows(b *testing.B, fake *tgfake.Server, users []tgfake.User) {
	for _, n := range benchInFlight {
		b.Run(fmt.Sprintf("inflight=%d", n), func(b *testing.B) { benchLoad(b, fake, users, n) })
	}
}

// benchLoad pushes b.N command updates through the fake, at most inFlight unanswered, and waits for b.N
// replies; it reports updates/s and the p50 and p99 latency from queueing to reply.
func benchLoad(b *testing.B, fake *tgfake.Server, users []tgfake.User, inFlight int) {
	b.Helper()
	texts := make([]string, b.N)
	for i := range texts {
		texts[i] = benchCommands[i%len(benchCommands)]
	}
	fake.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	lat, elapsed, err := benchRun(fake, users, texts, inFlight)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range fake.Rejected() {
		b.Fatalf("tgfake rejected %s", c)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
	b.ReportMetric(float64(lat[len(lat)*50/100])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)])/1e6, "p99-ms")
	// CPU time of the whole process (fake, bot, commands, store, load generator) per update: unlike
	// updates/s it does not drop when other programs share the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/update")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRun sends texts[i] as users[i%len(users)], keeping at most inFlight unanswered, and waits until
// every one has been answered by exactly one sendMessage to its chat. It returns the latency of each
// update and the time the whole run took.
func benchRun(fake *tgfake.Server, users []tgfake.User, texts []string, inFlight int) ([]time.Duration, time.Duration, error) {
	var (
		mu     sync.Mutex
		queued = make(map[int64][]time.Time, len(users))
		lat    = make([]time.Duration, 0, len(texts))
		stray  int
		slots  = make(chan struct{}, inFlight)
		done   = make(chan struct{})
	)
	fake.OnCall(func(c tgfake.Call) {
		if c.Method != "sendMessage" || c.Status != http.StatusOK {
			return
		}
		chat := c.ChatID()
		mu.Lock()
		q := queued[chat]
		if len(q) == 0 {
			stray++
			mu.Unlock()
			return
		}
		lat = append(lat, c.Time.Sub(q[0]))
		queued[chat] = q[1:]
		finished := len(lat) == len(texts)
		mu.Unlock()
		<-slots
		if finished {
			close(done)
		}
	})
	defer fake.OnCall(nil)

	start := time.Now()
	for i, text := range texts {
		slots <- struct{}{}
		u := users[i%len(users)]
		mu.Lock()
		queued[u.ID] = append(queued[u.ID], time.Now())
		mu.Unlock()
		fake.SendText(u, tgfake.Chat{}, text)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		mu.Lock()
		defer mu.Unlock()
		return nil, 0, fmt.Errorf("%d of %d replies after a minute", len(lat), len(texts))
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if stray > 0 {
		return nil, 0, fmt.Errorf("%d replies to chats with no update waiting", stray)
	}
	return lat, elapsed, nil
}

// Command clusterload is the harness of bench/cluster.sh (docs/PERFORMANCE.md, "PostgreSQL and many
// instances"). For each configuration of one run — bbolt with one instance, PostgreSQL with one, two and
// three — it starts the real binary (`keranjang serve`, webhook mode) on a fresh database against an
// in-process fake Bot API (internal/tgfake), and measures, with the load spread over the instances:
//
//   - redirects/s on GET /r/{code}: wrk as fast as it goes, its threads spread over the instances by a
//     Lua script; requests/s and p99 of all of them, and the clicks the instances dropped because their
//     click buffer was full (the click writers could not keep up);
//   - steady redirects: the same at a steady -steady redirects/s, at which no click may be dropped;
//   - signed postbacks/s: C senders, sender i posting to instance i mod N, each postback a new pending
//     order; every answer must be 200 with "changed": true;
//   - updates/s: Telegram updates handled end to end. The harness plays Telegram behind a load balancer:
//     it POSTs each update with the webhook's secret header to the next instance in turn, keeping at most
//     -inflight unanswered, and counts the bot's replies at the fake. Every update must be answered by
//     exactly one sendMessage the fake accepted; no update may be refused, rate limited, failed or taken
//     as a duplicate (the instances' metrics).
//
// Each measurement waits for a quiet machine first, and reports the CPU time per request of the
// instances and of PostgreSQL's processes, and how much CPU the rest of the machine took meanwhile.
// After the phases it stops the instances gracefully (SIGTERM) and checks that no click was lost (the
// clicks stored are the 302s the instances answered less the clicks they dropped and counted) and that
// every acknowledged postback is an order. It prints one table of the configurations, each rate with
// its ratio to the first configuration's, and exits 1 when a check failed.
//
// Every configuration starts from the same data: a seller with 20 products and an API key, the clicked
// affiliate with one basket link (the target of the redirects and the postbacks), and -users affiliates
// with 3 links each who send the updates (/help, /links and /products in turn). It is written once
// through the bbolt store into a template file, which each bbolt configuration copies, and exported to
// a dump, which each PostgreSQL configuration imports into a schema of its own (dropped afterwards).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bench/internal/postback"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/track"
)

const (
	webhookURL    = "https://keranjang.example/telegram/webhook"
	webhookSecret = "bench-cluster-webhook-secret-0123456789"
	sellerID      = 1
	clickedID     = 2 // the affiliate whose basket link takes the redirects and the postbacks
	firstUserID   = 500_000
	products      = 20
	linksPerUser  = 3
	userAgent     = "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
	// clockTicks is the unit of the CPU times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK), 100 on Linux).
	clockTicks = 100
)

// commands are the updates' texts, sent in turn.
var commands = []string{"/help", "/links", "/products"}

// spreadLua makes wrk's thread i talk to the i-th (mod N) address of WRK_TARGETS (host:port,…), each
// connection pausing WRK_DELAY_MS before each request when that is set (a steady rate). With
// WRK_VISITORS=many every request is a new visitor (the user agent of WRK_UA with the thread's number and
// a counter: the visitor is a hash of address and user agent), as many people clicking one link are;
// otherwise every request carries WRK_UA, one visitor clicking again and again.
const spreadLua = `local targets = {}
for t in string.gmatch(os.getenv("WRK_TARGETS"), "[^,]+") do table.insert(targets, t) end
local n = 0
function setup(thread)
  local host, port = string.match(targets[n % #targets + 1], "^(.*):(%d+)$")
  thread.addr = wrk.lookup(host, port)[1]
  thread:set("tid", n)
  n = n + 1
end
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
local ua = os.getenv("WRK_UA")
local headers = {}
local count = 0
if os.getenv("WRK_VISITORS") == "many" then
  request = function()
    count = count + 1
    headers["User-Agent"] = ua .. " v" .. tid .. "." .. count
    return wrk.format(nil, nil, headers)
  end
end
`

type options struct {
	bin         string
	pg          string
	configs     string
	dur         time.Duration
	threads     int
	connections int
	senders     int
	inflight    int
	users       int
	work        string
	keep        bool
	quiet       time.Duration
	visitors    string
	steady      int
}

// config is one configuration: a backend and a number of instances.
type config struct {
	backend string // "bbolt" or "pg"
	n       int
}

func (c config) String() string { return fmt.Sprintf("%s×%d", c.backend, c.n) }

func parseConfigs(s string) ([]config, error) {
	var out []config
	for f := range strings.SplitSeq(s, ",") {
		b, n, ok := strings.Cut(strings.TrimSpace(f), ":")
		k, err := strconv.Atoi(n)
		if !ok || err != nil || k < 1 || (b != "bbolt" && b != "pg") || (b == "bbolt" && k != 1) {
			return nil, fmt.Errorf("bad configuration %q: want bbolt:1 or pg:<instances>", f)
		}
		out = append(out, config{b, k})
	}
	return out, nil
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the keranjang binary")
	flag.StringVar(&o.pg, "pg", firstEnv("BENCH_POSTGRES", "KERANJANG_TEST_POSTGRES"),
		"PostgreSQL server URL; each configuration gets a schema of its own ($BENCH_POSTGRES, $KERANJANG_TEST_POSTGRES)")
	flag.StringVar(&o.configs, "configs", "bbolt:1,pg:1,pg:2,pg:3", "configurations, in order; the first is the baseline of the ratios")
	flag.DurationVar(&o.dur, "d", 8*time.Second, "duration of each measurement")
	flag.IntVar(&o.threads, "threads", 6, "wrk threads (spread over the instances)")
	flag.IntVar(&o.connections, "connections", 60, "wrk connections")
	flag.IntVar(&o.steady, "steady", 5000, "redirects/s of the steady phase, at which no click may be dropped (0: no such phase)")
	flag.StringVar(&o.visitors, "visitors", "many", "redirects: many (every request a new visitor) or one (one visitor clicking again and again)")
	flag.IntVar(&o.senders, "c", 32, "concurrent postback senders")
	flag.IntVar(&o.inflight, "inflight", 64, "updates sent and not yet answered, at most")
	flag.IntVar(&o.users, "users", 5000, "affiliates who send updates")
	flag.StringVar(&o.work, "work", "", "working directory (default: a new temporary one, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (instances' logs)")
	flag.DurationVar(&o.quiet, "quiet", time.Minute, "before each measurement, wait up to this long for 3 s of a quiet machine (under 15% busy); 0: do not wait")
	flag.Parse()
	cfgs, err := parseConfigs(o.configs)
	if err != nil {
		fatalf("%v", err)
	}
	if o.bin == "" {
		fatalf("-bin is required")
	}
	if o.visitors != "many" && o.visitors != "one" {
		fatalf("-visitors must be many or one")
	}
	if slices.ContainsFunc(cfgs, func(c config) bool { return c.backend == "pg" }) && o.pg == "" {
		fatalf("set BENCH_POSTGRES or KERANJANG_TEST_POSTGRES (or -pg) to a PostgreSQL server URL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "keranjang-cluster-bench-"); err != nil {
			fatalf("%v", err)
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	}
	if err := os.WriteFile(filepath.Join(o.work, "spread.lua"), []byte(spreadLua), 0o644); err != nil {
		fatalf("%v", err)
	}
	start := time.Now()
	sd, err := buildSeed(ctx, o.work, o.users)
	if err != nil {
		fatalf("seed: %v", err)
	}
	fmt.Printf("seeded %d affiliates with %d links each, %d products, in %s\n", o.users, linksPerUser, products,
		time.Since(start).Round(100*time.Millisecond))
	fmt.Printf("each measurement %s: redirects wrk -t%d -c%d (%s visitors), steady %d/s; postbacks from %d senders; updates %d in flight\n",
		o.dur, o.threads, o.connections, o.visitors, o.steady, o.senders, o.inflight)

	var results []*result
	failed := false
	for i, c := range cfgs {
		if ctx.Err() != nil {
			break
		}
		r := runConfig(ctx, o, sd, c, i)
		results = append(results, r)
		if len(r.errs) > 0 {
			failed = true
		}
	}
	printTable(os.Stdout, results)
	if failed || ctx.Err() != nil {
		os.Exit(1)
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "clusterload: "+format+"\n", args...)
	os.Exit(2)
}

// seed is the data every configuration starts from.
type seed struct {
	bbolt string // the template bbolt file
	dump  string // the same, as a dump
	code  string // the clicked affiliate's basket link
	key   string // the seller's API key
	users []tgfake.User
}

// buildSeed writes the template through the bbolt store and exports it.
func buildSeed(ctx context.Context, dir string, n int) (*seed, error) {
	sd := &seed{bbolt: filepath.Join(dir, "template.db"), dump: filepath.Join(dir, "template.dump")}
	st, err := store.Open(sd.bbolt, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	user := func(id int64, name string) error {
		_, _, err := st.RegisterUser(ctx, affiliate.User{ID: id, ChatID: id, FirstName: name, Lang: affiliate.LangEN,
			TimeZone: "Asia/Jakarta", DigestMinute: -1, Reachable: true})
		return err
	}
	if err := user(sellerID, "Bench Seller"); err != nil {
		return nil, err
	}
	if _, err := st.ApplySeller(ctx, sellerID, "Toko Bench"); err != nil {
		return nil, err
	}
	if _, _, err := st.DecideApplication(ctx, sellerID, true, sellerID); err != nil {
		return nil, err
	}
	ids := make([]uint64, products)
	for i := range ids {
		p, err := st.CreateProduct(ctx, affiliate.Product{SellerID: sellerID, Name: fmt.Sprintf("Produk %d", i),
			Description: "Barang untuk uji beban", Price: affiliate.Rupiah(10_000 + i*1_000),
			Rate: affiliate.BasisPoints(500 + i*10), URL: fmt.Sprintf("https://shop.example/p/%d", i)})
		if err != nil {
			return nil, err
		}
		ids[i] = p.ID
	}
	if err := user(clickedID, "Clicked"); err != nil {
		return nil, err
	}
	l, _, err := st.JoinProduct(ctx, clickedID, ids[0])
	if err != nil {
		return nil, err
	}
	sd.code = l.Code
	for i := range n {
		u := tgfake.User{ID: int64(firstUserID + i), FirstName: fmt.Sprintf("Bench%d", i), LanguageCode: "en"}
		if err := user(u.ID, u.FirstName); err != nil {
			return nil, err
		}
		for j := range linksPerUser {
			if _, _, err := st.JoinProduct(ctx, u.ID, ids[(i+j)%len(ids)]); err != nil {
				return nil, err
			}
		}
		sd.users = append(sd.users, u)
	}
	if sd.key, err = st.APIKey(ctx, sellerID); err != nil {
		return nil, err
	}
	f, err := os.Create(sd.dump)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w, err := dump.NewWriter(f, dump.Header{Source: "bbolt", Schema: store.SchemaLatest})
	if err != nil {
		return nil, err
	}
	if err := st.Export(ctx, w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sd, f.Close()
}

// phase is one measurement.
type phase struct {
	count int64   // requests answered as they must be
	rate  float64 // of them per second
	p99   float64 // ms
	// serverP99 is the upper bound (ms) of the instances' latency bucket holding the 99th percentile
	// (see p99Bound); 0 when not read.
	serverP99 float64
	cpuKer    time.Duration // the instances'
	cpuPG     time.Duration // PostgreSQL's processes'
	cpuLoad   time.Duration // the load generators': this process (with the fake Bot API) and wrk
	busy      float64       // machine-wide CPU busy share during the phase, of all cores
	others    float64       // the share of all cores used by the rest of the machine during the phase
	elapsed   time.Duration
}

func (p phase) cpuPer(d time.Duration) float64 {
	if p.count == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(p.count)
}

// result is one configuration's measurements and checks.
type result struct {
	cfg                           config
	redirects, postbacks, updates phase
	steady                        phase // redirects at a steady rate (options.steady)
	satDropped, steadyDropped     int64 // clicks dropped in the redirect phases
	answered302, clicksStored     int64
	dropped                       int64 // clicks the instances dropped (full click buffer)
	ordersAcked, ordersStored     int64 // postbacks acknowledged (the warm-up's too), orders in the database
	errs                          []string
}

func (r *result) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.errs = append(r.errs, msg)
	fmt.Printf("  FAIL %s: %s\n", r.cfg, msg)
}

// runConfig measures one configuration on a fresh database.
func runConfig(ctx context.Context, o options, sd *seed, c config, idx int) *result {
	r := &result{cfg: c}
	fmt.Printf("%s\n", c)
	db, cleanup, err := freshDB(ctx, o, sd, c, idx)
	if err != nil {
		r.fail("database: %v", err)
		return r
	}
	defer cleanup()

	// The fake Bot API takes the bot's calls. The updates are delivered by the harness, not by the fake:
	// the fake only makes them (SendText, so that it knows the chats and messages the bot answers) and
	// its own webhook delivery goes nowhere.
	fake := tgfake.New(tgfake.WithWebhookClient(&http.Client{Transport: nowhere{}}))
	defer fake.Close()
	for _, id := range []int64{sellerID, clickedID} {
		fake.KnowChat(tgfake.Chat{ID: id})
	}
	env := []string{
		"KERANJANG_BOT_TOKEN=" + fake.Token(), "KERANJANG_BOT_API_URL=" + fake.URL(), "KERANJANG_DB=" + db,
		"KERANJANG_PUBLIC_URL=https://keranjang.example", "KERANJANG_WEBHOOK_URL=" + webhookURL,
		"KERANJANG_WEBHOOK_SECRET=" + webhookSecret, "KERANJANG_ADMIN_IDS=", "KERANJANG_ADMIN_TOKEN=", "KERANJANG_SELLER_APPROVAL=auto",
		"KERANJANG_LOG_LEVEL=warn", "KERANJANG_LOG_FORMAT=json", "KERANJANG_POLICY_FEEDS=",
	}
	var insts []*instance
	defer func() {
		for _, in := range insts {
			in.kill()
		}
	}()
	for i := range c.n {
		in, err := startInstance(o.bin, env, filepath.Join(o.work, fmt.Sprintf("%02d-%s-%d-instance%d.log", idx, c.backend, c.n, i)))
		if err != nil {
			r.fail("instance %d: %v", i, err)
			return r
		}
		insts = append(insts, in)
	}
	if err := waitLeader(ctx, insts); err != nil {
		r.fail("%v", err)
		return r
	}

	// A short warm-up of each kind, not measured (but counted by the checks at the end).
	warm := o
	warm.dur = time.Second
	if _, err := runRedirects(ctx, warm, insts, sd.code, 0, filepath.Join(o.work, fmt.Sprintf("%02d-%s-%d-wrk-warm.txt", idx, c.backend, c.n))); err != nil {
		r.fail("warm-up redirects: %v", err)
		return r
	}
	_, warmOrders, err := runPostbacks(ctx, warm, insts, sd, "warm")
	if err != nil {
		r.fail("warm-up postbacks: %v", err)
		return r
	}
	if _, err := runUpdates(ctx, warm, fake, insts, sd.users, 0); err != nil {
		r.fail("warm-up updates: %v", err)
		return r
	}

	gate := func(name string) {
		if o.quiet <= 0 {
			return
		}
		if waited, ok := waitQuiet(ctx, o.quiet); !ok {
			fmt.Printf("  %s: the machine was not quiet after %s; measuring anyway\n", name, waited.Round(time.Second))
		}
	}
	show := func(name string, p phase) {
		server := ""
		if p.serverP99 > 0 {
			server = fmt.Sprintf(" (in the handler ≤ %g ms)", p.serverP99)
		}
		fmt.Printf("  %-9s %8.0f/s  p99 %7.2f ms%s  (%d in %s; CPU µs each: instances %.0f, PostgreSQL %.0f; machine %.0f%% busy, the rest %.0f%%)\n",
			name, p.rate, p.p99, server, p.count, p.elapsed.Round(time.Millisecond), p.cpuPer(p.cpuKer), p.cpuPer(p.cpuPG), 100*p.busy, 100*p.others)
	}
	gate("redirects")
	w0, h0 := clickWriters(insts), routeLatency(insts, "GET /r/{code}")
	r.redirects, err = measure(insts, func() (phase, error) {
		return runRedirects(ctx, o, insts, sd.code, 0, filepath.Join(o.work, fmt.Sprintf("%02d-%s-%d-wrk.txt", idx, c.backend, c.n)))
	})
	r.redirects.serverP99 = routeLatency(insts, "GET /r/{code}").p99Bound(h0)
	if err != nil {
		r.fail("redirects: %v", err)
	}
	show("redirects", r.redirects)
	w := clickWriters(insts).sub(w0)
	r.satDropped = int64(w.dropped)
	if w.batches > 0 {
		fmt.Printf("            click writers: %.0f batches of %.0f clicks on average, %.1f ms each; %.0f clicks dropped (a full click buffer)\n",
			w.batches, w.clicks/w.batches, 1000*w.seconds/w.batches, w.dropped)
	}
	if o.steady > 0 {
		gate("steady redirects")
		w0, h0 = clickWriters(insts), routeLatency(insts, "GET /r/{code}")
		r.steady, err = measure(insts, func() (phase, error) {
			return runRedirects(ctx, o, insts, sd.code, o.steady, filepath.Join(o.work, fmt.Sprintf("%02d-%s-%d-wrk-steady.txt", idx, c.backend, c.n)))
		})
		r.steady.serverP99 = routeLatency(insts, "GET /r/{code}").p99Bound(h0)
		if err != nil {
			r.fail("steady redirects: %v", err)
		}
		show("steady", r.steady)
		w = clickWriters(insts).sub(w0)
		if r.steadyDropped = int64(w.dropped); r.steadyDropped > 0 {
			r.fail("%d clicks dropped at a steady %d redirects/s, want none", r.steadyDropped, o.steady)
		}
		if w.batches > 0 {
			fmt.Printf("            click writers: %.0f batches of %.0f clicks on average, %.1f ms each; %.0f clicks dropped\n",
				w.batches, w.clicks/w.batches, 1000*w.seconds/w.batches, w.dropped)
		}
	}
	gate("postbacks")
	h0 = routeLatency(insts, "POST /api/v1/conversions")
	r.postbacks, err = measure(insts, func() (phase, error) {
		p, n, err := runPostbacks(ctx, o, insts, sd, "run")
		r.ordersAcked = warmOrders + n
		return p, err
	})
	r.postbacks.serverP99 = routeLatency(insts, "POST /api/v1/conversions").p99Bound(h0)
	if err != nil {
		r.fail("postbacks: %v", err)
	}
	show("postbacks", r.postbacks)
	gate("updates")
	r.updates, err = measure(insts, func() (phase, error) { return runUpdates(ctx, o, fake, insts, sd.users, 1) })
	if err != nil {
		r.fail("updates: %v", err)
	}
	show("updates", r.updates)

	// The instances' own counts, then a graceful stop.
	var tracked, bots, dropped, limited, updErrs, dups float64
	for i, in := range insts {
		page, err := in.scrape()
		if err != nil {
			r.fail("metrics of instance %d: %v", i, err)
			continue
		}
		tracked += sample(page, "keranjang_redirects_total", `result="tracked"`)
		bots += sample(page, "keranjang_redirects_total", `result="bot"`)
		dropped += sample(page, "keranjang_clicks_dropped_total", "")
		limited += sample(page, "keranjang_updates_rate_limited_total", "")
		updErrs += sample(page, "keranjang_update_errors_total", "")
		dups += sample(page, "keranjang_updates_duplicate_total", "")
	}
	r.dropped = int64(dropped)
	if bots != 0 {
		r.fail("%v bot visits, want none", bots)
	}
	if limited != 0 || updErrs != 0 || dups != 0 {
		r.fail("updates: %v rate limited, %v failed, %v duplicates, want none", limited, updErrs, dups)
	}
	for _, call := range fake.Rejected() {
		r.fail("the fake Bot API refused %s", call)
		break
	}
	r.answered302 = int64(tracked)
	for i, in := range insts {
		if err := in.stop(); err != nil {
			r.fail("stop instance %d: %v", i, err)
		}
	}
	insts = nil
	if r.clicksStored, r.ordersStored, err = stored(ctx, c, db, sd.code); err != nil {
		r.fail("read the database: %v", err)
	} else {
		if r.clicksStored != r.answered302-r.dropped {
			r.fail("%d clicks stored, %d redirects answered and %d of their clicks dropped (counted): %d lost", r.clicksStored,
				r.answered302, r.dropped, r.answered302-r.dropped-r.clicksStored)
		}
		if r.ordersStored != r.ordersAcked {
			r.fail("%d orders stored, %d postbacks acknowledged", r.ordersStored, r.ordersAcked)
		}
	}
	fmt.Printf("  after a graceful stop: clicks stored %d, 302s answered %d, clicks dropped %d; orders stored %d, postbacks acknowledged %d\n",
		r.clicksStored, r.answered302, r.dropped, r.ordersStored, r.ordersAcked)
	return r
}

// freshDB makes the configuration's database from the seed and returns what KERANJANG_DB names it and a
// function that removes it.
func freshDB(ctx context.Context, o options, sd *seed, c config, idx int) (string, func(), error) {
	if c.backend == "bbolt" {
		path := filepath.Join(o.work, fmt.Sprintf("%02d-bbolt.db", idx))
		if err := copyFile(sd.bbolt, path); err != nil {
			return "", nil, err
		}
		return path, func() { _ = os.Remove(path) }, nil
	}
	schema := fmt.Sprintf("bench_cluster_%d_%d", os.Getpid(), idx)
	if err := execPG(ctx, o.pg, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := execPG(dctx, o.pg, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			fmt.Printf("  drop schema %s: %v\n", schema, err)
		}
	}
	u, err := url.Parse(o.pg)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db := u.String()
	if err := importDump(ctx, db, sd.dump); err != nil {
		drop()
		return "", nil, err
	}
	return db, drop, nil
}

func importDump(ctx context.Context, db, path string) error {
	st, err := postgres.Open(ctx, db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := dump.NewReader(f)
	if err != nil {
		return err
	}
	_, err = st.Import(ctx, r)
	return err
}

func execPG(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// stored reads the clicks on code and the number of orders from the database of a stopped configuration.
func stored(ctx context.Context, c config, db, code string) (clicks, orders int64, err error) {
	type reader interface {
		LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
		Stats(ctx context.Context) (affiliate.Stats, error)
	}
	var st reader
	if c.backend == "bbolt" {
		s, err := store.Open(db, store.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			return 0, 0, err
		}
		defer s.Close()
		st = s
	} else {
		s, err := postgres.Open(ctx, db, store.Options{})
		if err != nil {
			return 0, 0, err
		}
		defer s.Close()
		st = s
	}
	n, err := st.LinkCounts(ctx, code, time.Time{}, time.Time{})
	if err != nil {
		return 0, 0, err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return 0, 0, err
	}
	return n.Clicks, stats.Orders, nil
}

// nowhere answers every request 200 without sending it anywhere: the fake's own webhook delivery.
type nowhere struct{}

func (nowhere) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// instance is one keranjang serve process.
type instance struct {
	cmd     *exec.Cmd
	addr    string // host:port of its HTTP listener
	metrics string // host:port of its metrics listener
	done    chan error
	log     *os.File
	stopped bool
}

func startInstance(bin string, env []string, logPath string) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	in := &instance{addr: "127.0.0.1:" + strconv.Itoa(port), metrics: "127.0.0.1:" + strconv.Itoa(mport), done: make(chan error, 1), log: log}
	in.cmd = exec.Command(bin, "serve")
	in.cmd.Env = append(append(os.Environ(), env...), "KERANJANG_HTTP_ADDR="+in.addr, "KERANJANG_METRICS_ADDR="+in.metrics)
	in.cmd.Stdout, in.cmd.Stderr = log, log
	if err := in.cmd.Start(); err != nil {
		_ = log.Close()
		return nil, err
	}
	go func() { in.done <- in.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-in.done:
			in.stopped = true
			_ = log.Close()
			return nil, fmt.Errorf("exited before it was ready (%v); see %s", err, logPath)
		default:
		}
		resp, err := web.Get("http://" + in.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.kill()
	return nil, fmt.Errorf("not ready after a minute; see %s", logPath)
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	if in.stopped {
		return nil
	}
	in.stopped = true
	defer in.log.Close()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-in.done:
		return err
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
		return errors.New("still running 30 s after SIGTERM: killed")
	}
}

// kill ends an instance that is still running (after a failure).
func (in *instance) kill() {
	if in.stopped {
		return
	}
	in.stopped = true
	_ = in.cmd.Process.Kill()
	<-in.done
	_ = in.log.Close()
}

func (in *instance) scrape() (string, error) {
	resp, err := web.Get("http://" + in.metrics + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// cpu is the user and system CPU time the process has used.
func (in *instance) cpu() time.Duration { return procCPU(in.cmd.Process.Pid) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// web is the harness's HTTP client for everything but the load; redirects are not followed.
var web = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// waitLeader waits until exactly one instance says it leads.
func waitLeader(ctx context.Context, insts []*instance) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		leaders := 0
		for _, in := range insts {
			if page, err := in.scrape(); err == nil && sample(page, "keranjang_leader", "") == 1 {
				leaders++
			}
		}
		if leaders == 1 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no single leader after 30 s")
}

// sample adds up the samples of metric name in a Prometheus text page whose labels contain label ("" for
// any).
func sample(page, name, label string) float64 {
	var sum float64
	for line := range strings.SplitSeq(page, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if label != "" && !strings.Contains(rest, label) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// routeHistogram is the instances' request latency histogram of one route (keranjang_http_request_
// duration_seconds, summed): the cumulative count at each bucket's upper bound in seconds.
type routeHistogram map[float64]float64

func routeLatency(insts []*instance, route string) routeHistogram {
	h := routeHistogram{}
	prefix := `keranjang_http_request_duration_seconds_bucket{route="` + route + `",le="`
	for _, in := range insts {
		page, err := in.scrape()
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(page, "\n") {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			le, value, ok := strings.Cut(rest, `"} `)
			if !ok {
				continue
			}
			bound, err1 := strconv.ParseFloat(le, 64)
			n, err2 := strconv.ParseFloat(value, 64)
			if err1 == nil && err2 == nil {
				h[bound] += n
			}
		}
	}
	return h
}

// p99Bound is the upper bound in ms of the bucket holding the 99th percentile of the requests counted
// since h0 (0 for none): the instances' own view of the handler's latency, from when the server has read
// a request to when the handler returned, without the time the request waited for the process to run.
func (h routeHistogram) p99Bound(h0 routeHistogram) float64 {
	bounds := make([]float64, 0, len(h))
	for b := range h {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := h[bounds[len(bounds)-1]] - h0[bounds[len(bounds)-1]]
	for _, b := range bounds {
		if total > 0 && h[b]-h0[b] >= 0.99*total {
			return 1000 * b
		}
	}
	return 0
}

// writerStats are the click writers' counts, summed over the instances.
type writerStats struct{ batches, clicks, seconds, dropped float64 }

func (a writerStats) sub(b writerStats) writerStats {
	return writerStats{a.batches - b.batches, a.clicks - b.clicks, a.seconds - b.seconds, a.dropped - b.dropped}
}

// clickWriters reads the click writers' metrics of the instances.
func clickWriters(insts []*instance) writerStats {
	var w writerStats
	for _, in := range insts {
		page, err := in.scrape()
		if err != nil {
			continue
		}
		w.batches += sample(page, "keranjang_click_batch_size_count", "")
		w.clicks += sample(page, "keranjang_click_batch_size_sum", "")
		w.seconds += sample(page, "keranjang_click_flush_seconds_sum", "")
		w.dropped += sample(page, "keranjang_clicks_dropped_total", "")
	}
	return w
}

// measure runs a phase and adds the CPU time spent in it by the instances, by PostgreSQL's processes,
// by the load generators (this process with the fake Bot API, and wrk) and by the rest of the machine
// (other programs, which disturb the measurement, and the kernel's own threads, such as network
// softirqs), and how busy the machine was.
func measure(insts []*instance, run func() (phase, error)) (phase, error) {
	ker := func() time.Duration {
		var d time.Duration
		for _, in := range insts {
			d += in.cpu()
		}
		return d
	}
	k0, pg0, self0, child0 := ker(), postgresCPU(), rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
	busy0, total0 := machineCPU()
	p, err := run()
	busy1, total1 := machineCPU()
	p.cpuKer, p.cpuPG = ker()-k0, postgresCPU()-pg0
	p.cpuLoad = rusage(syscall.RUSAGE_SELF) - self0 + rusage(syscall.RUSAGE_CHILDREN) - child0
	if total1 > total0 {
		p.busy = (busy1 - busy0) / (total1 - total0)
		// /proc/stat counts every core's ticks: total is the capacity of the whole machine.
		busy := time.Duration((busy1 - busy0) * float64(time.Second) / clockTicks)
		p.others = float64(busy-p.cpuKer-p.cpuPG-p.cpuLoad) / float64(time.Duration((total1-total0)*float64(time.Second)/clockTicks))
	}
	return p, err
}

// rusage is the user and system CPU time of this process (RUSAGE_SELF) or of its children that have
// been waited for (RUSAGE_CHILDREN: wrk; the instances only once they have exited).
func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitQuiet waits, up to limit, until the machine has been under 15% busy for 3 s in a row, so that a
// measurement does not start while other programs (or the last configuration's PostgreSQL work) still
// run. It returns how long it waited and whether the machine became quiet.
func waitQuiet(ctx context.Context, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	quiet := 0
	busy0, total0 := machineCPU()
	for time.Since(start) < limit && ctx.Err() == nil {
		time.Sleep(time.Second)
		busy1, total1 := machineCPU()
		if total1 > total0 && (busy1-busy0)/(total1-total0) < 0.15 {
			quiet++
		} else {
			quiet = 0
		}
		busy0, total0 = busy1, total1
		if quiet == 3 {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}

// procCPU is the user and system CPU time of a process, from /proc/<pid>/stat (0 when it cannot be read).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// postgresCPU is the CPU time of every process named postgres on the machine: the server and its
// backends (other clients' backends included; a backend that exits during a phase takes its time along).
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var d time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		d += procCPU(pid)
	}
	return d
}

// machineCPU is the busy and the total CPU time of the machine, in clock ticks (/proc/stat).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest time is counted in user time already
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// runRedirects runs wrk over the instances.
// A rate above 0 paces the connections to about that many requests a second in all.
func runRedirects(ctx context.Context, o options, insts []*instance, code string, rate int, outPath string) (phase, error) {
	targets := make([]string, len(insts))
	for i, in := range insts {
		targets[i] = in.addr
	}
	threads := max(o.threads, len(insts))
	conns := max(o.connections, threads)
	cmd := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(int(o.dur.Seconds()))+"s", "--latency", "-H", "User-Agent: "+userAgent,
		"-s", filepath.Join(o.work, "spread.lua"), "http://"+insts[0].addr+"/r/"+code)
	cmd.Env = append(os.Environ(), "WRK_TARGETS="+strings.Join(targets, ","), "WRK_UA="+userAgent, "WRK_VISITORS="+o.visitors)
	if rate > 0 {
		cmd.Env = append(cmd.Env, "WRK_DELAY_MS="+strconv.Itoa(max(1, conns*1000/rate)))
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	p := phase{elapsed: time.Since(start)}
	_ = os.WriteFile(outPath, out, 0o644)
	if err != nil {
		return p, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	text := string(out)
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "Requests/sec:":
			p.rate, _ = strconv.ParseFloat(f[1], 64)
		case len(f) >= 2 && f[0] == "99%":
			p.p99 = wrkMillis(f[1])
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			p.count, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.Contains(line, "Non-2xx or 3xx") || strings.Contains(line, "Socket errors"):
			return p, fmt.Errorf("wrk: %s", strings.TrimSpace(line))
		}
	}
	if p.count == 0 || p.rate == 0 {
		return p, fmt.Errorf("wrk: no requests counted:\n%s", text)
	}
	return p, nil
}

// wrkMillis converts a wrk latency such as 812.00us, 1.23ms or 1.01s to milliseconds.
func wrkMillis(v string) float64 {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 0.001}, {"ms", 1}, {"m", 60_000}, {"s", 1000}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err == nil {
				return f * u.ms
			}
		}
	}
	return 0
}

// runPostbacks sends signed postbacks, each a new pending order, from o.senders senders (sender i to
// instance i mod N) for o.dur. It returns the postbacks acknowledged.
func runPostbacks(ctx context.Context, o options, insts []*instance, sd *seed, tag string) (phase, int64, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.senders, MaxIdleConnsPerHost: o.senders}}
	defer client.CloseIdleConnections()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	dctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	var (
		errs    atomic.Int64
		firstMu sync.Mutex
		first   string
		wg      sync.WaitGroup
	)
	lat := make([][]time.Duration, o.senders)
	start := time.Now()
	for w := range o.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := "http://" + insts[w%len(insts)].addr + "/api/v1/conversions"
			for n := 0; dctx.Err() == nil; n++ {
				body, _ := json.Marshal(track.ConversionRequest{
					OrderID: fmt.Sprintf("%s-%s-%d-%d", tag, run, w, n), LinkCode: sd.code, Amount: 150000, Status: "pending"})
				d, err := postback.Send(client, url, int64(sellerID), sd.key, body)
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
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	p := summarize(all, time.Since(start))
	if errs.Load() > 0 {
		return p, p.count, fmt.Errorf("%d postbacks not acknowledged; first: %s", errs.Load(), first)
	}
	return p, p.count, nil
}

// summarize makes a phase of the latencies of the requests answered in elapsed.
func summarize(lat []time.Duration, elapsed time.Duration) phase {
	slices.Sort(lat)
	p := phase{count: int64(len(lat)), elapsed: elapsed}
	if len(lat) > 0 {
		p.rate = float64(len(lat)) / elapsed.Seconds()
		p.p99 = float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()) / 1000
	}
	return p
}

// runUpdates plays Telegram: for o.dur it posts updates from the users, in turn, to the instances, in
// turn, with at most o.inflight unanswered, then waits for the last replies. Every update must be
// answered by exactly one sendMessage to its chat. round makes each call's commands start elsewhere.
func runUpdates(ctx context.Context, o options, fake *tgfake.Server, insts []*instance, users []tgfake.User, round int) (phase, error) {
	const senders = 8
	isUser := make(map[int64]bool, len(users))
	for _, u := range users {
		isUser[u.ID] = true
	}
	var (
		mu       sync.Mutex
		queued   = make(map[int64][]time.Time, len(users))
		lat      []time.Duration
		stray    int
		last     time.Time
		slots    = make(chan struct{}, o.inflight)
		sent     atomic.Int64
		errs     atomic.Int64
		firstMu  sync.Mutex
		first    string
		answered = make(chan struct{}, 1)
	)
	fake.OnCall(func(c tgfake.Call) {
		if c.Method != "sendMessage" || c.Status != http.StatusOK {
			return
		}
		chat := c.ChatID()
		if !isUser[chat] {
			return // an outbox message to someone else (the order notices)
		}
		mu.Lock()
		q := queued[chat]
		if len(q) == 0 {
			stray++
			mu.Unlock()
			return
		}
		lat = append(lat, c.Time.Sub(q[0]))
		queued[chat], last = q[1:], c.Time
		mu.Unlock()
		<-slots
		select {
		case answered <- struct{}{}:
		default:
		}
	})
	defer fake.OnCall(nil)

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: senders * len(insts), MaxIdleConnsPerHost: senders}}
	defer client.CloseIdleConnections()
	dctx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	var next atomic.Int64
	next.Store(int64(round * len(users) / 2))
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case slots <- struct{}{}:
				case <-dctx.Done():
					return
				}
				if dctx.Err() != nil {
					<-slots
					return
				}
				i := next.Add(1) - 1
				u := users[i%int64(len(users))]
				in := insts[i%int64(len(insts))]
				// Each instance gets every command: the command moves on every len(insts) updates.
				text := commands[(i/int64(len(insts)))%int64(len(commands))]
				upd := fake.SendText(u, tgfake.Chat{}, text)
				mu.Lock()
				queued[u.ID] = append(queued[u.ID], time.Now())
				mu.Unlock()
				sent.Add(1)
				req, _ := http.NewRequest(http.MethodPost, "http://"+in.addr+"/telegram/webhook", bytes.NewReader(upd.JSON))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret)
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err == nil && resp.StatusCode == http.StatusOK {
					continue
				}
				errs.Add(1)
				firstMu.Lock()
				if first == "" {
					if err != nil {
						first = err.Error()
					} else {
						first = resp.Status
					}
				}
				firstMu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The last replies.
	wait := time.After(30 * time.Second)
	for {
		mu.Lock()
		done := int64(len(lat)) >= sent.Load()-errs.Load()
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-answered:
		case <-wait:
			mu.Lock()
			n := len(lat)
			mu.Unlock()
			return phase{count: int64(n)}, fmt.Errorf("%d of %d updates answered 30 s after the last was sent", n, sent.Load())
		case <-ctx.Done():
			return phase{}, ctx.Err()
		}
	}
	time.Sleep(200 * time.Millisecond) // a second reply to any of them would come now
	mu.Lock()
	p := summarize(append([]time.Duration(nil), lat...), last.Sub(start))
	nstray := stray
	mu.Unlock()
	switch {
	case errs.Load() > 0:
		return p, fmt.Errorf("%d of %d updates refused by the instances; first: %s", errs.Load(), sent.Load(), first)
	case nstray > 0:
		return p, fmt.Errorf("%d replies more than updates", nstray)
	}
	return p, nil
}

// printTable prints the configurations side by side, with each rate's ratio to the first
// configuration's, then the CPU time per request.
func printTable(w io.Writer, rs []*result) {
	if len(rs) == 0 {
		return
	}
	base := rs[0]
	ratio := func(v, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("×%.2f", v/b)
	}
	check := func(a, b int64) string {
		if a == b {
			return fmt.Sprintf("%d = %d", a, b)
		}
		return fmt.Sprintf("%d ≠ %d", a, b)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\tredirects/s\tratio\tp99 ms\thandler\tdropped\tsteady/s\tp99 ms\tdropped\t"+
		"postbacks/s\tratio\tp99 ms\thandler\tupdates/s\tratio\tp99 ms\tclicks stored = 302s − dropped\torders = postbacks\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.2f\t≤ %g\t%d\t%.0f\t%.2f\t%d\t%.0f\t%s\t%.2f\t≤ %g\t%.0f\t%s\t%.2f\t%s\t%s\t\n", r.cfg,
			r.redirects.rate, ratio(r.redirects.rate, base.redirects.rate), r.redirects.p99, r.redirects.serverP99, r.satDropped,
			r.steady.rate, r.steady.p99, r.steadyDropped,
			r.postbacks.rate, ratio(r.postbacks.rate, base.postbacks.rate), r.postbacks.p99, r.postbacks.serverP99,
			r.updates.rate, ratio(r.updates.rate, base.updates.rate), r.updates.p99,
			check(r.clicksStored, r.answered302-r.dropped), check(r.ordersStored, r.ordersAcked))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(handler: the instances' own p99 of the route, the upper bound of its histogram bucket, in ms)")
	fmt.Fprintln(w, "\nCPU time per request in µs: the instances + PostgreSQL (+ the load generators); rest: the share of the machine's")
	fmt.Fprintln(w, "CPU used by none of them (other programs, the kernel's own threads) during the measurement")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "configuration\tredirect\trest\tpostback\trest\tupdate\trest\t")
	for _, r := range rs {
		cell := func(p phase) string {
			return fmt.Sprintf("%.0f + %.0f (+ %.0f)\t%.0f%%", p.cpuPer(p.cpuKer), p.cpuPer(p.cpuPG), p.cpuPer(p.cpuLoad), 100*p.others)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.cfg, cell(r.redirects), cell(r.postbacks), cell(r.updates))
	}
	_ = tw.Flush()
	for _, r := range rs {
		for _, e := range r.errs {
			fmt.Fprintf(w, "FAIL %s: %s\n", r.cfg, e)
		}
	}
}

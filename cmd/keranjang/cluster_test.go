package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/track"
)

// handoverLimit is how soon another instance must lead after the leader dies (the bound).
const handoverLimit = 30 * time.Second

// TestClusterThreeInstances runs three `keranjang serve` processes of the real binary on one PostgreSQL
// database in webhook mode behind a round-robin proxy, as a load balancer would put them:
//
//   - the fake Bot API posts every update to the proxy, which hands them to the instances in turn, and
//     users talk to the bot through all three;
//   - basket-link clicks and a signed postback go to each instance;
//   - exactly one instance leads; kill -9 of the leader hands the lead to another within 30 s;
//   - an alert queued (on a follower) while there is no leader, and the day's digests, which fall due
//     after the kill, are each delivered exactly once, and another digest run (/digestnow) adds none;
//   - no acknowledged order is lost, and a graceful stop of one instance loses no click.
//
// Every call the instances made must have been accepted by the fake.
func TestClusterThreeInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary three times")
	}
	dbURL := pgtest.URL(t)
	bin := buildBinary(t)
	lb := newRoundRobin()
	defer lb.Close()
	// Telegram posts to the public https URL; here that name leads to the round-robin proxy.
	fake := tgfake.New(tgfake.WithWebhookClient(&http.Client{Timeout: 10 * time.Second, Transport: toProxy{lb.URL}}))
	defer fake.Close()

	zone, local := afternoonZone(time.Now())
	if local.Hour() >= 23 {
		t.Skip("no zone where it is afternoon with a minute to spare") // cannot happen: some zone always is
	}
	c := &procs{t: t, bin: bin, fake: fake, db: dbURL, env: []string{
		"KERANJANG_BOT_TOKEN=" + fake.Token(), "KERANJANG_BOT_API_URL=" + fake.URL(), "KERANJANG_DB=" + dbURL,
		"KERANJANG_PUBLIC_URL=" + lb.URL, "KERANJANG_WEBHOOK_URL=https://keranjang.example/telegram/webhook",
		"KERANJANG_WEBHOOK_SECRET=cluster-webhook-secret-0123456789",
		"KERANJANG_ADMIN_IDS=" + strconv.Itoa(e2eAdminID), "KERANJANG_ADMIN_TOKEN=" + e2eAdminToken,
		"KERANJANG_SELLER_APPROVAL=auto", "KERANJANG_TIMEZONE=" + zone, "KERANJANG_LOG_LEVEL=warn",
	}}
	for range 3 {
		c.start()
	}
	lb.set(c.bases())
	defer c.stopAll()

	leader := c.waitLeader(-1)
	t.Logf("instance %d leads", leader)

	// People, through the proxy: a seller with a product, two affiliates with links, an admin.
	admin, budi := person(e2eAdminID, "Sari", "id"), person(6001, "Budi", "en")
	ani, citra := person(6101, "Ani", "id"), person(6103, "Citra", "id")
	for _, u := range []tgfake.User{admin, budi, ani, citra} {
		c.say(u, "/start")
	}
	mustContain(t, c.say(budi, "/seller Batik Budi").PlainText, "Congratulations")
	mustContain(t, c.say(budi, "/addproduct Kemeja Batik | 350.000 | 10 | https://shop.example.id/kemeja").PlainText, "#1")
	codes := []string{basketCode(t, c.say(ani, "/join 1")), basketCode(t, c.say(citra, "/join 1"))}
	key := apiKey(t, c.say(budi, "/apikey"))

	// Clicks on every instance; then one signed postback to each instance.
	clicks := 0
	for i := range 30 {
		c.click(i%3, codes[i%2], fmt.Sprintf("Mozilla/5.0 (Linux; Android 14) buyer-%d", i))
		clicks++
	}
	c.waitClicks(codes, clicks)
	for i := range 3 {
		body := fmt.Sprintf(`{"order_id":"INV-%d","link_code":"%s","amount":100000,"status":"pending"}`, i, codes[0])
		if status, out := c.postback(i, budi.ID, key, body); status != http.StatusOK {
			t.Fatalf("postback to instance %d: %d %s", i, status, out)
		}
	}
	c.waitOutboxEmpty() // the order notices and join notices are out before the leader dies

	// kill -9 the leader; queue an alert on a follower while nobody leads; another instance leads within
	// the limit.
	killedAt := time.Now()
	c.kill(leader)
	follower := c.anyRunning()
	if status, out := c.postAlert(follower, `{"title":"Aturan baru marketplace","body":"Biaya layanan naik 1%.","audience":"all"}`); status != http.StatusCreated && status != http.StatusOK && status != http.StatusAccepted {
		t.Fatalf("POST /api/v1/alerts: %d %s", status, out)
	}
	next := c.waitLeader(leader)
	if d := time.Since(killedAt); d > handoverLimit {
		t.Fatalf("instance %d led %s after the kill, want within %s", next, d, handoverLimit)
	}
	t.Logf("instance %d leads %s after the kill", next, time.Since(killedAt).Round(time.Millisecond))

	// The alert reaches all four users once.
	for _, u := range []tgfake.User{admin, budi, ani, citra} {
		c.waitCount(u.ID, "Aturan baru marketplace", 1, e2eWait)
	}
	// The affiliates move their digest to a minute that has passed today: the new leader's next digest
	// run (each minute) sends each of them today's digest, once.
	due := time.Now().In(local.Location()).Add(-time.Minute).Format("15:04")
	for _, u := range []tgfake.User{ani, citra} {
		mustContain(t, c.say(u, "/digest "+due).PlainText, due)
	}
	for _, u := range []tgfake.User{ani, citra} {
		c.waitCount(u.ID, "Ringkasan hari ini", 1, 2*time.Minute)
	}
	// Another digest run, on whichever instance the admin's /digestnow lands, queues nothing.
	mustContain(t, c.say(admin, "/digestnow").PlainText, "Ringkasan diantrekan untuk 0 pengguna")
	c.waitOutboxEmpty()
	for _, u := range []tgfake.User{admin, budi, ani, citra} {
		c.requireCount(u.ID, "Aturan baru marketplace", 1)
	}
	for _, u := range []tgfake.User{ani, citra} {
		c.requireCount(u.ID, "Ringkasan hari ini", 1)
	}

	// Every acknowledged order is kept.
	st := c.openStore()
	for i := range 3 {
		if _, err := st.GetOrder(t.Context(), budi.ID, fmt.Sprintf("INV-%d", i)); err != nil {
			t.Fatalf("order INV-%d acknowledged but lost: %v", i, err)
		}
	}

	// A graceful stop of a follower loses none of the clicks it answered.
	stopping := c.anyRunningBut(next)
	for i := range 20 {
		c.click(stopping, codes[i%2], fmt.Sprintf("Mozilla/5.0 (iPhone) late-buyer-%d", i))
		clicks++
	}
	c.stop(stopping)
	var total int64
	for _, code := range codes {
		n, err := st.LinkCounts(t.Context(), code, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		total += n.Clicks
	}
	if total != int64(clicks) {
		t.Fatalf("%d clicks stored, %d answered", total, clicks)
	}
	fake.CheckNoRejections(t)
}

// procs is the set of keranjang processes of a test.
type procs struct {
	t    *testing.T
	bin  string
	fake *tgfake.Server
	db   string // KERANJANG_DB
	env  []string
	mu   sync.Mutex
	list []*proc
	st   *postgres.Store
}

// proc is one keranjang serve process.
type proc struct {
	cmd     *exec.Cmd
	base    string // its HTTP listener
	metrics string // its metrics listener
	done    chan error
	stopped bool
}

func (c *procs) start() {
	t := c.t
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	mport, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{base: "http://127.0.0.1:" + strconv.Itoa(port), metrics: "http://127.0.0.1:" + strconv.Itoa(mport), done: make(chan error, 1)}
	p.cmd = exec.Command(c.bin, "serve")
	p.cmd.Env = append(os.Environ(), c.env...)
	p.cmd.Env = append(p.cmd.Env, "KERANJANG_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "KERANJANG_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(mport))
	p.cmd.Stderr = &prefixWriter{t: t, prefix: fmt.Sprintf("instance %d: ", len(c.list))}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	waitHTTP(t, p.base+"/readyz")
	c.mu.Lock()
	c.list = append(c.list, p)
	c.mu.Unlock()
}

func (c *procs) bases() []string {
	var out []string
	for _, p := range c.list {
		out = append(out, p.base)
	}
	return out
}

// kill sends SIGKILL to instance i and waits for it to be gone.
func (c *procs) kill(i int) {
	p := c.list[i]
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-p.done
	p.stopped = true
}

// stop sends SIGTERM to instance i and requires a clean exit.
func (c *procs) stop(i int) {
	p := c.list[i]
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			c.t.Fatalf("instance %d after SIGTERM: %v", i, err)
		}
	case <-time.After(2 * ShutdownTimeout):
		c.t.Fatalf("instance %d did not stop after SIGTERM", i)
	}
	p.stopped = true
}

func (c *procs) stopAll() {
	for i, p := range c.list {
		if !p.stopped {
			c.stop(i)
		}
	}
}

func (c *procs) anyRunning() int { return c.anyRunningBut(-1) }

func (c *procs) anyRunningBut(not int) int {
	for i, p := range c.list {
		if !p.stopped && i != not {
			return i
		}
	}
	c.t.Fatal("no instance running")
	return -1
}

// waitLeader waits until exactly one running instance other than not says it leads, and returns it.
func (c *procs) waitLeader(not int) int {
	c.t.Helper()
	leader := -1
	eventually(c.t, "one leader", func() bool {
		leader = -1
		for i, p := range c.list {
			if p.stopped || i == not {
				continue
			}
			if scrape(p.metrics, "keranjang_leader") == 1 {
				if leader >= 0 {
					return false
				}
				leader = i
			}
		}
		return leader >= 0
	})
	return leader
}

// say sends text in u's private chat and returns the bot's next message there.
func (c *procs) say(u tgfake.User, text string) tgfake.Message {
	c.t.Helper()
	before := len(c.fake.Sent(u.ID))
	c.fake.SendText(u, tgfake.Chat{}, text)
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	all, err := c.fake.WaitSent(ctx, u.ID, before+1)
	if err != nil {
		c.t.Fatalf("%q: no answer: %v", text, err)
	}
	return all[before]
}

// count is how many messages to chat contain part.
func (c *procs) count(chat int64, part string) int {
	n := 0
	for _, m := range c.fake.Sent(chat) {
		if strings.Contains(m.PlainText, part) {
			n++
		}
	}
	return n
}

// waitCount waits up to within until chat has n messages with part, then requires exactly n.
func (c *procs) waitCount(chat int64, part string, n int, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for c.count(chat, part) < n {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited %s for %d message(s) with %q in chat %d:\n%s", within, n, part, chat, dump(c.fake.Sent(chat)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.requireCount(chat, part, n)
}

func (c *procs) requireCount(chat int64, part string, n int) {
	c.t.Helper()
	if got := c.count(chat, part); got != n {
		c.t.Fatalf("chat %d got %d messages with %q, want exactly %d:\n%s", chat, got, part, n, dump(c.fake.Sent(chat)))
	}
}

var clusterWeb = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// click visits a basket link on instance i as a buyer with user agent ua; it must redirect.
func (c *procs) click(i int, code, ua string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.list[i].base+"/r/"+code, nil)
	req.Header.Set("User-Agent", ua)
	resp, err := clusterWeb.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		c.t.Fatalf("click on instance %d: %d", i, resp.StatusCode)
	}
}

// openStore opens the cluster's database from the test, as a fourth client.
func (c *procs) openStore() *postgres.Store {
	c.t.Helper()
	if c.st == nil {
		st, err := postgres.Open(c.t.Context(), c.db, store.Options{})
		if err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { _ = st.Close() })
		c.st = st
	}
	return c.st
}

// waitClicks waits until the links' clicks add up to n in the database.
func (c *procs) waitClicks(codes []string, n int) {
	c.t.Helper()
	st := c.openStore()
	eventually(c.t, fmt.Sprintf("%d clicks stored", n), func() bool {
		var total int64
		for _, code := range codes {
			cnt, err := st.LinkCounts(context.Background(), code, time.Time{}, time.Time{})
			if err != nil {
				return false
			}
			total += cnt.Clicks
		}
		return total == int64(n)
	})
}

func (c *procs) waitOutboxEmpty() {
	c.t.Helper()
	st := c.openStore()
	eventually(c.t, "the outbox to empty", func() bool {
		s, err := st.OutboxStats(context.Background())
		return err == nil && s.Queued == 0
	})
}

// postback sends a signed conversion to instance i.
func (c *procs) postback(i int, seller int64, key, body string) (int, string) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, c.list[i].base+"/api/v1/conversions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(track.HeaderSeller, strconv.FormatInt(seller, 10))
	req.Header.Set(track.HeaderTimestamp, ts)
	req.Header.Set(track.HeaderSignature, track.Sign(key, ts, []byte(body)))
	return do(c.t, req)
}

// postAlert posts a policy alert to instance i's admin API.
func (c *procs) postAlert(i int, body string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, c.list[i].base+"/api/v1/alerts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	return do(c.t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := clusterWeb.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// scrape reads one sample of a Prometheus text page; -1 when it cannot.
func scrape(base, sample string) float64 {
	resp, err := clusterWeb.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// afternoonZone returns a fixed-offset zone (Etc/GMT±N) where it is now between 13:00 and 21:59, and
// the local time there: digests then cover "today so far", which the test's clicks are part of.
func afternoonZone(now time.Time) (string, time.Time) {
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT"
		switch {
		case off > 0:
			name += "-" + strconv.Itoa(off) // the sign of Etc zones is inverted: Etc/GMT-7 is UTC+7
		case off < 0:
			name += "+" + strconv.Itoa(-off)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue
		}
		if h := now.In(loc).Hour(); h >= 13 && h <= 21 {
			return name, now.In(loc)
		}
	}
	return "UTC", now.UTC()
}

// roundRobin is the test's load balancer: each request goes to the next instance in turn, and to the one
// after it when an instance does not answer (as a proxy's health checks would route around it).
type roundRobin struct {
	*httptest.Server
	mu       sync.Mutex
	backends []string
	next     int
}

func newRoundRobin() *roundRobin {
	rr := &roundRobin{}
	rr.Server = httptest.NewServer(http.HandlerFunc(rr.serve))
	return rr
}

func (rr *roundRobin) set(backends []string) {
	rr.mu.Lock()
	rr.backends = backends
	rr.mu.Unlock()
}

func (rr *roundRobin) pick() string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if len(rr.backends) == 0 {
		return ""
	}
	b := rr.backends[rr.next%len(rr.backends)]
	rr.next++
	return b
}

func (rr *roundRobin) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rr.mu.Lock()
	n := len(rr.backends)
	rr.mu.Unlock()
	for range n {
		b := rr.pick()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, b+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			break
		}
		req.Header = r.Header.Clone()
		resp, err := clusterWeb.Do(req)
		if err != nil {
			continue // a dead instance: try the next
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no instance answered", http.StatusBadGateway)
}

// toProxy sends every request to the proxy at base over plain HTTP, whatever its URL says.
type toProxy struct{ base string }

func (p toProxy) RoundTrip(r *http.Request) (*http.Response, error) {
	u, err := url.Parse(p.base)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(r)
}

// prefixWriter passes a process's log lines to the test log with a prefix.
type prefixWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

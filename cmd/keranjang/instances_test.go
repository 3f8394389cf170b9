package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/cluster"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/internal/tcpproxy"
	"github.com/keranjang/keranjang/scheduler"
	"github.com/keranjang/keranjang/store"
)

// clusterWait bounds every wait of the cluster tests; elections take a fraction of a second.
const clusterWait = 20 * time.Second

// clusterOptions are short cluster intervals for tests.
func clusterOptions() Options {
	return Options{RateBurst: 1 << 10, Cluster: cluster.Options{RetryEvery: 100 * time.Millisecond,
		HealthEvery: 100 * time.Millisecond, HealthTimeout: time.Second, DialTimeout: 2 * time.Second}}
}

// startInstance starts the whole app against a fake Bot API on the database db (env adds settings).
func startInstance(t *testing.T, db string, env map[string]string) (*sandbox, error) {
	t.Helper()
	vars := map[string]string{"KERANJANG_DB": db}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterWait)
	defer cancel()
	sb, err := newSandbox(ctx, t.TempDir(), e2eLogger(t), vars, clusterOptions())
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := sb.close(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return sb, nil
}

// webhookEnv puts an instance in webhook mode (any number may run on one database).
var webhookEnv = map[string]string{
	"KERANJANG_WEBHOOK_URL":    "https://keranjang.example/telegram/webhook",
	"KERANJANG_WEBHOOK_SECRET": "hook_S3cret",
}

// metricValue is the value of the metric name (with the given label values, in order) in reg; ok is false
// when there is no such series.
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i, l := range labels {
				if i >= len(m.GetLabel()) || m.GetLabel()[i].GetValue() != l {
					continue series
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

// until waits, checking every few milliseconds, until cond holds, failing the test after clusterWait.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", clusterWait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func leads(t *testing.T, sb *sandbox) bool {
	v, _ := metricValue(t, sb.app.reg, "keranjang_leader")
	return v == 1
}

func readyz(t *testing.T, sb *sandbox) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), clusterWait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sb.baseURL()+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSingleProcessLeads: with the embedded database the one process leads from the start.
func TestSingleProcessLeads(t *testing.T) {
	sb, err := startInstance(t, filepath.Join(t.TempDir(), "keranjang.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !leads(t, sb) {
		t.Fatal("keranjang_leader is not 1 in a single process")
	}
	if n, _ := metricValue(t, sb.app.reg, "keranjang_leader_changes_total", "elected"); n != 1 {
		t.Fatalf("elected %v times, want 1", n)
	}
}

// TestClusterInstances runs instances on one PostgreSQL database: the first leads; a second poller is
// refused at once with advice; webhook instances start as followers, and a job one asks for runs on the
// leader; when the leader stops, a follower leads; a poller is refused beside webhook instances.
func TestClusterInstances(t *testing.T) {
	db := pgtest.URL(t)
	poller, err := startInstance(t, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = startInstance(t, db, nil)
	if !errors.Is(err, cluster.ErrPollerRunning) || !strings.Contains(err.Error(), "KERANJANG_WEBHOOK_URL") {
		t.Fatalf("second poller: %v; want ErrPollerRunning with advice to use KERANJANG_WEBHOOK_URL", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("refusing the second poller took %v", took)
	}
	if err := poller.stopApp(); err != nil {
		t.Fatal(err)
	}

	a, err := startInstance(t, db, webhookEnv)
	if err != nil {
		t.Fatal(err)
	}
	until(t, "the first instance to lead", func() bool { return leads(t, a) })

	b, err := startInstance(t, db, webhookEnv)
	if err != nil {
		t.Fatal(err)
	}
	if leads(t, b) || !leads(t, a) {
		t.Fatal("the webhook instance leads while the first still does")
	}
	if err := b.app.sched.RunNow(t.Context(), scheduler.JobDigest); err == nil {
		t.Fatal("a follower ran a job of the scheduler")
	}

	// A job asked for on the follower runs on the leader (its term's first fan-out is done first).
	runs := func() float64 {
		n := 0.0
		for _, result := range []string{"ok", "error"} {
			v, _ := metricValue(t, a.app.reg, "keranjang_job_runs_total", scheduler.JobFanOutAlerts, result)
			n += v
		}
		return n
	}
	until(t, "the leader's first fan-out", func() bool { return runs() >= 1 })
	before := runs()
	b.app.sched.Trigger(scheduler.JobFanOutAlerts)
	until(t, "the fan-out asked for by the follower to run on the leader", func() bool { return runs() > before })

	if err := a.stopApp(); err != nil {
		t.Fatal(err)
	}
	until(t, "the follower to lead once the leader stopped", func() bool { return leads(t, b) })

	// With a webhook instance running, a poller would delete its webhook: refused.
	_, err = startInstance(t, db, nil)
	if !errors.Is(err, cluster.ErrWebhookRunning) || !strings.Contains(err.Error(), "KERANJANG_WEBHOOK_URL") {
		t.Fatalf("poller beside a webhook instance: %v; want ErrWebhookRunning with advice", err)
	}
}

// TestWebhookInstanceRefusedBesidePoller: a webhook instance would cut a polling one off (its
// setWebhook stops getUpdates): refused at start with advice.
func TestWebhookInstanceRefusedBesidePoller(t *testing.T) {
	db := pgtest.URL(t)
	if _, err := startInstance(t, db, nil); err != nil {
		t.Fatal(err)
	}
	_, err := startInstance(t, db, webhookEnv)
	if !errors.Is(err, cluster.ErrPollerRunning) || !strings.Contains(err.Error(), "KERANJANG_WEBHOOK_URL") {
		t.Fatalf("webhook instance beside a poller: %v; want ErrPollerRunning with advice", err)
	}
}

// TestReadyzFailsWhenPostgresIsDown cuts an instance off its database: /readyz turns 503 and the
// instance stops leading; shutdown still ends in time.
func TestReadyzFailsWhenPostgresIsDown(t *testing.T) {
	db := pgtest.URL(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tcpproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	sb, err := startInstance(t, u.String(), webhookEnv)
	if err != nil {
		t.Fatal(err)
	}
	until(t, "the instance to lead", func() bool { return leads(t, sb) })
	if code := readyz(t, sb); code != http.StatusOK {
		t.Fatalf("/readyz %d with the database up, want 200", code)
	}
	proxy.Close() // PostgreSQL is gone: every connection cut, none taken
	if code := readyz(t, sb); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d with the database down, want 503", code)
	}
	until(t, "the cut-off instance to step down", func() bool { return !leads(t, sb) })
	start := time.Now()
	if err := sb.stopApp(); err != nil {
		t.Logf("shutdown with the database down: %v", err)
	}
	if took := time.Since(start); took > ShutdownTimeout+2*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
}

// nopSender accepts every message.
type nopSender struct{}

func (nopSender) Send(context.Context, int64, bot.Message) (int, error) { return 1, nil }

// TestLeadershipTerms checks the terms of the leader's work on their own: each term has its own
// scheduler and outbox (on one registry), what is asked between terms goes to the leader elsewhere, and
// once Shutdown begins no term starts.
func TestLeadershipTerms(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "keranjang.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	ran := make(chan struct{}, 16)
	var asked []string
	l := &leadership{log: zerolog.Nop(), ask: func(_ context.Context, job string) error {
		asked = append(asked, job)
		return nil
	}}
	l.newTerm = func() (*term, error) {
		s := scheduler.New(time.UTC, zerolog.Nop(), reg)
		for _, name := range []string{"probe", scheduler.JobFanOutAlerts} {
			if err := s.Add(name, "@every 1000h", time.Minute, func(ctx context.Context) error {
				if name == "probe" {
					ran <- struct{}{}
				}
				<-ctx.Done() // a long job: it ends when its term does
				return ctx.Err()
			}); err != nil {
				return nil, err
			}
		}
		return &term{sched: s, out: bot.NewOutbox(st, nopSender{}, bot.OutboxConfig{Registry: reg, Logger: zerolog.Nop()})}, nil
	}
	ctx := t.Context()
	for i := range 2 {
		if err := l.begin(ctx); err != nil {
			t.Fatalf("term %d: %v", i, err)
		}
		l.Trigger("probe")
		select {
		case <-ran:
		case <-time.After(clusterWait):
			t.Fatalf("term %d: a triggered job did not run", i)
		}
		// A lost lead cancels the running jobs at once instead of waiting for them.
		stopped := make(chan error, 1)
		go func() {
			sctx, cancel := context.WithTimeout(ctx, clusterWait)
			defer cancel()
			stopped <- l.end(sctx, true)
		}()
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("term %d: end: %v", i, err)
			}
		case <-time.After(clusterWait):
			t.Fatalf("term %d: ending a lost term waited for its jobs", i)
		}
		if err := l.RunNow(ctx, "probe"); err == nil {
			t.Fatalf("term %d: RunNow between terms succeeded", i)
		}
	}
	l.Trigger(scheduler.JobFanOutAlerts)
	if len(asked) != 1 || asked[0] != scheduler.JobFanOutAlerts {
		t.Fatalf("asked the leader elsewhere for %v, want [%s]", asked, scheduler.JobFanOutAlerts)
	}
	if _, ok := metricValue(t, reg, "keranjang_job_runs_total", "probe"); !ok {
		t.Fatal("the terms' job metrics are not registered")
	}
	if err := l.stopOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.begin(ctx); !errors.Is(err, errClosing) {
		t.Fatalf("begin after Shutdown began: %v, want errClosing", err)
	}
	l.Wake() // no term: nothing to wake
}

// TestClusterKnobsFromEnv: the multi-process tests' timing knobs come from the environment, and a bad
// one stops serve naming the variable.
func TestClusterKnobsFromEnv(t *testing.T) {
	env := map[string]string{"KERANJANG_CLUSTER_RETRY_INTERVAL": "200ms", "KERANJANG_CLUSTER_HEALTH_INTERVAL": "300ms",
		"KERANJANG_CLUSTER_OUTBOX_POLL": "50ms"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var opt Options
	if err := clusterFromEnv(lookup, &opt); err != nil {
		t.Fatal(err)
	}
	if opt.Cluster.RetryEvery != 200*time.Millisecond || opt.Cluster.HealthEvery != 300*time.Millisecond ||
		opt.OutboxPoll != 50*time.Millisecond {
		t.Fatalf("knobs %+v, outbox poll %v", opt.Cluster, opt.OutboxPoll)
	}
	env["KERANJANG_CLUSTER_RETRY_INTERVAL"] = "soon"
	if err := clusterFromEnv(lookup, &opt); err == nil || !strings.Contains(err.Error(), "KERANJANG_CLUSTER_RETRY_INTERVAL") {
		t.Fatalf("bad knob: %v", err)
	}
	env["KERANJANG_CLUSTER_RETRY_INTERVAL"] = "1s"
	env["KERANJANG_CLUSTER_HEALTH_INTERVAL"] = "11s"
	if err := clusterFromEnv(lookup, &opt); err == nil || !strings.Contains(err.Error(), "KERANJANG_CLUSTER_HEALTH_INTERVAL") {
		t.Fatalf("health interval too long: %v", err)
	}
	var none Options
	if err := clusterFromEnv(func(string) (string, bool) { return "", false }, &none); err != nil || none.Cluster.RetryEvery != 0 {
		t.Fatalf("no knobs: %v, %+v", err, none.Cluster)
	}
}

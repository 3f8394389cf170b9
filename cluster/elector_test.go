package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// term is one term of a test leader: who led, and the cause its context ended with.
type term struct {
	who   string
	cause chan error
}

// testLeader records its terms on a channel shared by the instances of a test, and what it was told.
type testLeader struct {
	name   string
	terms  chan<- term
	outbox chan struct{}
	jobs   chan string
}

func (l *testLeader) Lead(ctx context.Context) {
	t := term{who: l.name, cause: make(chan error, 1)}
	l.terms <- t
	<-ctx.Done()
	t.cause <- context.Cause(ctx)
}

func (l *testLeader) OnOutbox() { l.outbox <- struct{}{} }

func (l *testLeader) OnJob(job string) { l.jobs <- job }

// instance is an elector running in the background with its leader and metrics.
type instance struct {
	name    string
	e       *Elector
	l       *testLeader
	metrics *Metrics
	stop    context.CancelFunc
	done    chan struct{}
}

// startInstance runs an elector on u until the test ends (or stop).
func startInstance(t *testing.T, name, u string, terms chan<- term) *instance {
	t.Helper()
	opt := testOpts()
	opt.Metrics = NewMetrics(prometheus.NewRegistry())
	e, err := NewElector(u, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{name: name, e: e, metrics: opt.Metrics, stop: cancel, done: make(chan struct{}),
		l: &testLeader{name: name, terms: terms, outbox: make(chan struct{}, 16), jobs: make(chan string, 16)}}
	go func() {
		defer close(in.done)
		e.Run(ctx, in.l)
	}()
	t.Cleanup(func() {
		cancel()
		<-in.done
	})
	return in
}

func (in *instance) gauge() float64 { return testutil.ToFloat64(in.metrics.leader) }

func (in *instance) changes(kind string) float64 {
	return testutil.ToFloat64(in.metrics.changes.WithLabelValues(kind))
}

// TestElectionHandover runs two electors on one schema: one leads and hears the notifications meant for
// its schema; when its session is killed (as kill -9 of the process ends it) it steps down with
// ErrLeadershipLost and the other leads; when that one stops, the first leads again.
func TestElectionHandover(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	terms := make(chan term, 16)
	a := startInstance(t, "a", u, terms)
	b := startInstance(t, "b", u, terms)
	byName := map[string]*instance{"a": a, "b": b}

	first := receive(t, terms, "a leader")
	lead, other := byName[first.who], a
	if lead == a {
		other = b
	}
	if !lead.e.Leading() || other.e.Leading() {
		t.Fatalf("leading: %s %v, %s %v; want only %s", lead.name, lead.e.Leading(), other.name, other.e.Leading(), lead.name)
	}
	if lead.gauge() != 1 || other.gauge() != 0 || lead.changes("elected") != 1 {
		t.Fatalf("keranjang_leader %v/%v, elected %v", lead.gauge(), other.gauge(), lead.changes("elected"))
	}

	// Notifications reach the leader: an outbox wake-up, and a job of this schema but not another's.
	if _, err := pool.Exec(t.Context(), `SELECT pg_notify('keranjang_outbox', '')`); err != nil {
		t.Fatal(err)
	}
	receive(t, lead.l.outbox, "the outbox wake-up")
	elsewhere := newPool(t, schemaURL(t))
	if err := NotifyJob(t.Context(), elsewhere, "not_ours"); err != nil {
		t.Fatal(err)
	}
	if err := NotifyJob(t.Context(), pool, "fan_out_alerts"); err != nil {
		t.Fatal(err)
	}
	if job := receive(t, lead.l.jobs, "the job notification"); job != "fan_out_alerts" {
		t.Fatalf("leader asked to run %q, want fan_out_alerts (another schema's job must be ignored)", job)
	}
	nothing(t, other.l.jobs, "a follower heard a job")

	// Kill the leader's session: it steps down, the other leads.
	killed := time.Now()
	terminate(t, pool, holder(t, pool, leaderLock))
	if cause := receive(t, first.cause, "the first term to end"); !errors.Is(cause, ErrLeadershipLost) {
		t.Fatalf("first term ended with %v, want ErrLeadershipLost", cause)
	}
	second := receive(t, terms, "a second leader")
	if second.who != other.name {
		t.Fatalf("%s led again; want %s to take over", second.who, other.name)
	}
	t.Logf("handover took %v (retry every %v)", time.Since(killed), testOpts().RetryEvery)
	if lead.e.Leading() || lead.gauge() != 0 || lead.changes("deposed") != 1 || other.gauge() != 1 {
		t.Fatalf("after the handover: old leader leading %v gauge %v deposed %v; new leader gauge %v",
			lead.e.Leading(), lead.gauge(), lead.changes("deposed"), other.gauge())
	}

	// The new leader stops (a shutdown): its term ends without ErrLeadershipLost and the lock is free
	// at once for the first, which leads again.
	other.stop()
	<-other.done
	if cause := receive(t, second.cause, "the second term to end"); errors.Is(cause, ErrLeadershipLost) {
		t.Fatalf("a stopped elector's term ended with %v", cause)
	}
	if third := receive(t, terms, "a third leader"); third.who != lead.name {
		t.Fatalf("%s leads, want %s", third.who, lead.name)
	}
	if other.gauge() != 0 || lead.gauge() != 1 || lead.changes("elected") != 2 {
		t.Fatalf("gauges %v/%v, elected %v", other.gauge(), lead.gauge(), lead.changes("elected"))
	}
}

// TestLeadershipRegained kills the only elector's session twice: each time it steps down and, with
// nobody else, leads again in a new term.
func TestLeadershipRegained(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	terms := make(chan term, 16)
	a := startInstance(t, "a", u, terms)
	for i := range 3 {
		tm := receive(t, terms, "a term")
		if i == 2 {
			break
		}
		terminate(t, pool, holder(t, pool, leaderLock))
		if cause := receive(t, tm.cause, "the term to end"); !errors.Is(cause, ErrLeadershipLost) {
			t.Fatalf("term %d ended with %v", i, cause)
		}
	}
	if a.changes("elected") != 3 || a.changes("deposed") != 2 || a.gauge() != 1 {
		t.Fatalf("elected %v deposed %v gauge %v; want 3, 2, 1", a.changes("elected"), a.changes("deposed"), a.gauge())
	}
}

// TestLeaderStepsDownWhenItsConnectionStalls cuts the leader off without closing anything (a lost
// network): its health query times out and it steps down within HealthEvery+HealthTimeout, although
// the server still holds its session. Once the server's end goes too, the other instance leads.
func TestLeaderStepsDownWhenItsConnectionStalls(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	proxied, proxy := viaProxy(t, u)
	terms := make(chan term, 16)
	a := startInstance(t, "a", proxied, terms)
	first := receive(t, terms, "a to lead")
	b := startInstance(t, "b", u, terms)
	pid := holder(t, pool, leaderLock)

	proxy.Stall()
	stalled := time.Now()
	if cause := receive(t, first.cause, "the stalled leader to step down"); !errors.Is(cause, ErrLeadershipLost) {
		t.Fatalf("term ended with %v, want ErrLeadershipLost", cause)
	}
	opt := testOpts()
	if took, most := time.Since(stalled), opt.HealthEvery+opt.HealthTimeout+2*time.Second; took > most {
		t.Errorf("stepping down took %v, want under %v", took, most)
	}
	if a.e.Leading() || a.gauge() != 0 {
		t.Fatal("the stalled leader still says it leads")
	}
	if g, _ := lockPIDs(t, pool, leaderLock); len(g) != 1 || g[0] != pid || b.e.Leading() {
		t.Fatalf("holders %v (was %d); b leading %v: the server must still hold the stalled session", g, pid, b.e.Leading())
	}
	proxy.Cut() // the server hears of it at last
	if second := receive(t, terms, "b to lead"); second.who != "b" {
		t.Fatalf("%s leads, want b", second.who)
	}
	proxy.Resume()
}

// TestOptionsRefuseSlowHealthChecks: a leader must notice a dead connection before the server frees its
// lock.
func TestOptionsRefuseSlowHealthChecks(t *testing.T) {
	if _, err := NewElector("postgres://x@127.0.0.1/db", Options{HealthEvery: 15 * time.Second}); err == nil {
		t.Fatal("a health check every 15s with a 15s timeout was accepted")
	}
	if _, err := NewElector("postgres://x@127.0.0.1/db", Options{}); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	if _, err := NewElector("postgres://x:secret@127.0.0.1:notaport/db", Options{}); err == nil {
		t.Fatal("a bad URL was accepted")
	} else if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

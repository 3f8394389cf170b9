package cluster

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/internal/tcpproxy"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
)

// wait is the generous bound of every wait of these tests: conditions normally hold in milliseconds.
const wait = 15 * time.Second

// testOpts are short intervals, so that elections and step-downs happen in a fraction of a second.
func testOpts() Options {
	return Options{RetryEvery: 100 * time.Millisecond, HealthEvery: 100 * time.Millisecond,
		HealthTimeout: time.Second, DialTimeout: 2 * time.Second, Logger: zerolog.Nop()}
}

// schemaURL is a fresh schema with keranjang's tables (every migration applied by postgres.Open).
func schemaURL(t *testing.T) string {
	t.Helper()
	u := pgtest.URL(t)
	st, err := postgres.Open(t.Context(), u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	return u
}

// viaProxy returns u with its host replaced by a proxy to it, and the proxy.
func viaProxy(t *testing.T, u string) (string, *tcpproxy.Proxy) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tcpproxy.Start(parsed.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	parsed.Host = p.Addr()
	return parsed.String(), p
}

// newPool is a plain pool on u for the test's own queries.
func newPool(t *testing.T, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// lockPIDs are the backends that hold (granted) and wait for (waiting) the advisory lock name of pool's
// schema.
func lockPIDs(t *testing.T, pool *pgxpool.Pool, name string) (granted, waiting []int32) {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		WITH k AS (SELECT hashtextextended(coalesce(current_schema(), '') || $1, 0) AS key)
		SELECT l.pid, l.granted FROM pg_locks l, k
		WHERE l.locktype = 'advisory' AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid::bigint = ((k.key >> 32) & 4294967295) AND l.objid::bigint = (k.key & 4294967295)`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int32
		var ok bool
		if err := rows.Scan(&pid, &ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			granted = append(granted, pid)
		} else {
			waiting = append(waiting, pid)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return granted, waiting
}

// holder is the one backend that holds lock name, waiting for there to be one.
func holder(t *testing.T, pool *pgxpool.Pool, name string) int32 {
	t.Helper()
	var pid int32
	eventually(t, "a holder of "+name, func() bool {
		g, _ := lockPIDs(t, pool, name)
		if len(g) > 1 {
			t.Fatalf("%d holders of %s", len(g), name)
		}
		if len(g) == 1 {
			pid = g[0]
		}
		return len(g) == 1
	})
	return pid
}

// terminate ends backend pid, as a crash of its client or an administrator would.
func terminate(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate backend %d: %v, %v", pid, ok, err)
	}
}

// eventually waits, checking every few milliseconds, until cond holds; it fails the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", wait, what)
		}
		<-tick.C
	}
}

// receive takes one value from ch, failing the test after wait.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("waited %v for %s", wait, what)
		panic("unreachable")
	}
}

// nothing checks that ch has no value ready.
func nothing[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s: got %v", what, v)
	default:
	}
}

// bg is a context for cleanups, which run after the test's own context is done.
func bg() context.Context { return context.Background() }

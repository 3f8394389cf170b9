// Package cluster lets several keranjang instances share one PostgreSQL database and one bot. It holds
// the database side of that:
//
//   - Elector: exactly one instance at a time leads and runs what must run once (the scheduler and the
//     outbox worker). Leadership is a session advisory lock held on a connection of its own, never a
//     pooled one; the leader LISTENs on that connection for work that other instances queue.
//   - UpdatesLock: the bot's updates come one way only: one instance long-polls Telegram (LockPoller),
//     or any number receive them by webhook (LockWebhook), never both.
//   - Guard: in webhook mode any instance handles any update; the guard (bot.Guard) keeps a chat to one
//     instance at a time (an advisory lock per chat, held on a pooled connection for the handler's
//     duration) and an update to one handling (the telegram_updates table).
//   - NotifyJob: an instance asks the leader to run a job now (pg_notify on JobsChannel).
//
// # Lock keys
//
// PostgreSQL's advisory locks and notification channels belong to the whole database, but keranjang's
// tables live in one schema (the first of the connection's search_path): each lock key is
// hashtextextended(current_schema() || name, 0), so two deployments in two schemas of one database, or
// two tests, never share a lock. Job notifications carry the schema too, and a leader ignores the ones
// of another schema; outbox notifications carry nothing, and a wake-up too many costs one query.
//
// # Sessions
//
// A session advisory lock lasts as long as the session that took it: when an instance dies (kill -9
// closes its socket) PostgreSQL ends the session and frees the lock at once. A connection that dies
// silently (a lost network) is found by both ends: the leader runs a query every HealthEvery and steps
// down when one fails or takes longer than HealthTimeout, and the server, told by the session's
// keepalive settings (tcp_keepalives_idle 10 s, _interval 5 s, _count 3, tcp_user_timeout 25 s), ends the
// session in about 25 s. Options refuses a HealthEvery+HealthTimeout that is not well below that, so the
// old leader has stopped before the server can give the lock to another. The connections must reach
// PostgreSQL itself or a pooler in session mode: in transaction mode a session lock means nothing.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Notification channels. Both are database-wide; see the package documentation.
const (
	// OutboxChannel is notified by the store's Enqueue when it queued a message (empty payload): the
	// leader wakes its outbox worker.
	OutboxChannel = "keranjang_outbox"
	// JobsChannel is notified by NotifyJob with "<schema>/<job name>": the leader runs the job now.
	JobsChannel = "keranjang_jobs"
)

// Names of the advisory locks, appended to the schema to make their keys.
const (
	leaderLock = "/leader"
	pollerLock = "/poller"
)

// tryLockSQL takes the session advisory lock named $1 in this schema if it is free.
const tryLockSQL = `SELECT pg_try_advisory_lock(hashtextextended(coalesce(current_schema(), '') || $1, 0))`

// serverTimeout is about how long the server keeps the session of a client that went silent: the
// keepalive settings sent with every dedicated connection (see sessionParams).
const serverTimeout = 25 * time.Second

// sessionParams ask the server to end a dedicated session soon after its client went silent, so that a
// lock whose holder is gone is freed in about serverTimeout. A value set in the URL wins.
var sessionParams = map[string]string{
	"tcp_keepalives_idle":     "10",
	"tcp_keepalives_interval": "5",
	"tcp_keepalives_count":    "3",
	"tcp_user_timeout":        "25000",
}

// Options are the timing knobs, the logger and the metrics. Zero values get the defaults in
// parentheses; tests shorten the intervals.
type Options struct {
	// RetryEvery is how often a follower tries to take the lead, and how long a lost connection waits
	// before it is dialled again (5s). A leader that lost its lead waits twice as long before it tries
	// again, so that a follower takes over.
	RetryEvery time.Duration
	// HealthEvery is how often a leader (and a poller) checks its connection with a query (5s).
	HealthEvery time.Duration
	// HealthTimeout bounds that query (HealthEvery); a leader whose query fails or times out steps down.
	// HealthEvery+HealthTimeout must stay under 20s (see the package documentation).
	HealthTimeout time.Duration
	// DialTimeout bounds a connection attempt (10s).
	DialTimeout time.Duration
	// DedupFor is how long the Guard remembers an update id (24h: Telegram keeps an update a day).
	DedupFor time.Duration
	// PruneEvery is how often the Guard deletes the update ids older than DedupFor (10m).
	PruneEvery time.Duration
	Logger     zerolog.Logger
	// Metrics receives the leadership changes; nil records none.
	Metrics *Metrics
}

// withDefaults fills the zero values and checks the health timing against the server's.
func (o Options) withDefaults() (Options, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryEvery, 5*time.Second)
	def(&o.HealthEvery, 5*time.Second)
	def(&o.HealthTimeout, o.HealthEvery)
	def(&o.DialTimeout, 10*time.Second)
	def(&o.DedupFor, 24*time.Hour)
	def(&o.PruneEvery, 10*time.Minute)
	if o.HealthEvery+o.HealthTimeout > serverTimeout-5*time.Second {
		return o, fmt.Errorf("cluster: health check every %v with a timeout of %v finds a dead connection later "+
			"than the server frees its locks (%v): keep the sum under %v", o.HealthEvery, o.HealthTimeout,
			serverTimeout, serverTimeout-5*time.Second)
	}
	return o, nil
}

// sessionConfig parses url (a postgres:// URL as the store takes it; pool_* parameters are ignored) into
// the configuration of a dedicated connection: TCP keepalives on the client side, sessionParams on the
// server side, and application_name "keranjang <role>" (unless the URL sets one) so that an operator
// sees in pg_stat_activity which session holds what.
func sessionConfig(url, role string) (*pgx.ConnConfig, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password and all.
		return nil, errors.New("cluster: invalid postgres URL (check its form: postgres://user:password@host:port/database?options)")
	}
	cfg := pc.ConnConfig
	d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second,
		Interval: 5 * time.Second, Count: 3}}
	cfg.DialFunc = d.DialContext
	for k, v := range sessionParams {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "keranjang " + role
	}
	return cfg, nil
}

// connect dials a dedicated connection and reads the schema its tables live in.
func connect(ctx context.Context, cfg *pgx.ConnConfig, timeout time.Duration) (*pgx.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		closeConn(conn)
		return nil, "", fmt.Errorf("read schema: %w", err)
	}
	return conn, schema, nil
}

// tryLock takes the advisory lock name on conn's session if it is free.
func tryLock(ctx context.Context, conn *pgx.Conn, name string, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ok bool
	if err := conn.QueryRow(ctx, tryLockSQL, name).Scan(&ok); err != nil {
		return false, fmt.Errorf("try lock %s: %w", strings.TrimPrefix(name, "/"), err)
	}
	return ok, nil
}

// ping runs the health query on conn within timeout.
func ping(ctx context.Context, conn *pgx.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := conn.Exec(ctx, `SELECT 1`); err != nil {
		return fmt.Errorf("health query: %w", err)
	}
	return nil
}

// closeConn closes a dedicated connection, which ends its session and frees its locks.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Execer runs a statement (a *pgxpool.Pool does).
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const notifyJobSQL = `SELECT pg_notify('` + JobsChannel + `', coalesce(current_schema(), '') || '/' || $1)`

// NotifyJob asks the leader, whichever instance it is, to run job now (the scheduler's Trigger there).
// Nobody hears it while no instance leads; the next leader runs its jobs when its term starts.
func NotifyJob(ctx context.Context, db Execer, job string) error {
	if _, err := db.Exec(ctx, notifyJobSQL, job); err != nil {
		return fmt.Errorf("notify job %s: %w", job, err)
	}
	return nil
}

// Metrics are the leadership metrics: keranjang_leader (1 while this instance leads) and
// keranjang_leader_changes_total{change="elected"|"deposed"}.
type Metrics struct {
	leader  prometheus.Gauge
	changes *prometheus.CounterVec
}

// NewMetrics builds and registers the leadership metrics (reg may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keranjang_leader",
			Help: "1 while this instance leads (runs the scheduler and the outbox worker), 0 otherwise.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_leader_changes_total",
			Help: "Times this instance became leader (change=elected) or stopped leading (change=deposed).",
		}, []string{"change"}),
	}
	m.changes.WithLabelValues("elected")
	m.changes.WithLabelValues("deposed")
	if reg != nil {
		reg.MustRegister(m.leader, m.changes)
	}
	return m
}

// Elected records that this instance became leader (a single process with an embedded database calls it
// once: it always leads).
func (m *Metrics) Elected() {
	if m != nil {
		m.leader.Set(1)
		m.changes.WithLabelValues("elected").Inc()
	}
}

// Deposed records that this instance stopped leading.
func (m *Metrics) Deposed() {
	if m != nil {
		m.leader.Set(0)
		m.changes.WithLabelValues("deposed").Inc()
	}
}

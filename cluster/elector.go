package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// ErrLeadershipLost is the cause (context.Cause) of a term's context when the leader lost its lock:
// its connection failed or stopped answering. Another instance may lead already, so the work of the term
// should stop at once rather than finish what it was doing.
var ErrLeadershipLost = errors.New("leadership lost")

// errTermOver is the cause of a term's context when Leader.Lead returned by itself.
var errTermOver = errors.New("leader returned")

// Leader is the work of the instance that leads.
type Leader interface {
	// Lead starts the leader's work and returns once that work has stopped, after ctx ended: when
	// leadership was lost (context.Cause(ctx) wraps ErrLeadershipLost) or the elector stops (Run's ctx
	// ended). Should Lead return earlier, the instance steps down.
	Lead(ctx context.Context)
	// OnOutbox is called, during a term, when an instance queued an outbox message. It must not block.
	OnOutbox()
	// OnJob is called, during a term, when an instance asked for job to run now (NotifyJob). It must not
	// block.
	OnJob(job string)
}

// Elector takes part in the election of the one instance that leads. Each instance runs one: a
// follower tries every RetryEvery to take the leader lock (pg_try_advisory_lock on a connection of its
// own); the one that takes it leads until its connection fails, a health query fails, or Run's ctx ends.
type Elector struct {
	cfg     *pgx.ConnConfig
	opt     Options
	log     zerolog.Logger
	leading atomic.Bool
}

// NewElector builds an elector for the database at url; it connects in Run.
func NewElector(url string, opt Options) (*Elector, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := sessionConfig(url, "leader election")
	if err != nil {
		return nil, err
	}
	return &Elector{cfg: cfg, opt: opt, log: opt.Logger.With().Str("component", "cluster").Logger()}, nil
}

// Leading reports whether this instance leads now.
func (e *Elector) Leading() bool { return e.leading.Load() }

// Run takes part in the election until ctx ends, calling l.Lead for each term this instance leads, one
// term at a time. When ctx ends it ends a term (Lead returns), closes its connection, which frees the
// lock for another instance at once, and returns.
func (e *Elector) Run(ctx context.Context, l Leader) {
	var (
		conn   *pgx.Conn
		schema string
		down   bool // the database could not be reached last time: log only the change
		wait   time.Duration
	)
	drop := func() {
		if conn != nil {
			closeConn(conn)
			conn = nil
		}
	}
	defer drop()
	for sleep(ctx, wait) {
		wait = e.opt.RetryEvery
		if conn == nil {
			c, s, err := connect(ctx, e.cfg, e.opt.DialTimeout)
			if err != nil {
				if !down && ctx.Err() == nil {
					e.log.Warn().Err(err).Dur("retry_in", wait).Msg("leader election: database unreachable")
				}
				down = true
				continue
			}
			conn, schema = c, s
		}
		won, err := tryLock(ctx, conn, leaderLock, e.opt.HealthTimeout)
		if err != nil {
			if !down && ctx.Err() == nil {
				e.log.Warn().Err(err).Dur("retry_in", wait).Msg("leader election: database unreachable")
			}
			down = true
			drop()
			continue
		}
		if down {
			e.log.Info().Msg("leader election: database reachable")
			down = false
		}
		if !won {
			continue
		}
		e.lead(ctx, conn, schema, l)
		drop()
		// A follower takes over first: its next try comes within RetryEvery.
		wait = 2 * e.opt.RetryEvery
	}
}

const listenSQL = `LISTEN ` + OutboxChannel + `; LISTEN ` + JobsChannel

// lead runs one term on conn, which holds the leader lock: it listens for notifications, calls l.Lead
// and watches the connection until the term ends, then waits for l.Lead to return.
func (e *Elector) lead(ctx context.Context, conn *pgx.Conn, schema string, l Leader) {
	lctx, cancel := context.WithTimeout(ctx, e.opt.HealthTimeout)
	_, err := conn.Exec(lctx, listenSQL)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("leader election: could not listen for notifications; giving up the lead")
		}
		return
	}
	term, end := context.WithCancelCause(ctx)
	defer end(nil)
	e.leading.Store(true)
	e.opt.Metrics.Elected()
	e.log.Info().Msg("this instance leads: scheduler and outbox worker start")
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer end(errTermOver)
		l.Lead(term)
	}()
	err = e.watch(term, conn, schema, l)
	// The lead is over (or the instance stops): say so before the work winds down.
	e.leading.Store(false)
	e.opt.Metrics.Deposed()
	if err != nil {
		end(fmt.Errorf("%w: %w", ErrLeadershipLost, err))
	}
	<-done
	switch cause := context.Cause(term); {
	case errors.Is(cause, ErrLeadershipLost):
		e.log.Error().Err(cause).Msg("this instance stepped down: its scheduler and outbox worker stopped")
	default:
		e.log.Info().Msg("this instance no longer leads")
	}
}

// watch delivers the notifications that come on conn and runs the health query every HealthEvery,
// until term ends (nil) or the connection fails (the error).
func (e *Elector) watch(term context.Context, conn *pgx.Conn, schema string, l Leader) error {
	next := time.Now().Add(e.opt.HealthEvery)
	for {
		wctx, cancel := context.WithDeadline(term, next)
		n, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		if term.Err() != nil {
			return nil
		}
		if err == nil {
			if n != nil {
				e.dispatch(n, schema, l)
			}
			continue
		}
		if !timedOut {
			return err
		}
		if err := ping(term, conn, e.opt.HealthTimeout); err != nil {
			if term.Err() != nil {
				return nil
			}
			return err
		}
		next = time.Now().Add(e.opt.HealthEvery)
	}
}

// dispatch hands a notification to the leader: every outbox one, and the job ones of this schema.
func (e *Elector) dispatch(n *pgconn.Notification, schema string, l Leader) {
	switch n.Channel {
	case OutboxChannel:
		l.OnOutbox()
	case JobsChannel:
		i := strings.LastIndexByte(n.Payload, '/')
		if i < 0 || n.Payload[:i] != schema {
			return
		}
		e.log.Debug().Str("job", n.Payload[i+1:]).Msg("job asked for by an instance")
		l.OnJob(n.Payload[i+1:])
	}
}

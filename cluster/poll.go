package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
)

// ErrPollerRunning is returned by LockPoller when another instance long-polls Telegram on this database
// already: Telegram gives each update to one getUpdates caller, so a second poller would take updates
// away from the first (or be refused with 409 Conflict).
var ErrPollerRunning = errors.New("another instance is already polling Telegram for this database")

// PollLock is this instance's claim to long-poll Telegram for the bot: the advisory lock "poller" held
// on a connection of its own. A connection that fails is dialled again and the lock taken again; should
// another instance have taken it meanwhile, that is logged as an error every RetryEvery until one of
// the two stops.
type PollLock struct {
	cfg    *pgx.ConnConfig
	opt    Options
	log    zerolog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// LockPoller takes the poller lock of the database at url, or returns ErrPollerRunning at once when
// another instance holds it. Close frees it.
func LockPoller(ctx context.Context, url string, opt Options) (*PollLock, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := sessionConfig(url, "poller")
	if err != nil {
		return nil, err
	}
	conn, _, err := connect(ctx, cfg, opt.DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("poller lock: %w", err)
	}
	won, err := tryLock(ctx, conn, pollerLock, opt.HealthTimeout)
	if err != nil || !won {
		closeConn(conn)
		if err == nil {
			err = ErrPollerRunning
		}
		return nil, fmt.Errorf("poller lock: %w", err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	p := &PollLock{cfg: cfg, opt: opt, log: opt.Logger.With().Str("component", "cluster").Logger(),
		cancel: cancel, done: make(chan struct{})}
	go p.keep(kctx, conn)
	return p, nil
}

// keep checks the lock's connection every HealthEvery and takes the lock again on a new one when it
// failed.
func (p *PollLock) keep(ctx context.Context, conn *pgx.Conn) {
	defer close(p.done)
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for sleep(ctx, p.opt.HealthEvery) {
		if conn != nil {
			err := ping(ctx, conn, p.opt.HealthTimeout)
			if err == nil || ctx.Err() != nil {
				continue
			}
			p.log.Error().Err(err).Msg("poller lock: its connection failed; taking the lock again")
			closeConn(conn)
			conn = nil
		}
		c, _, err := connect(ctx, p.cfg, p.opt.DialTimeout)
		if err != nil {
			continue
		}
		won, err := tryLock(ctx, c, pollerLock, p.opt.HealthTimeout)
		if err != nil || !won {
			closeConn(c)
			if err == nil {
				p.log.Error().Msg("poller lock: another instance took it while this one's connection was down; " +
					"two instances are polling Telegram: stop one")
			}
			continue
		}
		p.log.Info().Msg("poller lock taken again")
		conn = c
	}
}

// Close frees the lock (its connection is closed) and returns once it is free.
func (p *PollLock) Close() error {
	p.cancel()
	<-p.done
	return nil
}

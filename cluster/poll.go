package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
)

// ErrPollerRunning is returned by LockPoller and LockWebhook when an instance long-polls Telegram on this
// database already: Telegram gives each update to one getUpdates caller, so a second poller would take
// updates away from the first (or be refused with 409 Conflict), and a webhook set by another instance
// would stop the poller's getUpdates.
var ErrPollerRunning = errors.New("another instance is already polling Telegram for this database")

// ErrWebhookRunning is returned by LockPoller when instances in webhook mode use this database: a poller
// starts by deleting the bot's webhook, which would cut them off.
var ErrWebhookRunning = errors.New("instances in webhook mode are running on this database")

// Names of the update-mode locks: a poller holds both exclusively, each webhook instance holds
// webhookLock shared.
const webhookLock = "/webhook"

const tryLockSharedSQL = `SELECT pg_try_advisory_lock_shared(hashtextextended(coalesce(current_schema(), '') || $1, 0))`

// modeLock is one advisory lock an UpdatesLock takes, and the error when it is taken.
type modeLock struct {
	name   string
	shared bool
	taken  error
}

// UpdatesLock is this instance's claim on how the bot's updates come to the database's instances, held
// on a connection of its own: one poller and nothing else, or any number of webhook instances. A
// connection that fails is dialled again and the locks taken again; should another instance have taken
// them meanwhile, that is logged as an error every RetryEvery until one of the two stops.
type UpdatesLock struct {
	cfg    *pgx.ConnConfig
	opt    Options
	locks  []modeLock
	log    zerolog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// LockPoller claims the database's updates for a long-polling instance, or returns ErrPollerRunning
// (another instance polls) or ErrWebhookRunning (webhook instances run) at once. Close frees it.
func LockPoller(ctx context.Context, url string, opt Options) (*UpdatesLock, error) {
	return lockUpdates(ctx, url, opt, "poller",
		modeLock{name: pollerLock, taken: ErrPollerRunning}, modeLock{name: webhookLock, taken: ErrWebhookRunning})
}

// LockWebhook claims a share of the database's updates for a webhook instance, or returns
// ErrPollerRunning at once when an instance polls. Close frees it.
func LockWebhook(ctx context.Context, url string, opt Options) (*UpdatesLock, error) {
	return lockUpdates(ctx, url, opt, "webhook", modeLock{name: webhookLock, shared: true, taken: ErrPollerRunning})
}

func lockUpdates(ctx context.Context, url string, opt Options, role string, locks ...modeLock) (*UpdatesLock, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := sessionConfig(url, role)
	if err != nil {
		return nil, err
	}
	u := &UpdatesLock{cfg: cfg, opt: opt, locks: locks, log: opt.Logger.With().Str("component", "cluster").Logger(),
		done: make(chan struct{})}
	conn, err := u.take(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s lock: %w", role, err)
	}
	kctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go u.keep(kctx, conn)
	return u, nil
}

// take dials a connection and takes every lock on it, or closes it and says which lock was taken.
func (u *UpdatesLock) take(ctx context.Context) (*pgx.Conn, error) {
	conn, _, err := connect(ctx, u.cfg, u.opt.DialTimeout)
	if err != nil {
		return nil, err
	}
	for _, l := range u.locks {
		sql := tryLockSQL
		if l.shared {
			sql = tryLockSharedSQL
		}
		lctx, cancel := context.WithTimeout(ctx, u.opt.HealthTimeout)
		var ok bool
		err := conn.QueryRow(lctx, sql, l.name).Scan(&ok)
		cancel()
		if err == nil && !ok {
			err = l.taken
		}
		if err != nil {
			closeConn(conn)
			return nil, err
		}
	}
	return conn, nil
}

// keep checks the locks' connection every HealthEvery and takes the locks again on a new one when it
// failed.
func (u *UpdatesLock) keep(ctx context.Context, conn *pgx.Conn) {
	defer close(u.done)
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for sleep(ctx, u.opt.HealthEvery) {
		if conn != nil {
			err := ping(ctx, conn, u.opt.HealthTimeout)
			if err == nil || ctx.Err() != nil {
				continue
			}
			u.log.Error().Err(err).Msg("update mode lock: its connection failed; taking the lock again")
			closeConn(conn)
			conn = nil
		}
		c, err := u.take(ctx)
		switch {
		case errors.Is(err, ErrPollerRunning), errors.Is(err, ErrWebhookRunning):
			u.log.Error().Err(err).Msg("update mode lock: another instance took it while this one's connection " +
				"was down; instances are receiving updates in two ways at once: stop one")
		case err == nil:
			u.log.Info().Msg("update mode lock taken again")
			conn = c
		}
	}
}

// Close frees the locks (their connection is closed) and returns once they are free.
func (u *UpdatesLock) Close() error {
	if u.cancel != nil {
		u.cancel()
		<-u.done
	}
	return nil
}

package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"
)

// Guard is bot.Guard on PostgreSQL: it keeps a chat to one instance at a time and an update to one
// handling, for instances that share one bot.
//
// LockChat takes a session advisory lock keyed by the chat (pg_advisory_lock, waiting for another
// holder) on a connection of the guard's own pool and keeps that connection until unlock, so the lock
// is freed when the handler is done or, should the instance die, when its session ends. The pool is the
// guard's, not the store's: a worker holding a chat while its handler runs store queries must never wait
// for a connection that another chat's holder keeps. Size it to the bot's workers plus a few (Seen
// borrows a connection for one statement).
//
// Seen inserts the update id into telegram_updates (ON CONFLICT DO NOTHING): whoever inserts first
// handles the update. Ids older than DedupFor are deleted every PruneEvery, by the instance whose Seen
// comes first.
type Guard struct {
	pool      *pgxpool.Pool
	botID     int64
	opt       Options
	log       zerolog.Logger
	lastPrune atomic.Int64 // unix nanoseconds of the last prune (0: none yet)
}

// NewGuard builds a guard for bot botID (the number before the colon of the token) on the database at
// url, with a pool of conns connections.
func NewGuard(ctx context.Context, url string, botID int64, conns int, opt Options) (*Guard, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: invalid postgres URL (check its form: postgres://user:password@host:port/database?options)")
	}
	pc.MaxConns = int32(max(conns, 2))
	if _, set := pc.ConnConfig.RuntimeParams["application_name"]; !set {
		pc.ConnConfig.RuntimeParams["application_name"] = "keranjang chat locks"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("chat lock pool: %w", err)
	}
	return &Guard{pool: pool, botID: botID, opt: opt, log: opt.Logger.With().Str("component", "cluster").Logger()}, nil
}

const (
	seenSQL  = `INSERT INTO telegram_updates (bot_id, update_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	pruneSQL = `DELETE FROM telegram_updates WHERE seen_at < now() - $1::interval`
)

// Seen records update updateID as taken and reports whether it had been taken before, by this
// instance or another.
func (g *Guard) Seen(ctx context.Context, updateID int64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mark update seen: %w", err)
	}
	tag, err := g.pool.Exec(ctx, seenSQL, g.botID, updateID)
	if err != nil {
		return false, fmt.Errorf("mark update seen: %w", err)
	}
	g.prune(ctx)
	return tag.RowsAffected() == 0, nil
}

// prune deletes the update ids older than DedupFor when PruneEvery has passed since the last prune of
// this guard; a failure is logged and tried again next time.
func (g *Guard) prune(ctx context.Context) {
	now := time.Now().UnixNano()
	last := g.lastPrune.Load()
	if last != 0 && time.Duration(now-last) < g.opt.PruneEvery || !g.lastPrune.CompareAndSwap(last, now) {
		return
	}
	tag, err := g.pool.Exec(ctx, pruneSQL, g.opt.DedupFor)
	if err != nil {
		g.lastPrune.CompareAndSwap(now, last)
		g.log.Warn().Err(err).Msg("prune seen updates")
		return
	}
	g.log.Debug().Int64("pruned", tag.RowsAffected()).Msg("seen updates pruned")
}

const (
	lockChatSQL   = `SELECT pg_advisory_lock(hashtextextended(coalesce(current_schema(), '') || '/chat/' || $1::bigint::text, 0))`
	unlockChatSQL = `SELECT pg_advisory_unlock(hashtextextended(coalesce(current_schema(), '') || '/chat/' || $1::bigint::text, 0))`
)

// LockChat waits until no other holder has chat chatID, or ctx ends, and holds it until unlock is
// called. unlock may be called once.
func (g *Guard) LockChat(ctx context.Context, chatID int64) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock chat: %w", err)
	}
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock chat: %w", err)
	}
	if _, err := conn.Exec(ctx, lockChatSQL, chatID); err != nil {
		// The wait may have been cut short with the lock granted, or still pending on the server: the
		// session goes, and with it whatever it holds or waits for.
		closeConn(conn.Hijack())
		return nil, fmt.Errorf("lock chat: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.opt.HealthTimeout)
		defer cancel()
		var freed bool
		if err := conn.QueryRow(ctx, unlockChatSQL, chatID).Scan(&freed); err != nil || !freed {
			// A session that may still hold the lock never goes back to the pool.
			closeConn(conn.Hijack())
			if err != nil {
				g.log.Warn().Err(err).Int64("chat_id", chatID).Msg("unlock chat: connection closed instead")
			}
			return
		}
		conn.Release()
	}, nil
}

// Close closes the guard's pool, which frees every chat it holds.
func (g *Guard) Close() { g.pool.Close() }

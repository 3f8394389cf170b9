// Package postgres is Keranjang's PostgreSQL backend: the store contract (package store's documentation,
// contract.Store) on a shared database, for running several instances of keranjang behind one bot.
//
// The schema is the SQL files in migrations/, embedded in the binary and applied by goose when Open
// starts; a database whose schema is newer than the binary's is refused. Several instances starting at
// once take turns through goose's session lock, so each migration runs once.
//
// Every method runs its statements on a pgxpool.Pool (prepared statements are cached per connection) and
// under its caller's context, bounded by Options.Timeout when that is set. Methods that must see and
// change rows together run in one transaction (see tx); rows that concurrent instances update at once
// (aggregates, counters, the outbox) are changed by upserts and increments in SQL, never by a read,
// change in Go and write back, so that no update is lost.
package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/safeio"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/contract"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNewerSchema is returned by Open for a database whose schema is newer than this binary knows.
var ErrNewerSchema = errors.New("database schema is newer than this keranjang")

// errNotImplemented marks a method not yet built on PostgreSQL.
var errNotImplemented = errors.New("postgres: not implemented")

// DefaultMaxConns is the size of the store's connection pool when the URL does not set pool_max_conns.
const DefaultMaxConns = 20

// Store is the PostgreSQL-backed database. Safe for concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	now       func() time.Time
	window    time.Duration // Options.AttributionWindow
	shopHosts []string      // Options.ShopHosts
	timeout   time.Duration // Options.Timeout: the bound of each method's statements (0: none)
	salt      []byte
	rand      safeio.LockedReader // Options.Rand behind a lock
	closed    atomic.Bool
	targets   targetCache // Target's answers (catalogue.go)
}

var _ contract.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL; pgx's parameters such as pool_max_conns and
// search_path are accepted), applies every pending migration and returns the store. A database of a
// newer schema is refused with ErrNewerSchema. Options.ReadOnly and Options.NoGroupCommit do not apply.
func Open(ctx context.Context, url string, opt store.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", redactURLError(err))
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (the number of CPUs, at least 4) suits CPU-bound work; a store's callers (bot
		// workers, HTTP handlers, the click flusher) mostly wait on the network.
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	s := &Store{pool: pool, now: opt.Now, window: opt.AttributionWindow, shopHosts: opt.ShopHosts, timeout: opt.Timeout}
	if s.now == nil {
		s.now = time.Now
	}
	if s.window <= 0 {
		s.window = affiliate.DefaultAttributionWindow
	}
	s.rand.R = opt.Rand
	if s.rand.R == nil {
		s.rand.R = rand.Reader
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.loadSalt(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Migrations returns the embedded migration files (for tests and for `keranjang migrate`).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

// SchemaLatest is the newest schema version this binary has: the version of the last migration file
// (goose's file names begin with the version number).
func SchemaLatest() int {
	entries, err := fs.ReadDir(Migrations(), ".")
	if err != nil {
		return 0
	}
	latest := 0
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.Atoi(num); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// migrate applies the embedded migrations under goose's advisory session lock, after refusing a
// database newer than them.
func (s *Store) migrate(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	// The lock is the schema's: instances of one database migrate one at a time, while databases in
	// other schemas of the same server (or parallel tests) do not wait for each other.
	var lockID int64
	if err := db.QueryRowContext(ctx, `SELECT hashtextextended(current_schema() || ':keranjang migrations', 0)`).Scan(&lockID); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	cur, err := dbVersion(ctx, db)
	if err != nil {
		return err
	}
	if latest := SchemaLatest(); cur > latest {
		return fmt.Errorf("%w: the database has schema %d, this binary knows up to %d; run the newer keranjang",
			ErrNewerSchema, cur, latest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// dbVersion is the highest applied goose version, 0 for a database goose never touched.
func dbVersion(ctx context.Context, db *sql.DB) (int, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// loadSalt reads the visitor salt, creating it at the first open (the first of concurrent opens wins).
func (s *Store) loadSalt(ctx context.Context) error {
	salt := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return fmt.Errorf("visitor salt: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO meta (id, salt) VALUES (true, $1) ON CONFLICT (id) DO NOTHING`, salt); err != nil {
		return fmt.Errorf("visitor salt: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT salt FROM meta WHERE id`).Scan(&s.salt); err != nil {
		return fmt.Errorf("visitor salt: %w", err)
	}
	return nil
}

// Close closes the pool. Statements in flight are cancelled.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// Pool is the connection pool, for the cluster package's locks and for tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("ping database: store is closed")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	return dbVersion(ctx, db)
}

// VisitorSalt returns the database's random salt for hashing visitors. The returned slice is a copy.
func (s *Store) VisitorSalt() []byte { return append([]byte(nil), s.salt...) }

// ctx bounds ctx by Options.Timeout.
func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return ctx, func() {}
}

// tx runs fn in one transaction, committed when fn returns nil and rolled back otherwise. A context that
// is already done fails before anything is sent. what names the method in the error.
func (s *Store) tx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// querier is what a pool and a transaction share: package functions that read or write inside another
// method's transaction take one.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// redactURLError keeps a password out of a connection string's parse error: pgx's error may quote the
// string.
func redactURLError(err error) error {
	return errors.New("invalid postgres URL (check its form: postgres://user:password@host:port/database?options)")
}

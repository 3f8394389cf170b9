package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/safeio"
	"github.com/keranjang/keranjang/store/contract"
)

// Bucket and key layout. All integers are big-endian and fixed-width so that cursor order is numeric
// order; user ids are positive Telegram ids stored as uint64 (8 bytes); product and feedback ids come
// from NextSequence (uint64, 8 bytes); hours are unix hours, time.Unix()/3600 (uint32, 4 bytes); link
// codes are affiliate.LinkCodeLen (8) ASCII bytes. Values are JSON unless marked binary.
//
//	meta             "schema"    → uint32 schema version
//	                 "salt"      → 32 random bytes (visitor hashing), created at first open
//	                 "n_clicks", "n_bots", "n_orphans" → uint64 running counters (binary)
//	users            user id                      → affiliate.User
//	sellers          user id                      → sellerRecord (API key); one entry per seller
//	apikeys          sha256(API key) (32)         → seller id (uint64)
//	apps             user id                      → affiliate.Application
//	apps_pending     created unix ns (8) + user id → empty; pending applications, oldest first
//	flows            user id                      → affiliate.Flow
//	products         product id                   → affiliate.Product
//	seller_products  seller id + product id       → empty
//	links            code                         → affiliate.Link
//	affiliate_links  affiliate id + product id    → code; one link per (affiliate, product)
//	product_links    product id + code            → empty
//	clicks           smallest click id of a record → up to 1024 logged clicks of a batch, sorted by id
//	                 (string)                       (binary, see clicklog.go); records never overlap, and
//	                                                ids begin with the click's time, so the log grows at
//	                                                its end
//	visitors         code + visitor (8)           → unix ns of the visitor's last click (binary)
//	agg_link         code + hour                  → count record (binary, see appendCounts)
//	agg_affiliate    affiliate id + hour          → count record
//	agg_product      product id + hour            → count record (clicks and orders of every affiliate)
//	agg_seller       seller id + hour             → count record (all of the seller's products)
//	totals           code                         → all-time count record of the link
//	orders           seller id + order id         → affiliate.Order; order ids are unique per seller
//	seller_orders    seller id + occurred unix seconds (8) + order id → empty; a seller's orders by time
//	feedback         feedback id                  → affiliate.Feedback
//	seller_feedback  seller id + feedback id      → empty
//	user_feedback    affiliate id + feedback id   → empty
//	outbox, outbox_keys, outbox_due, outbox_user, outbox_done, alert_counts: the outbox (see outbox.go)
//	digest_due       one bucket per time zone in use: local digest minute (uint16) + user id → local date
//	                 of the last digest handled (see digest.go)
//	alerts           alert id (sequence)          → alertRecord: affiliate.Alert and its fan-out progress
//	alerts_pending   alert id                     → empty; alerts whose fan-out has not finished
//	feeds            feed URL                     → feedRecord; a feed that was read at least once
//	feed_items       sha256(feed URL)[:16] + item id (affiliate.FeedItemID) → alert id (0: seen on the
//	                                                feed's first read, no alert)
//	broadcasts       seller id                    → unix ns of the seller's last broadcast (binary); the
//	                                                bucket's sequence numbers broadcasts
var (
	bMeta           = []byte("meta")
	bUsers          = []byte("users")
	bSellers        = []byte("sellers")
	bAPIKeys        = []byte("apikeys")
	bApps           = []byte("apps")
	bAppsPending    = []byte("apps_pending")
	bFlows          = []byte("flows")
	bProducts       = []byte("products")
	bSellerProducts = []byte("seller_products")
	bLinks          = []byte("links")
	bAffLinks       = []byte("affiliate_links")
	bProductLinks   = []byte("product_links")
	bClicks         = []byte("clicks")
	bVisitors       = []byte("visitors")
	bAggLink        = []byte("agg_link")
	bAggAff         = []byte("agg_affiliate")
	bTotals         = []byte("totals")
	bAggProduct     = []byte("agg_product")
	bAggSeller      = []byte("agg_seller")
	bOrders         = []byte("orders")
	bSellerOrders   = []byte("seller_orders")
	bFeedback       = []byte("feedback")
	bSellerFeedback = []byte("seller_feedback")
	bUserFeedback   = []byte("user_feedback")
	bDigestDue      = []byte("digest_due")
	bAlerts         = []byte("alerts")
	bAlertsPending  = []byte("alerts_pending")
	bFeeds          = []byte("feeds")
	bFeedItems      = []byte("feed_items")
	bBroadcasts     = []byte("broadcasts")

	allBuckets = [][]byte{
		bMeta, bUsers, bSellers, bAPIKeys, bApps, bAppsPending, bFlows, bProducts, bSellerProducts,
		bLinks, bAffLinks, bProductLinks, bClicks, bVisitors, bAggLink, bAggAff, bTotals,
		bFeedback, bSellerFeedback, bUserFeedback, bAggProduct, bAggSeller, bOrders, bSellerOrders,
		bOutbox, bOutboxKeys, bOutboxDue, bOutboxUser, bOutboxDone, bAlertCounts,
		bDigestDue,
		bAlerts, bAlertsPending, bFeeds, bFeedItems, bBroadcasts,
	}

	kSchema   = []byte("schema")
	kSalt     = []byte("salt")
	kNClicks  = []byte("n_clicks")
	kNBots    = []byte("n_bots")
	kNOrphans = []byte("n_orphans")
)

// saltLen is the size of the visitor salt.
const saltLen = 32

// migration is one numbered step of the schema. Steps run in order when the database is opened. A step
// works in chunks: up gets the position its last chunk stopped at (nil at first) and returns where to go
// on, or nil when it is done; every chunk is a transaction of its own, so that rewriting a large bucket
// never holds the single writer, or grows one transaction, without bound. The stored version moves to
// the step's version in the transaction of its last chunk. A step must be safe to run again from the
// start over a database that an interrupted run left half done.
type migration struct {
	version int
	name    string
	up      func(tx *bolt.Tx, resume []byte) (next []byte, err error)
}

// migrations lists every schema step in increasing order. Append only; never renumber. Versions need not
// be contiguous: a step runs when its version is above the stored one.
var migrations = []migration{
	{version: 1, name: "initial layout", up: func(tx *bolt.Tx, _ []byte) ([]byte, error) { return nil, createBuckets(tx) }},
	{version: 2, name: "versioned count records", up: migrateCountRecords},
	{version: 3, name: "click log in records of many clicks", up: migrateClickRecords},
	{version: 4, name: "orders and product and seller aggregates", up: migrateOrderBuckets},
	{version: 5, name: "outbox", up: migrateOutboxBuckets},
	{version: 6, name: "digest schedule by zone and local minute", up: migrateDigestIndex},
	{version: 7, name: "policy alerts, policy feeds and broadcasts", up: migrateAlertBuckets},
}

// SchemaLatest is the schema version this binary writes.
var SchemaLatest = migrations[len(migrations)-1].version

func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// Options configure Open. Zero values get defaults.
type Options struct {
	// Timeout bounds the wait for the file lock (default 1s): a second process gets an error, not a hang.
	// It is the only bbolt-specific option: a bbolt file is locked by the one process that has it open.
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of randomness for link codes and API keys (default crypto/rand.Reader).
	Rand io.Reader
	// ReadOnly opens the file with a shared lock and runs no migrations (for a backup of a stopped
	// server's database). Writes fail.
	ReadOnly bool
	// AttributionWindow is how long after a click an order still counts (KERANJANG_ATTRIBUTION_WINDOW;
	// default affiliate.DefaultAttributionWindow).
	AttributionWindow time.Duration
	// ShopHosts are the allowed shop hosts (KERANJANG_SHOP_HOSTS; empty allows any public host), checked
	// by affiliate.ValidateProduct on every product write.
	ShopHosts []string
	// NoGroupCommit makes every order write its own transaction and fsync instead of sharing them with
	// concurrent writes (bbolt's DB.Batch). For measurement only: it shows what group commit saves
	// (bench/postbacks.sh); never set it in production.
	NoGroupCommit bool
}

// Store is the bbolt-backed database. Safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time
	// window is Options.AttributionWindow.
	window time.Duration
	// shopHosts are Options.ShopHosts.
	shopHosts []string
	salt      []byte

	// rand is Options.Rand behind a lock: the source need not be safe for concurrent use.
	rand safeio.LockedReader

	// targets caches Target lookups (code → *affiliate.Target, never changed once stored); the redirect
	// path reads it without a lock. gen is bumped after every commit that may make a cached entry stale,
	// so that a lookup that read the database before that commit does not put a stale entry back;
	// targetMu orders such fills against invalidations.
	targetMu sync.Mutex
	targets  sync.Map
	gen      atomic.Uint64

	// clickMu guards the buffers RecordClicks reuses from batch to batch.
	clickMu sync.Mutex
	cb      clickBuffers
}

// Open opens (creating if needed) the database at path, creates all buckets and runs migrations. A file
// shorter than its header says is refused with ErrTruncated, and a lock held by another process past
// Options.Timeout gives ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.AttributionWindow <= 0 {
		opts.AttributionWindow = affiliate.DefaultAttributionWindow
	}
	if err := checkFile(path); err != nil {
		return nil, openError(path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, FreelistType: bolt.FreelistMapType,
		ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, openError(path, err)
	}
	db.MaxBatchDelay = orderBatchDelay
	if opts.NoGroupCommit {
		db.MaxBatchSize = 0 // every DB.Batch call runs alone at once
	}
	s := &Store{db: db, now: opts.Now, window: opts.AttributionWindow, rand: safeio.LockedReader{R: opts.Rand}, shopHosts: opts.ShopHosts}
	if opts.ReadOnly {
		return s, nil
	}
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

// migrate brings the schema to SchemaLatest, one migration chunk per transaction, then makes sure every
// bucket exists and creates the visitor salt.
func (s *Store) migrate() error {
	version := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		version = storedVersion(tx)
		return nil
	})
	if err != nil {
		return err
	}
	if version > SchemaLatest {
		return fmt.Errorf("schema version %d is newer than this binary's %d", version, SchemaLatest)
	}
	for _, m := range migrations {
		if m.version <= version {
			continue
		}
		for pos, done := []byte(nil), false; !done; {
			err := s.db.Update(func(tx *bolt.Tx) error {
				next, err := m.up(tx, pos)
				if err != nil || next != nil {
					pos = next
					return err
				}
				done = true
				meta, err := tx.CreateBucketIfNotExists(bMeta)
				if err != nil {
					return err
				}
				return meta.Put(kSchema, binary.BigEndian.AppendUint32(nil, uint32(m.version)))
			})
			if err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bMeta)
		if salt := meta.Get(kSalt); len(salt) == saltLen {
			s.salt = append([]byte(nil), salt...)
			return nil
		}
		salt := make([]byte, saltLen)
		if _, err := io.ReadFull(&s.rand, salt); err != nil {
			return fmt.Errorf("create visitor salt: %w", err)
		}
		if err := meta.Put(kSalt, salt); err != nil {
			return fmt.Errorf("store visitor salt: %w", err)
		}
		s.salt = salt
		return nil
	})
}

// storedVersion is the schema version in the meta bucket, 0 for a new file.
func storedVersion(tx *bolt.Tx) int {
	if meta := tx.Bucket(bMeta); meta != nil {
		if v := meta.Get(kSchema); len(v) == 4 {
			return int(binary.BigEndian.Uint32(v))
		}
	}
	return 0
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping reports whether the database is open (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.view(ctx, func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the database to w and returns its size. The snapshot is first
// written to a temporary file next to the database, in a read transaction that lasts only as long as
// that local write; the copy to w, which may be a slow network client, runs outside any transaction, so
// neither writers nor Close ever wait for w. ctx is checked between writes; the temporary file is
// removed before Backup returns.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	n, err := s.backup(ctx, w)
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

func (s *Store) backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	path := s.db.Path()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".backup-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	err = s.view(ctx, func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(safeio.CtxWriter{Ctx: ctx, W: tmp})
		return err
	})
	if err != nil {
		return 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(safeio.CtxWriter{Ctx: ctx, W: w}, tmp)
}

// SchemaVersion returns the schema version stored in the meta bucket.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return get(s, ctx, "schema version", func(tx *bolt.Tx) (int, error) { return storedVersion(tx), nil })
}

// VisitorSalt returns the database's random salt for hashing visitors (created once, at first open).
// The returned slice is a copy.
func (s *Store) VisitorSalt() []byte { return append([]byte(nil), s.salt...) }

// randomString returns n random characters of affiliate.Alphabet from the store's random source.
func (s *Store) randomString(n int) (string, error) { return affiliate.RandomString(&s.rand, n) }

// ---- key and value helpers ----

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func idKey(id int64) []byte { return u64(uint64(id)) }

func key2(a, b uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func addU64(b *bolt.Bucket, k []byte, d uint64) error {
	if d == 0 {
		return nil
	}
	return b.Put(k, u64(getU64(b, k)+d))
}

// hasPrefix reports whether k starts with p (k may be nil at the end of a cursor).
func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

var errStop = errors.New("stop")

// view runs fn in a read transaction unless ctx is already done. bbolt transactions cannot be
// interrupted, so cancellation is honoured before a transaction starts and, in long scans, between steps
// (see ctxErr).
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// get runs fn in a read transaction (unless ctx is already done) and returns its value; an error is
// wrapped with what, and the value is then the zero value.
func get[T any](s *Store, ctx context.Context, what string, fn func(*bolt.Tx) (T, error)) (T, error) {
	var v T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// batch runs fn in a write transaction shared with other concurrent batch calls (bbolt's DB.Batch: one
// commit and one fsync for the group) unless ctx is already done. fn may run more than once, so it must
// compute everything inside.
func (s *Store) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(fn)
}

// update runs fn in a write transaction unless ctx is already done.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

var _ contract.Store = (*Store)(nil)

// Package store is Keranjang's database: one bbolt file behind one concrete *Store.
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
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
//	clicks           click id (string)            → click record (binary, see encodeClick); ids begin with
//	                                                the click's time, so the log grows at its end
//	visitors         code + visitor (8)           → unix ns of the visitor's last click (binary)
//	agg_link         code + hour                  → counts (binary: clicks, unique, bots; 3×uint64)
//	agg_affiliate    affiliate id + hour          → counts (binary)
//	totals           code                         → all-time counts of the link (binary)
//	feedback         feedback id                  → affiliate.Feedback
//	seller_feedback  seller id + feedback id      → empty
//	user_feedback    affiliate id + feedback id   → empty
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
	bFeedback       = []byte("feedback")
	bSellerFeedback = []byte("seller_feedback")
	bUserFeedback   = []byte("user_feedback")

	allBuckets = [][]byte{
		bMeta, bUsers, bSellers, bAPIKeys, bApps, bAppsPending, bFlows, bProducts, bSellerProducts,
		bLinks, bAffLinks, bProductLinks, bClicks, bVisitors, bAggLink, bAggAff, bTotals,
		bFeedback, bSellerFeedback, bUserFeedback,
	}

	kSchema   = []byte("schema")
	kSalt     = []byte("salt")
	kNClicks  = []byte("n_clicks")
	kNBots    = []byte("n_bots")
	kNOrphans = []byte("n_orphans")
)

// saltLen is the size of the visitor salt.
const saltLen = 32

// migration is one numbered step of the schema. Steps run in order, each inside the opening
// transaction, and the stored version is moved to the step's version after it ran.
type migration struct {
	version int
	name    string
	up      func(tx *bolt.Tx) error
}

// migrations lists every schema step. Append only; never renumber.
var migrations = []migration{
	{version: 1, name: "initial layout", up: createBuckets},
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
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of randomness for link codes and API keys (default crypto/rand.Reader).
	Rand io.Reader
	// ShopHosts are the allowed shop hosts (KERANJANG_SHOP_HOSTS; empty allows any public host), checked
	// by affiliate.ValidateProduct on every product write.
	ShopHosts []string
}

// Store is the bbolt-backed database. Safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time
	// shopHosts are Options.ShopHosts.
	shopHosts []string
	salt      []byte

	randMu sync.Mutex
	rand   io.Reader

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

// Open opens (creating if needed) the database at path, creates all buckets and runs migrations.
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{db: db, now: opts.Now, rand: opts.Rand, shopHosts: opts.ShopHosts}
	if err := db.Update(func(tx *bolt.Tx) error { return s.migrate(tx) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

// migrate brings the schema to SchemaLatest, makes sure every bucket exists and creates the visitor
// salt, all inside the opening transaction.
func (s *Store) migrate(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return fmt.Errorf("create meta: %w", err)
	}
	version := 0
	if v := meta.Get(kSchema); len(v) == 4 {
		version = int(binary.BigEndian.Uint32(v))
	}
	if version > SchemaLatest {
		return fmt.Errorf("schema version %d is newer than this binary's %d", version, SchemaLatest)
	}
	for _, m := range migrations {
		if m.version <= version {
			continue
		}
		if err := m.up(tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		version = m.version
		if err := meta.Put(kSchema, binary.BigEndian.AppendUint32(nil, uint32(version))); err != nil {
			return fmt.Errorf("store schema version: %w", err)
		}
	}
	if err := createBuckets(tx); err != nil {
		return err
	}
	if salt := meta.Get(kSalt); len(salt) == saltLen {
		s.salt = append([]byte(nil), salt...)
	} else {
		salt := make([]byte, saltLen)
		if _, err := io.ReadFull(s.rand, salt); err != nil {
			return fmt.Errorf("create visitor salt: %w", err)
		}
		if err := meta.Put(kSalt, salt); err != nil {
			return fmt.Errorf("store visitor salt: %w", err)
		}
		s.salt = salt
	}
	return nil
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

// Backup writes a consistent copy of the database to w (bbolt hot backup) and returns its size.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// SchemaVersion returns the schema version stored in the meta bucket.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	version := 0
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(kSchema); len(v) == 4 {
			version = int(binary.BigEndian.Uint32(v))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return version, nil
}

// VisitorSalt returns the database's random salt for hashing visitors (created once, at first open).
// The returned slice is a copy.
func (s *Store) VisitorSalt() []byte { return append([]byte(nil), s.salt...) }

// readRand fills p from the configured random source; the source need not be safe for concurrent use.
func (s *Store) readRand(p []byte) error {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	if _, err := io.ReadFull(s.rand, p); err != nil {
		return fmt.Errorf("read random: %w", err)
	}
	return nil
}

// randomString returns n characters of affiliate.Alphabet drawn without modulo bias: bytes at or above
// the largest multiple of the alphabet size are rejected.
func (s *Store) randomString(n int) (string, error) {
	const alpha = len(affiliate.Alphabet)
	const limit = 256 - 256%alpha
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+4)
	for len(out) < n {
		if err := s.readRand(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, affiliate.Alphabet[int(b)%alpha])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

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

// update runs fn in a write transaction unless ctx is already done.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

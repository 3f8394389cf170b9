package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
)

// maxCodeTries bounds the retries on a link-code collision; with 62^8 codes a second try is already rare.
const maxCodeTries = 16

const (
	sqlGetProduct       = `SELECT doc FROM products WHERE id = $1`
	sqlGetProductLocked = `SELECT doc FROM products WHERE id = $1 FOR UPDATE`
	sqlGetProductShared = `SELECT doc FROM products WHERE id = $1 FOR SHARE`
	// The product's id comes from the table's sequence and is written into doc in the same statement.
	sqlCreateProduct = `INSERT INTO products (id, seller_id, status, rate_bp, created_at, name_lower, description_lower, doc)
		SELECT n.id, $1, $2, $3, $4, $5, $6, jsonb_set($7::jsonb, '{id}', to_jsonb(n.id))
		FROM (SELECT nextval('products_id_seq') AS id) n
		RETURNING id`
	sqlSellerProducts = `SELECT doc FROM products WHERE seller_id = $1 ORDER BY created_at DESC, id DESC`
	// Every word (lowered by the caller) must be in the lowered name or description; the page comes with
	// the number of all matches (one row with a NULL doc when the page is empty).
	sqlSearchProducts = `WITH m AS (
			SELECT id, rate_bp, created_at, doc FROM products p
			WHERE status = 'active' AND NOT EXISTS (
				SELECT 1 FROM unnest($1::text[]) AS w(word)
				WHERE strpos(p.name_lower, w.word) = 0 AND strpos(p.description_lower, w.word) = 0))
		SELECT t.total, page.doc
		FROM (SELECT count(*) AS total FROM m) t
		LEFT JOIN LATERAL (SELECT doc, rate_bp, created_at, id FROM m
			ORDER BY rate_bp DESC, created_at DESC, id DESC OFFSET $2 LIMIT $3) page ON true
		ORDER BY page.rate_bp DESC, page.created_at DESC, page.id DESC`
)

// getProduct reads product id in q; affiliate.ErrProductNotFound when there is none. (Used by orders.)
func getProduct(ctx context.Context, q querier, id uint64) (affiliate.Product, error) {
	return readProduct(ctx, q, sqlGetProduct, id)
}

// readProduct reads product id with query (sqlGetProduct or a locking form of it).
func readProduct(ctx context.Context, q querier, query string, id uint64) (affiliate.Product, error) {
	var p affiliate.Product
	if err := q.QueryRow(ctx, query, int64(id)).Scan(&p); err != nil {
		return affiliate.Product{}, notFound(err, affiliate.ErrProductNotFound)
	}
	return p, nil
}

// CreateProduct assigns the next product id, sets timestamps and status active, and stores p.
func (s *Store) CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error) {
	if p.SellerID <= 0 {
		return affiliate.Product{}, affiliate.ErrSellerNotFound
	}
	p.Status = affiliate.ProductActive
	if err := affiliate.ValidateProduct(nil, &p, s.shopHosts); err != nil {
		return affiliate.Product{}, err
	}
	err := s.statement(ctx, "create product", func(ctx context.Context) error {
		now := s.now().UTC()
		p.ID, p.CreatedAt, p.UpdatedAt = 0, now, now
		doc, err := encodeDoc(p)
		if err != nil {
			return err
		}
		var id int64
		err = s.pool.QueryRow(ctx, sqlCreateProduct, p.SellerID, string(p.Status), int32(p.Rate), p.CreatedAt,
			strings.ToLower(p.Name), strings.ToLower(p.Description), doc).Scan(&id)
		p.ID = uint64(id)
		return err
	})
	if err != nil {
		return affiliate.Product{}, err
	}
	return p, nil
}

// GetProduct returns a product or affiliate.ErrProductNotFound.
func (s *Store) GetProduct(ctx context.Context, id uint64) (affiliate.Product, error) {
	var p affiliate.Product
	err := s.statement(ctx, "get product", func(ctx context.Context) error {
		var err error
		p, err = getProduct(ctx, s.pool, id)
		return err
	})
	if err != nil {
		return affiliate.Product{}, err
	}
	return p, nil
}

const (
	sqlProductLinksLocked = `SELECT doc FROM links WHERE product_id = $1 ORDER BY code FOR UPDATE`
	// After a rate change: the product and the links whose docs changed ($7, $8: codes and docs), in one
	// statement.
	sqlUpdateProductRate = `WITH l AS (
			UPDATE links l SET doc = v.doc FROM unnest($7::text[], $8::jsonb[]) AS v(code, doc) WHERE l.code = v.code)
		UPDATE products SET status = $2, rate_bp = $3, name_lower = $4, description_lower = $5, doc = $6 WHERE id = $1`
	// Otherwise: the product, returning the codes of its links when $7 (its URL or status changed), in
	// one statement.
	sqlUpdateProduct = `WITH p AS (
			UPDATE products SET status = $2, rate_bp = $3, name_lower = $4, description_lower = $5, doc = $6 WHERE id = $1)
		SELECT code FROM links WHERE product_id = $1 AND $7`
)

// UpdateProduct changes a seller's own product with fn in one transaction on the product's locked row
// (ErrProductNotFound when it is not theirs). When the rate changes, every link of the product (locked,
// in code order) goes through affiliate.ApplyRateChange in the same transaction; the links whose
// affiliates must be told are returned. The id, seller and creation time cannot be changed by fn; the
// result is validated like a new product. A change of URL or status drops the product's links from
// this process's Target cache after the commit.
func (s *Store) UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error) {
	var (
		p        affiliate.Product
		notify   []affiliate.Link
		codes    []string
		retarget bool
	)
	err := s.inTx(ctx, "update product", func(ctx context.Context, tx pgx.Tx) error {
		notify, codes = nil, nil
		old, err := readProduct(ctx, tx, sqlGetProductLocked, id)
		if err != nil {
			return err
		}
		if old.SellerID != sellerID {
			return affiliate.ErrProductNotFound
		}
		now := s.now().UTC()
		if p, retarget, err = affiliate.EditProduct(old, fn, s.shopHosts, now); err != nil {
			return err
		}
		doc, err := encodeDoc(p)
		if err != nil {
			return err
		}
		args := []any{int64(id), string(p.Status), int32(p.Rate), strings.ToLower(p.Name), strings.ToLower(p.Description), doc}
		if p.Rate == old.Rate {
			rows, _ := tx.Query(ctx, sqlUpdateProduct, append(args, retarget)...)
			codes, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}
		rows, _ := tx.Query(ctx, sqlProductLinksLocked, int64(id))
		links, err := pgx.CollectRows(rows, pgx.RowTo[affiliate.Link])
		if err != nil {
			return err
		}
		changed, docs := []string{}, [][]byte{}
		for _, l := range links {
			codes = append(codes, l.Code)
			nl, tell := affiliate.ApplyRateChange(l, old.Rate, p.Rate, now)
			if nl != l {
				doc, err := encodeDoc(nl)
				if err != nil {
					return err
				}
				changed, docs = append(changed, nl.Code), append(docs, doc)
			}
			if tell {
				notify = append(notify, nl)
			}
		}
		_, err = tx.Exec(ctx, sqlUpdateProductRate, append(args, changed, docs)...)
		return err
	})
	if err != nil {
		return affiliate.Product{}, nil, err
	}
	if retarget {
		s.targets.invalidate(codes)
	}
	return p, notify, nil
}

// SearchProducts lists active products whose name or description contains every word (case-insensitive,
// by Go's case mapping), best commission first, then newest; offset/limit page through them (limit ≤ 0:
// all); total is the number of matches.
func (s *Store) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error) {
	lower := []string{}
	for _, w := range words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			lower = append(lower, w)
		}
	}
	var lim any // NULL: LIMIT ALL
	if limit > 0 {
		lim = limit
	}
	var (
		out   []affiliate.Product
		total int64
	)
	err := s.statement(ctx, "search products", func(ctx context.Context) error {
		out, total = nil, 0
		rows, _ := s.pool.Query(ctx, sqlSearchProducts, lower, max(offset, 0), lim)
		var doc []byte
		_, err := pgx.ForEachRow(rows, []any{&total, &doc}, func() error {
			if doc == nil {
				return nil
			}
			var p affiliate.Product
			if err := decodeDoc(doc, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, int(total), nil
}

// SellerProducts lists a seller's products, newest first.
func (s *Store) SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error) {
	var out []affiliate.Product
	err := s.statement(ctx, "seller products", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, sqlSellerProducts, sellerID)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[affiliate.Product])
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	sqlGetLink       = `SELECT doc FROM links WHERE code = $1`
	sqlGetLinkLocked = `SELECT doc FROM links WHERE code = $1 FOR UPDATE`
	sqlGetPair       = `SELECT doc FROM links WHERE affiliate_id = $1 AND product_id = $2`
	// Nothing is inserted when the code is taken or the pair already has a link (perhaps one that a
	// concurrent join has just committed): JoinProduct then looks for the pair's link again.
	sqlInsertLink = `INSERT INTO links (code, affiliate_id, product_id, seller_id, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	sqlUpdateLink     = `UPDATE links SET doc = $2 WHERE code = $1`
	sqlListLinks      = `SELECT doc FROM links WHERE code > $1 ORDER BY code LIMIT $2`
	sqlAffiliateLinks = `SELECT doc FROM links WHERE affiliate_id = $1 ORDER BY created_at, product_id, code`
	sqlProductLinks   = `SELECT doc FROM links WHERE product_id = $1 ORDER BY created_at, product_id, code`
	sqlTarget         = `SELECT l.code, l.product_id, l.affiliate_id, l.seller_id, p.doc->>'url'
		FROM links l LEFT JOIN products p ON p.id = l.product_id WHERE l.code = $1`
)

// getLink reads the link with code in q (a transaction of another method, or the pool);
// affiliate.ErrLinkNotFound when there is none. (Used by orders.)
func getLink(ctx context.Context, q querier, code string) (affiliate.Link, error) {
	return readLink(ctx, q, sqlGetLink, code)
}

// readLink reads the link with code with query (sqlGetLink or its locked form).
func readLink(ctx context.Context, q querier, query, code string) (affiliate.Link, error) {
	var l affiliate.Link
	if err := q.QueryRow(ctx, query, code).Scan(&l); err != nil {
		return affiliate.Link{}, notFound(err, affiliate.ErrLinkNotFound)
	}
	return l, nil
}

// JoinProduct enrols an affiliate: returns the existing link (created=false) or a new one with a fresh
// unique code. ErrUserNotFound, ErrProductNotFound, ErrProductPaused (for a new link; an affiliate who
// already joined gets the existing link back even while the product is paused). Concurrent joins of one
// pair, from any instance, make one link: the pair is unique in the table, and a join that loses the
// race returns the winner's link.
func (s *Store) JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error) {
	var (
		link    affiliate.Link
		created bool
	)
	err := s.inTx(ctx, "join product", func(ctx context.Context, tx pgx.Tx) error {
		created = false
		// A share lock: a concurrent UpdateProduct (rate cut, pause) waits for this join, and then
		// sees the new link, or this join waits for it and sees the product as it left it.
		p, err := readProduct(ctx, tx, sqlGetProductShared, productID)
		if err != nil {
			return err
		}
		for range maxCodeTries {
			err := tx.QueryRow(ctx, sqlGetPair, affiliateID, int64(productID)).Scan(&link)
			if err == nil {
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err := affiliate.CheckJoin(p, affiliateID, false); err != nil {
				return err
			}
			if _, err := getUser(ctx, tx, sqlGetUser, affiliateID); err != nil {
				return err
			}
			code, err := affiliate.RandomString(&s.rand, affiliate.LinkCodeLen)
			if err != nil {
				return err
			}
			link = affiliate.Link{Code: code, AffiliateID: affiliateID, ProductID: productID, SellerID: p.SellerID, CreatedAt: s.now().UTC()}
			doc, err := encodeDoc(link)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, sqlInsertLink, code, affiliateID, int64(productID), p.SellerID, link.CreatedAt, doc)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				created = true
				return nil
			}
			// The code was taken, or the pair joined meanwhile: look for the pair again.
		}
		return fmt.Errorf("no free link code after %d tries", maxCodeTries)
	})
	if err != nil {
		return affiliate.Link{}, false, err
	}
	return link, created, nil
}

// GetLink returns a link by code or affiliate.ErrLinkNotFound.
func (s *Store) GetLink(ctx context.Context, code string) (affiliate.Link, error) {
	if !affiliate.ValidCode(code) {
		return affiliate.Link{}, affiliate.ErrLinkNotFound
	}
	var l affiliate.Link
	err := s.statement(ctx, "get link", func(ctx context.Context) error {
		var err error
		l, err = getLink(ctx, s.pool, code)
		return err
	})
	if err != nil {
		return affiliate.Link{}, err
	}
	return l, nil
}

// UpdateLink changes a link with fn in one transaction on its locked row (for example to set Reminded).
// The code, affiliate, product, seller and creation time cannot be changed.
func (s *Store) UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error) {
	var l affiliate.Link
	err := s.inTx(ctx, "update link", func(ctx context.Context, tx pgx.Tx) error {
		old, err := readLink(ctx, tx, sqlGetLinkLocked, code)
		if err != nil {
			return err
		}
		l = old
		if err := fn(&l); err != nil {
			return err
		}
		l.Code, l.AffiliateID, l.ProductID, l.SellerID, l.CreatedAt = old.Code, old.AffiliateID, old.ProductID, old.SellerID, old.CreatedAt
		doc, err := encodeDoc(l)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlUpdateLink, code, doc)
		return err
	})
	if err != nil {
		return affiliate.Link{}, err
	}
	return l, nil
}

// ListLinks returns up to limit links whose code sorts after after ("" starts at the first), in code
// (byte) order: a keyset page.
func (s *Store) ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.links(ctx, "list links", sqlListLinks, after, limit)
}

// AffiliateLinks lists an affiliate's links, oldest first.
func (s *Store) AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error) {
	return s.links(ctx, "affiliate links", sqlAffiliateLinks, affiliateID)
}

// ProductLinks lists a product's links, oldest first.
func (s *Store) ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error) {
	return s.links(ctx, "product links", sqlProductLinks, int64(productID))
}

// links runs query, which selects link docs, with args.
func (s *Store) links(ctx context.Context, what, query string, args ...any) ([]affiliate.Link, error) {
	var out []affiliate.Link
	err := s.statement(ctx, what, func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, query, args...)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[affiliate.Link])
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Target resolves a link code for the redirect hot path. ErrLinkNotFound for unknown codes. Paused
// products still resolve. Answers come from an in-process cache (see targetCache): this process's own
// product edits show at once, another instance's within targetTTL.
func (s *Store) Target(ctx context.Context, code string) (affiliate.Target, error) {
	if err := ctx.Err(); err != nil {
		return affiliate.Target{}, fmt.Errorf("target: %w", err)
	}
	if t, ok := s.targets.get(code); ok {
		return t, nil
	}
	gen := s.targets.generation()
	if !affiliate.ValidCode(code) {
		return affiliate.Target{}, affiliate.ErrLinkNotFound
	}
	var t affiliate.Target
	read := time.Now()
	err := s.statement(ctx, "target", func(ctx context.Context) error {
		var (
			productID int64
			url       *string
		)
		err := s.pool.QueryRow(ctx, sqlTarget, code).Scan(&t.Code, &productID, &t.AffiliateID, &t.SellerID, &url)
		if err != nil {
			return notFound(err, affiliate.ErrLinkNotFound)
		}
		if url == nil {
			return affiliate.ErrProductNotFound
		}
		t.ProductID, t.URL = uint64(productID), *url
		return nil
	})
	if err != nil {
		return affiliate.Target{}, err
	}
	s.targets.put(gen, read, t)
	return t, nil
}

// targetTTL bounds how long a cached Target answer is used. Several instances share the database, and
// an instance hears nothing of another's product edits, so an entry is dropped this long after it was
// read: a URL or status change made elsewhere reaches this instance's redirects within targetTTL (this
// process's own edits drop the entries at once).
const targetTTL = 5 * time.Second

// targetCache caches Target answers by link code for the redirect path, which reads it without a lock.
// gen is bumped by every invalidation, so that a lookup that read the database before an invalidation
// (and so may have seen the old product) does not put its answer back; mu orders such fills against
// invalidations. Entries expire targetTTL after they were read, by the monotonic clock.
type targetCache struct {
	mu      sync.Mutex
	entries sync.Map // code → *targetEntry, never changed once stored
	gen     atomic.Uint64
	// since is the clock of expiry (time.Since; tests may replace it).
	since func(time.Time) time.Duration
}

type targetEntry struct {
	t    affiliate.Target
	read time.Time
}

func (c *targetCache) elapsed(t time.Time) time.Duration {
	if c.since != nil {
		return c.since(t)
	}
	return time.Since(t)
}

// get returns the cached answer for code, unless there is none or it has expired.
func (c *targetCache) get(code string) (affiliate.Target, bool) {
	v, ok := c.entries.Load(code)
	if !ok {
		return affiliate.Target{}, false
	}
	e := v.(*targetEntry)
	if c.elapsed(e.read) >= targetTTL {
		c.entries.CompareAndDelete(code, v)
		return affiliate.Target{}, false
	}
	return e.t, true
}

// generation is the invalidation count, taken before a lookup reads the database.
func (c *targetCache) generation() uint64 { return c.gen.Load() }

// put caches t, read from the database from time read on, after generation returned gen, unless an
// invalidation came since: nothing committed before the read can then have changed what it saw.
func (c *targetCache) put(gen uint64, read time.Time, t affiliate.Target) {
	e := &targetEntry{t: t, read: read}
	c.mu.Lock()
	if c.gen.Load() == gen {
		c.entries.Store(t.Code, e)
	}
	c.mu.Unlock()
}

// invalidate drops the answers for codes after a commit that changed them.
func (c *targetCache) invalidate(codes []string) {
	c.mu.Lock()
	c.gen.Add(1)
	for _, code := range codes {
		c.entries.Delete(code)
	}
	c.mu.Unlock()
}

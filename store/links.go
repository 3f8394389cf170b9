package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// maxCodeTries bounds the retries on a link-code collision; with 62^8 codes a second try is already rare.
const maxCodeTries = 16

// JoinProduct enrols an affiliate: returns the existing link (created=false) or a new one with a fresh
// unique code. ErrUserNotFound, ErrProductNotFound, ErrProductPaused (for a new link; an affiliate who
// already joined gets the existing link back even while the product is paused).
func (s *Store) JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error) {
	var (
		link    affiliate.Link
		created bool
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		p, err := getProduct(tx, productID)
		if err != nil {
			return err
		}
		pairs := tx.Bucket(bAffLinks)
		pair := key2(uint64(affiliateID), productID)
		if code := pairs.Get(pair); code != nil {
			link, err = getLink(tx, string(code))
			return err
		}
		if err := affiliate.CheckJoin(p, affiliateID, false); err != nil {
			return err
		}
		if _, err := getUser(tx, affiliateID); err != nil {
			return err
		}
		links := tx.Bucket(bLinks)
		code := ""
		for range maxCodeTries {
			c, err := s.randomString(affiliate.LinkCodeLen)
			if err != nil {
				return err
			}
			if links.Get([]byte(c)) == nil {
				code = c
				break
			}
		}
		if code == "" {
			return fmt.Errorf("no free link code after %d tries", maxCodeTries)
		}
		link = affiliate.Link{Code: code, AffiliateID: affiliateID, ProductID: productID, SellerID: p.SellerID, CreatedAt: s.now().UTC()}
		created = true
		if err := pairs.Put(pair, []byte(code)); err != nil {
			return err
		}
		if err := tx.Bucket(bProductLinks).Put(append(u64(productID), code...), nil); err != nil {
			return err
		}
		return putJSON(links, []byte(code), link)
	})
	if err != nil {
		return affiliate.Link{}, false, fmt.Errorf("join product: %w", err)
	}
	return link, created, nil
}

// GetLink returns a link by code or affiliate.ErrLinkNotFound.
func (s *Store) GetLink(ctx context.Context, code string) (affiliate.Link, error) {
	if !affiliate.ValidCode(code) {
		return affiliate.Link{}, affiliate.ErrLinkNotFound
	}
	return get(s, ctx, "get link", func(tx *bolt.Tx) (affiliate.Link, error) { return getLink(tx, code) })
}

func getLink(tx *bolt.Tx, code string) (affiliate.Link, error) {
	var l affiliate.Link
	found, err := getJSON(tx.Bucket(bLinks), []byte(code), &l)
	if err != nil {
		return l, err
	}
	if !found {
		return l, affiliate.ErrLinkNotFound
	}
	return l, nil
}

// UpdateLink changes a link with fn in one transaction (for example to set Reminded). The code,
// affiliate, product, seller and creation time cannot be changed.
func (s *Store) UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error) {
	var l affiliate.Link
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if l, err = getLink(tx, code); err != nil {
			return err
		}
		old := l
		if err := fn(&l); err != nil {
			return err
		}
		l.Code, l.AffiliateID, l.ProductID, l.SellerID, l.CreatedAt = old.Code, old.AffiliateID, old.ProductID, old.SellerID, old.CreatedAt
		return putJSON(tx.Bucket(bLinks), []byte(code), l)
	})
	if err != nil {
		return affiliate.Link{}, fmt.Errorf("update link: %w", err)
	}
	return l, nil
}

// ListLinks returns up to limit links whose code sorts after after ("" starts at the first), in code
// order: a keyset page, so a caller walks every link with short reads and may write between pages.
func (s *Store) ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error) {
	if limit <= 0 {
		return nil, nil
	}
	return get(s, ctx, "list links", func(tx *bolt.Tx) ([]affiliate.Link, error) {
		var out []affiliate.Link
		c := tx.Bucket(bLinks).Cursor()
		k, _ := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil && len(out) < limit; k, _ = c.Next() {
			l, err := getLink(tx, string(k))
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	})
}

// AffiliateLinks lists an affiliate's links, oldest first.
func (s *Store) AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error) {
	out, err := get(s, ctx, "affiliate links", func(tx *bolt.Tx) ([]affiliate.Link, error) {
		var out []affiliate.Link
		prefix := idKey(affiliateID)
		c := tx.Bucket(bAffLinks).Cursor()
		for k, v := c.Seek(prefix); hasPrefix(k, prefix); k, v = c.Next() {
			l, err := getLink(tx, string(v))
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	})
	sortLinks(out)
	return out, err
}

// ProductLinks lists a product's links, oldest first.
func (s *Store) ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error) {
	out, err := get(s, ctx, "product links", func(tx *bolt.Tx) ([]affiliate.Link, error) { return productLinks(tx, productID) })
	sortLinks(out)
	return out, err
}

func productLinks(tx *bolt.Tx, productID uint64) ([]affiliate.Link, error) {
	var out []affiliate.Link
	prefix := u64(productID)
	c := tx.Bucket(bProductLinks).Cursor()
	for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
		l, err := getLink(tx, string(k[8:]))
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func sortLinks(links []affiliate.Link) {
	slices.SortStableFunc(links, func(a, b affiliate.Link) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ProductID, b.ProductID)
	})
}

// Target resolves a link code for the redirect hot path (served from an in-memory cache that product
// edits invalidate). ErrLinkNotFound for unknown codes. Paused products still resolve.
func (s *Store) Target(ctx context.Context, code string) (affiliate.Target, error) {
	if err := ctx.Err(); err != nil {
		return affiliate.Target{}, fmt.Errorf("target: %w", err)
	}
	if v, ok := s.targets.Load(code); ok {
		return *v.(*affiliate.Target), nil
	}
	gen := s.gen.Load()
	if !affiliate.ValidCode(code) {
		return affiliate.Target{}, affiliate.ErrLinkNotFound
	}
	t, err := get(s, ctx, "target", func(tx *bolt.Tx) (affiliate.Target, error) {
		l, err := getLink(tx, code)
		if err != nil {
			return affiliate.Target{}, err
		}
		p, err := getProduct(tx, l.ProductID)
		if err != nil {
			return affiliate.Target{}, err
		}
		return affiliate.Target{Code: l.Code, URL: p.URL, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID}, nil
	})
	if err != nil {
		return affiliate.Target{}, err
	}
	// The read above started after gen was loaded: if no invalidation happened since, nothing committed
	// before the read can have changed what it saw, so the entry is current.
	s.targetMu.Lock()
	if s.gen.Load() == gen {
		s.targets.Store(code, &t)
	}
	s.targetMu.Unlock()
	return t, nil
}

// invalidateTargets drops cached targets after a commit that changed them.
func (s *Store) invalidateTargets(codes []string) {
	s.targetMu.Lock()
	s.gen.Add(1)
	for _, c := range codes {
		s.targets.Delete(c)
	}
	s.targetMu.Unlock()
}

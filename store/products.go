package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// CreateProduct assigns the next product id, sets timestamps and status active, and stores p.
func (s *Store) CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error) {
	if p.SellerID <= 0 {
		return affiliate.Product{}, affiliate.ErrSellerNotFound
	}
	p.Status = affiliate.ProductActive
	if err := affiliate.ValidateProduct(nil, &p, s.shopHosts); err != nil {
		return affiliate.Product{}, err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		products := tx.Bucket(bProducts)
		id, err := products.NextSequence()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		p.ID, p.CreatedAt, p.UpdatedAt = id, now, now
		if err := tx.Bucket(bSellerProducts).Put(key2(uint64(p.SellerID), id), nil); err != nil {
			return err
		}
		return putJSON(products, u64(id), p)
	})
	if err != nil {
		return affiliate.Product{}, fmt.Errorf("create product: %w", err)
	}
	return p, nil
}

// GetProduct returns a product or affiliate.ErrProductNotFound.
func (s *Store) GetProduct(ctx context.Context, id uint64) (affiliate.Product, error) {
	return get(s, ctx, "get product", func(tx *bolt.Tx) (affiliate.Product, error) { return getProduct(tx, id) })
}

func getProduct(tx *bolt.Tx, id uint64) (affiliate.Product, error) {
	var p affiliate.Product
	found, err := getJSON(tx.Bucket(bProducts), u64(id), &p)
	if err != nil {
		return p, err
	}
	if !found {
		return p, affiliate.ErrProductNotFound
	}
	return p, nil
}

// UpdateProduct changes a seller's own product with fn in one transaction (ErrProductNotFound when it is
// not theirs). When the rate changes, every link of the product goes through affiliate.ApplyRateChange
// in the same transaction; the links whose affiliates must be told are returned. The id, seller and
// creation time cannot be changed by fn; the result is validated like a new product.
func (s *Store) UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error) {
	var (
		p        affiliate.Product
		notify   []affiliate.Link
		codes    []string
		retarget bool
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getProduct(tx, id)
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
		if p.Rate != old.Rate || retarget {
			links, err := productLinks(tx, id)
			if err != nil {
				return err
			}
			for _, l := range links {
				codes = append(codes, l.Code)
				if p.Rate == old.Rate {
					continue
				}
				nl, tell := affiliate.ApplyRateChange(l, old.Rate, p.Rate, now)
				if nl != l {
					if err := putJSON(tx.Bucket(bLinks), []byte(nl.Code), nl); err != nil {
						return err
					}
				}
				if tell {
					notify = append(notify, nl)
				}
			}
		}
		return putJSON(tx.Bucket(bProducts), u64(id), p)
	})
	if err != nil {
		return affiliate.Product{}, nil, fmt.Errorf("update product: %w", err)
	}
	if retarget {
		s.invalidateTargets(codes)
	}
	return p, notify, nil
}

// SearchProducts lists active products whose name or description contains every word (case-insensitive),
// best commission first, then newest; offset/limit page through them (limit ≤ 0: all); total is the
// number of matches.
func (s *Store) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error) {
	var lower []string
	for _, w := range words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			lower = append(lower, w)
		}
	}
	var matches []affiliate.Product
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bProducts).ForEach(func(k, v []byte) error {
			var p affiliate.Product
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode product %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if p.Status != affiliate.ProductActive {
				return nil
			}
			name, desc := strings.ToLower(p.Name), strings.ToLower(p.Description)
			for _, w := range lower {
				if !strings.Contains(name, w) && !strings.Contains(desc, w) {
					return nil
				}
			}
			matches = append(matches, p)
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("search products: %w", err)
	}
	slices.SortFunc(matches, func(a, b affiliate.Product) int {
		if c := cmp.Compare(b.Rate, a.Rate); c != 0 {
			return c
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	total := len(matches)
	offset = max(offset, 0)
	if offset >= total {
		return nil, total, nil
	}
	matches = matches[offset:]
	if limit > 0 && limit < len(matches) {
		matches = matches[:limit]
	}
	return matches, total, nil
}

// SellerProducts lists a seller's products, newest first.
func (s *Store) SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error) {
	out, err := get(s, ctx, "seller products", func(tx *bolt.Tx) ([]affiliate.Product, error) { return sellerProducts(tx, sellerID) })
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b affiliate.Product) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// sellerProducts returns a seller's products in id order.
func sellerProducts(tx *bolt.Tx, sellerID int64) ([]affiliate.Product, error) {
	var out []affiliate.Product
	prefix := idKey(sellerID)
	c := tx.Bucket(bSellerProducts).Cursor()
	for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
		p, err := getProduct(tx, binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

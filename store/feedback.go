package store

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// AddFeedback stores an affiliate's comment to a product's seller. The seller comes from the product;
// ID and At are set. Invalid reasons: "feedback_empty", "feedback_long".
func (s *Store) AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error) {
	text, err := affiliate.ValidateFeedbackText(f.Text)
	if err != nil {
		return affiliate.Feedback{}, err
	}
	f.Text = text
	err = s.update(ctx, func(tx *bolt.Tx) error {
		p, err := getProduct(tx, f.ProductID)
		if err != nil {
			return err
		}
		if _, err := getUser(tx, f.AffiliateID); err != nil {
			return err
		}
		fb := tx.Bucket(bFeedback)
		id, err := fb.NextSequence()
		if err != nil {
			return err
		}
		f.ID, f.SellerID, f.At = id, p.SellerID, s.now().UTC()
		if err := tx.Bucket(bSellerFeedback).Put(key2(uint64(f.SellerID), id), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bUserFeedback).Put(key2(uint64(f.AffiliateID), id), nil); err != nil {
			return err
		}
		return putJSON(fb, u64(id), f)
	})
	if err != nil {
		return affiliate.Feedback{}, fmt.Errorf("add feedback: %w", err)
	}
	return f, nil
}

// SellerFeedback lists the newest feedback for a seller's products, newest first, at most limit
// (limit ≤ 0: all).
func (s *Store) SellerFeedback(ctx context.Context, sellerID int64, limit int) ([]affiliate.Feedback, error) {
	return get(s, ctx, "seller feedback", func(tx *bolt.Tx) ([]affiliate.Feedback, error) {
		var out []affiliate.Feedback
		fb := tx.Bucket(bFeedback)
		prefix := idKey(sellerID)
		c := tx.Bucket(bSellerFeedback).Cursor()
		k, _ := c.Seek(key2(uint64(sellerID)+1, 0))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; hasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			var f affiliate.Feedback
			found, err := getJSON(fb, k[8:], &f)
			if err != nil {
				return nil, err
			}
			if found {
				out = append(out, f)
			}
		}
		return out, nil
	})
}

// deleteUserFeedback removes the feedback an affiliate wrote, with its index entries.
func deleteUserFeedback(tx *bolt.Tx, affiliateID int64) error {
	fb, sf, uf := tx.Bucket(bFeedback), tx.Bucket(bSellerFeedback), tx.Bucket(bUserFeedback)
	prefix := idKey(affiliateID)
	var keys [][]byte
	c := uf.Cursor()
	for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		id := k[8:]
		var f affiliate.Feedback
		found, err := getJSON(fb, id, &f)
		if err != nil {
			return err
		}
		if found {
			if err := sf.Delete(key2(uint64(f.SellerID), binary.BigEndian.Uint64(id))); err != nil {
				return err
			}
			if err := fb.Delete(id); err != nil {
				return err
			}
		}
		if err := uf.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

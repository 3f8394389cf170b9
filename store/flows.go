package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// GetFlow returns the user's current multi-step flow, if any.
func (s *Store) GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error) {
	var (
		f     affiliate.Flow
		found bool
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = getJSON(tx.Bucket(bFlows), idKey(userID), &f)
		return err
	})
	if err != nil {
		return affiliate.Flow{}, false, fmt.Errorf("get flow: %w", err)
	}
	return f, found, nil
}

// SaveFlow stores (replaces) the user's flow; UpdatedAt is set.
func (s *Store) SaveFlow(ctx context.Context, f affiliate.Flow) error {
	if f.UserID == 0 {
		return affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	f.UpdatedAt = s.now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bFlows), idKey(f.UserID), f)
	})
	if err != nil {
		return fmt.Errorf("save flow: %w", err)
	}
	return nil
}

// DeleteFlow ends the user's flow; no error when there is none.
func (s *Store) DeleteFlow(ctx context.Context, userID int64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bFlows).Delete(idKey(userID))
	})
	if err != nil {
		return fmt.Errorf("delete flow: %w", err)
	}
	return nil
}

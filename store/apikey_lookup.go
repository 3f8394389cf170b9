package store

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// APIKeyOf returns the seller's API key without creating one: ok is false when the user is not a seller
// or has never asked for a key. The conversions API checks request signatures with it, and an unknown
// caller must not make the store write.
func (s *Store) APIKeyOf(ctx context.Context, sellerID int64) (key string, ok bool, err error) {
	key, err = get(s, ctx, "api key of", func(tx *bolt.Tx) (string, error) {
		rec, err := getSeller(tx, sellerID)
		if errors.Is(err, affiliate.ErrSellerNotFound) {
			return "", nil
		}
		return rec.APIKey, err
	})
	return key, key != "", err
}

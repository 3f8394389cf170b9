package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// APIKeyPrefix starts every seller API key; 32 characters of affiliate.Alphabet follow.
const APIKeyPrefix = "ksk_"

// apiKeyRandLen is the number of random characters after the prefix.
const apiKeyRandLen = 32

// sellerRecord is what the store keeps per seller beyond the user record. The API key is kept as is,
// because it is also the HMAC key of the conversions API.
type sellerRecord struct {
	APIKey string `json:"api_key,omitempty"`
}

// ValidAPIKeyFormat reports whether key looks like a seller API key, without touching the store.
func ValidAPIKeyFormat(key string) bool {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok || len(rest) != apiKeyRandLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(affiliate.Alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// APIKeyHash is the index key of an API key: its SHA-256 (the key itself is stored only in the
// seller's record).
func APIKeyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// APIKey returns the seller's API key, creating one on first use. ErrSellerNotFound when the user is
// not a seller.
func (s *Store) APIKey(ctx context.Context, sellerID int64) (string, error) {
	return s.apiKey(ctx, "api key", sellerID, false)
}

// RotateAPIKey replaces the seller's API key; the old one stops working at once.
func (s *Store) RotateAPIKey(ctx context.Context, sellerID int64) (string, error) {
	return s.apiKey(ctx, "rotate api key", sellerID, true)
}

// apiKey returns the seller's API key, making a new one when there is none or when rotate is set.
func (s *Store) apiKey(ctx context.Context, what string, sellerID int64, rotate bool) (string, error) {
	var key string
	err := s.update(ctx, func(tx *bolt.Tx) error {
		rec, err := getSeller(tx, sellerID)
		if err != nil {
			return err
		}
		if rec.APIKey != "" && !rotate {
			key = rec.APIKey
			return nil
		}
		key, err = s.setAPIKey(tx, sellerID, rec)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return key, nil
}

func (s *Store) setAPIKey(tx *bolt.Tx, sellerID int64, rec sellerRecord) (string, error) {
	idx := tx.Bucket(bAPIKeys)
	if rec.APIKey != "" {
		if err := idx.Delete(APIKeyHash(rec.APIKey)); err != nil {
			return "", err
		}
	}
	r, err := s.randomString(apiKeyRandLen)
	if err != nil {
		return "", err
	}
	rec.APIKey = APIKeyPrefix + r
	if err := idx.Put(APIKeyHash(rec.APIKey), idKey(sellerID)); err != nil {
		return "", err
	}
	return rec.APIKey, putJSON(tx.Bucket(bSellers), idKey(sellerID), rec)
}

// SellerByAPIKey finds the seller owning key (constant-time comparison) or returns ErrSellerNotFound.
func (s *Store) SellerByAPIKey(ctx context.Context, key string) (int64, error) {
	if !ValidAPIKeyFormat(key) {
		return 0, affiliate.ErrSellerNotFound
	}
	return get(s, ctx, "seller by api key", func(tx *bolt.Tx) (int64, error) {
		v := tx.Bucket(bAPIKeys).Get(APIKeyHash(key))
		if len(v) != 8 {
			return 0, affiliate.ErrSellerNotFound
		}
		sellerID := int64(binary.BigEndian.Uint64(v))
		rec, err := getSeller(tx, sellerID)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(rec.APIKey), []byte(key)) != 1 {
			return 0, affiliate.ErrSellerNotFound
		}
		return sellerID, nil
	})
}

func getSeller(tx *bolt.Tx, sellerID int64) (sellerRecord, error) {
	var rec sellerRecord
	found, err := getJSON(tx.Bucket(bSellers), idKey(sellerID), &rec)
	if err != nil {
		return rec, err
	}
	if !found {
		return rec, affiliate.ErrSellerNotFound
	}
	return rec, nil
}

// deleteSeller removes a seller's record and API key index entry, if any.
func deleteSeller(tx *bolt.Tx, sellerID int64) error {
	rec, err := getSeller(tx, sellerID)
	if err == affiliate.ErrSellerNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.APIKey != "" {
		if err := tx.Bucket(bAPIKeys).Delete(APIKeyHash(rec.APIKey)); err != nil {
			return err
		}
	}
	return tx.Bucket(bSellers).Delete(idKey(sellerID))
}

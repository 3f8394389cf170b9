package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// RegisterUser creates the user when missing (taking u as given, CreatedAt/UpdatedAt set) and otherwise
// refreshes only the chat id and names (language, zone and settings are kept). Returns the stored user
// and whether it was created.
func (s *Store) RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error) {
	if u.ID <= 0 {
		return affiliate.User{}, false, affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	var (
		out     affiliate.User
		created bool
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		now := s.now().UTC()
		found, err := getJSON(tx.Bucket(bUsers), idKey(u.ID), &out)
		if err != nil {
			return err
		}
		if !found {
			out = u
			out.CreatedAt, out.UpdatedAt = now, now
			created = true
		} else {
			out.ChatID = u.ChatID
			out.FirstName, out.LastName, out.Username = u.FirstName, u.LastName, u.Username
			out.UpdatedAt = now
		}
		return writeUser(tx, out)
	})
	if err != nil {
		return affiliate.User{}, false, fmt.Errorf("register user: %w", err)
	}
	return out, created, nil
}

// GetUser returns a user or affiliate.ErrUserNotFound.
func (s *Store) GetUser(ctx context.Context, id int64) (affiliate.User, error) {
	return get(s, ctx, "get user", func(tx *bolt.Tx) (affiliate.User, error) { return getUser(tx, id) })
}

// UpdateUser reads, changes with fn and writes a user in one transaction; an error from fn aborts.
// The id and creation time cannot be changed by fn.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error) {
	var u affiliate.User
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if u, err = getUser(tx, id); err != nil {
			return err
		}
		created := u.CreatedAt
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.CreatedAt, u.UpdatedAt = id, created, s.now().UTC()
		return writeUser(tx, u)
	})
	if err != nil {
		return affiliate.User{}, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// ListUsers returns up to limit users whose id is greater than after (0 starts at the first), in id
// order: a keyset page, so a caller walks every user with short reads and may write between pages.
func (s *Store) ListUsers(ctx context.Context, after int64, limit int) ([]affiliate.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	return get(s, ctx, "list users", func(tx *bolt.Tx) ([]affiliate.User, error) {
		var out []affiliate.User
		c := tx.Bucket(bUsers).Cursor()
		for k, v := c.Seek(idKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var u affiliate.User
			if err := json.Unmarshal(v, &u); err != nil {
				return nil, fmt.Errorf("decode user %x: %w", k, err)
			}
			out = append(out, u)
		}
		return out, nil
	})
}

// DeleteUserData erases a user's personal data: the user record, flow, application and feedback texts,
// and a seller's API key. Links, clicks and aggregates stay (sellers' books) but are no longer tied to a
// name. Deleting a user that is not there is not an error.
func (s *Store) DeleteUserData(ctx context.Context, id int64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k := idKey(id)
		if err := deleteSeller(tx, id); err != nil {
			return err
		}
		// Queued messages carry the user's name or figures in their text: they go with the data.
		if _, err := dropQueued(tx, id, "user erased their data", s.now().UTC()); err != nil {
			return err
		}
		var app affiliate.Application
		found, err := getJSON(tx.Bucket(bApps), k, &app)
		if err != nil {
			return err
		}
		if found {
			if err := tx.Bucket(bAppsPending).Delete(pendingKey(app)); err != nil {
				return err
			}
			if err := tx.Bucket(bApps).Delete(k); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bFlows).Delete(k); err != nil {
			return err
		}
		if err := deleteUserFeedback(tx, id); err != nil {
			return err
		}
		if err := unindexDigest(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bUsers).Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete user data: %w", err)
	}
	return nil
}

func getUser(tx *bolt.Tx, id int64) (affiliate.User, error) {
	var u affiliate.User
	found, err := getJSON(tx.Bucket(bUsers), idKey(id), &u)
	if err != nil {
		return u, err
	}
	if !found {
		return u, affiliate.ErrUserNotFound
	}
	return u, nil
}

// writeUser stores u and keeps the sellers bucket in step with u.Seller (a seller has a record there,
// which holds the API key; anyone else has none) and the digest schedule with u's digest minute and zone.
func writeUser(tx *bolt.Tx, u affiliate.User) error {
	if err := indexDigest(tx, u); err != nil {
		return err
	}
	if err := putJSON(tx.Bucket(bUsers), idKey(u.ID), u); err != nil {
		return err
	}
	sellers := tx.Bucket(bSellers)
	has := sellers.Get(idKey(u.ID)) != nil
	switch {
	case u.Seller && !has:
		return putJSON(sellers, idKey(u.ID), sellerRecord{})
	case !u.Seller && has:
		return deleteSeller(tx, u.ID)
	}
	return nil
}

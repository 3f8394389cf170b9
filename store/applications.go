package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
)

// pendingKey is the apps_pending key of an application: creation time, then user id.
func pendingKey(a affiliate.Application) []byte {
	return key2(uint64(a.CreatedAt.UnixNano()), uint64(a.UserID))
}

// ApplySeller records a pending application. Conflict reasons: "already_seller", "application_pending".
// A rejected applicant may apply again; the new application replaces the old one.
func (s *Store) ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error) {
	name, err := affiliate.ValidateShopName(shopName)
	if err != nil {
		return affiliate.Application{}, err
	}
	var app affiliate.Application
	err = s.update(ctx, func(tx *bolt.Tx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		var old affiliate.Application
		found, err := getJSON(tx.Bucket(bApps), idKey(userID), &old)
		if err != nil {
			return err
		}
		if err := affiliate.CheckApplication(u, old, found); err != nil {
			return err
		}
		app = affiliate.Application{UserID: userID, ShopName: name, Status: affiliate.AppPending, CreatedAt: s.now().UTC()}
		if err := tx.Bucket(bAppsPending).Put(pendingKey(app), nil); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bApps), idKey(userID), app)
	})
	if err != nil {
		return affiliate.Application{}, fmt.Errorf("apply seller: %w", err)
	}
	return app, nil
}

// DecideApplication approves or rejects a pending application and, on approval, makes the user a seller
// with the shop name, in one transaction. Conflict reason "application_decided" when not pending.
func (s *Store) DecideApplication(ctx context.Context, userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error) {
	var (
		app affiliate.Application
		u   affiliate.User
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bApps), idKey(userID), &app)
		if err != nil {
			return err
		}
		if !found {
			return affiliate.ErrAppNotFound
		}
		if err := affiliate.CheckDecision(app); err != nil {
			return err
		}
		if u, err = getUser(tx, userID); err != nil {
			return err
		}
		now := s.now().UTC()
		if err := tx.Bucket(bAppsPending).Delete(pendingKey(app)); err != nil {
			return err
		}
		app.DecidedAt, app.DecidedBy = now, adminID
		app.Status = affiliate.AppRejected
		if approve {
			app.Status = affiliate.AppApproved
			u.Seller, u.ShopName, u.UpdatedAt = true, app.ShopName, now
			if err := writeUser(tx, u); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bApps), idKey(userID), app)
	})
	if err != nil {
		return affiliate.Application{}, affiliate.User{}, fmt.Errorf("decide application: %w", err)
	}
	return app, u, nil
}

// GetApplication returns a user's application or affiliate.ErrAppNotFound.
func (s *Store) GetApplication(ctx context.Context, userID int64) (affiliate.Application, error) {
	return get(s, ctx, "get application", func(tx *bolt.Tx) (affiliate.Application, error) {
		var app affiliate.Application
		found, err := getJSON(tx.Bucket(bApps), idKey(userID), &app)
		if err == nil && !found {
			err = affiliate.ErrAppNotFound
		}
		return app, err
	})
}

// PendingApplications lists pending applications, oldest first.
func (s *Store) PendingApplications(ctx context.Context) ([]affiliate.Application, error) {
	return get(s, ctx, "pending applications", func(tx *bolt.Tx) ([]affiliate.Application, error) {
		var apps []affiliate.Application
		all := tx.Bucket(bApps)
		c := tx.Bucket(bAppsPending).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			var app affiliate.Application
			found, err := getJSON(all, k[8:16], &app)
			if err != nil {
				return nil, err
			}
			if found && app.Status == affiliate.AppPending {
				apps = append(apps, app)
			}
		}
		return apps, nil
	})
}

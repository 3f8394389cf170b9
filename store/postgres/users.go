package postgres

import (
	"context"
	"github.com/keranjang/keranjang/affiliate"
)

// RegisterUser: see store.Store.RegisterUser.
func (s *Store) RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error) {
	return affiliate.User{}, false, errNotImplemented
}

// GetUser: see store.Store.GetUser.
func (s *Store) GetUser(ctx context.Context, id int64) (affiliate.User, error) {
	return affiliate.User{}, errNotImplemented
}

// UpdateUser: see store.Store.UpdateUser.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error) {
	return affiliate.User{}, errNotImplemented
}

// ListUsers: see store.Store.ListUsers.
func (s *Store) ListUsers(ctx context.Context, after int64, limit int) ([]affiliate.User, error) {
	return nil, errNotImplemented
}

// DeleteUserData: see store.Store.DeleteUserData.
func (s *Store) DeleteUserData(ctx context.Context, id int64) error {
	return errNotImplemented
}

// ApplySeller: see store.Store.ApplySeller.
func (s *Store) ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error) {
	return affiliate.Application{}, errNotImplemented
}

// DecideApplication: see store.Store.DecideApplication.
func (s *Store) DecideApplication(ctx context.Context, userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error) {
	return affiliate.Application{}, affiliate.User{}, errNotImplemented
}

// GetApplication: see store.Store.GetApplication.
func (s *Store) GetApplication(ctx context.Context, userID int64) (affiliate.Application, error) {
	return affiliate.Application{}, errNotImplemented
}

// PendingApplications: see store.Store.PendingApplications.
func (s *Store) PendingApplications(ctx context.Context) ([]affiliate.Application, error) {
	return nil, errNotImplemented
}

// GetFlow: see store.Store.GetFlow.
func (s *Store) GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error) {
	return affiliate.Flow{}, false, errNotImplemented
}

// SaveFlow: see store.Store.SaveFlow.
func (s *Store) SaveFlow(ctx context.Context, f affiliate.Flow) error {
	return errNotImplemented
}

// DeleteFlow: see store.Store.DeleteFlow.
func (s *Store) DeleteFlow(ctx context.Context, userID int64) error {
	return errNotImplemented
}

// APIKey: see store.Store.APIKey.
func (s *Store) APIKey(ctx context.Context, sellerID int64) (string, error) {
	return "", errNotImplemented
}

// RotateAPIKey: see store.Store.RotateAPIKey.
func (s *Store) RotateAPIKey(ctx context.Context, sellerID int64) (string, error) {
	return "", errNotImplemented
}

// SellerByAPIKey: see store.Store.SellerByAPIKey.
func (s *Store) SellerByAPIKey(ctx context.Context, key string) (int64, error) {
	return 0, errNotImplemented
}

// APIKeyOf: see store.Store.APIKeyOf.
func (s *Store) APIKeyOf(ctx context.Context, sellerID int64) (string, bool, error) {
	return "", false, errNotImplemented
}

// AddFeedback: see store.Store.AddFeedback.
func (s *Store) AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error) {
	return affiliate.Feedback{}, errNotImplemented
}

// SellerFeedback: see store.Store.SellerFeedback.
func (s *Store) SellerFeedback(ctx context.Context, sellerID int64, limit int) ([]affiliate.Feedback, error) {
	return nil, errNotImplemented
}

// Stats: see store.Store.Stats.
func (s *Store) Stats(ctx context.Context) (affiliate.Stats, error) {
	return affiliate.Stats{}, errNotImplemented
}

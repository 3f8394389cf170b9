// Package contract is the store contract as a Go interface: what the rest of the program calls on its
// database. The bbolt backend (store.Store) and the PostgreSQL backend (postgres.Store) implement it; the
// rules each method must keep are written in package store's documentation and checked by store/storetest.
package contract

import (
	"context"
	"io"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Store is the whole store contract: every method the program calls on its store. The comments on
// the bbolt implementation (store.Store) and package store's documentation say what each must do.
type Store interface {
	// Close releases the backend; it must not wait for a Backup that is copying to a slow writer.
	Close() error
	Ping(ctx context.Context) error
	Backup(ctx context.Context, w io.Writer) (int64, error)
	SchemaVersion(ctx context.Context) (int, error)
	VisitorSalt() []byte

	RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error)
	GetUser(ctx context.Context, id int64) (affiliate.User, error)
	UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error)
	ListUsers(ctx context.Context, after int64, limit int) ([]affiliate.User, error)
	DeleteUserData(ctx context.Context, id int64) error

	ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error)
	DecideApplication(ctx context.Context, userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error)
	GetApplication(ctx context.Context, userID int64) (affiliate.Application, error)
	PendingApplications(ctx context.Context) ([]affiliate.Application, error)

	GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error)
	SaveFlow(ctx context.Context, f affiliate.Flow) error
	DeleteFlow(ctx context.Context, userID int64) error

	APIKey(ctx context.Context, sellerID int64) (string, error)
	RotateAPIKey(ctx context.Context, sellerID int64) (string, error)
	SellerByAPIKey(ctx context.Context, key string) (int64, error)
	APIKeyOf(ctx context.Context, sellerID int64) (string, bool, error)

	CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error)
	SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error)
	SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error)

	JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error)
	GetLink(ctx context.Context, code string) (affiliate.Link, error)
	UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error)
	ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error)
	AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error)
	ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error)
	Target(ctx context.Context, code string) (affiliate.Target, error)

	RecordClicks(ctx context.Context, clicks []affiliate.Click) ([]affiliate.Click, error)
	GetClick(ctx context.Context, id string) (affiliate.Click, error)
	PruneVisitors(ctx context.Context, before time.Time) (int, error)
	PruneClicks(ctx context.Context, before time.Time) (int, error)
	AddOrphans(ctx context.Context, n int64) error

	LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
	AffiliateCounts(ctx context.Context, affiliateID int64, from, to time.Time) (affiliate.Counts, error)
	AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error)
	AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error)
	ProductCounts(ctx context.Context, productID uint64, from, to time.Time) (affiliate.Counts, error)
	SellerCounts(ctx context.Context, sellerID int64, from, to time.Time) (affiliate.Counts, error)

	RecordOrder(ctx context.Context, r affiliate.OrderReport) (affiliate.Order, bool, error)
	ImportOrders(ctx context.Context, sellerID int64, reports []affiliate.OrderReport) ([]affiliate.OrderResult, error)
	GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error)
	SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error)

	AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error)
	SellerFeedback(ctx context.Context, sellerID int64, limit int) ([]affiliate.Feedback, error)

	Stats(ctx context.Context) (affiliate.Stats, error)

	Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (int, error)
	DueMessages(ctx context.Context, now time.Time, limit int) ([]affiliate.OutboxMessage, error)
	NextDue(ctx context.Context) (time.Time, bool, error)
	GetOutboxMessage(ctx context.Context, id uint64) (affiliate.OutboxMessage, error)
	MarkSent(ctx context.Context, id uint64, at time.Time) error
	MarkRetry(ctx context.Context, id uint64, attempts int, next time.Time, lastErr string) error
	MarkFailed(ctx context.Context, id uint64, lastErr string) error
	SetReachable(ctx context.Context, userID int64, reachable bool) (int, error)
	MigrateChat(ctx context.Context, oldID, newID int64) error
	OutboxStats(ctx context.Context) (affiliate.OutboxStats, error)
	AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error)
	AddAlertSkipped(ctx context.Context, id uint64, n int) error
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
	DigestZones(ctx context.Context) ([]string, error)
	DigestDue(ctx context.Context, zone string, fromMinute, toMinute int, skipDate string, after affiliate.DigestEntry, limit int) ([]affiliate.DigestEntry, error)
	MarkDigests(ctx context.Context, zone string, entries []affiliate.DigestEntry, date string) error
	AffiliateDigest(ctx context.Context, affiliateID int64, from, to, monthFrom time.Time) (affiliate.DigestCounts, error)

	CreateAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error)
	GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error)
	AlertProgress(ctx context.Context, id uint64) (affiliate.AlertProgress, error)
	PendingAlerts(ctx context.Context) ([]affiliate.Alert, error)
	AdvanceFanout(ctx context.Context, id uint64, from, to int64, skipped int) (bool, error)
	MarkFannedOut(ctx context.Context, id uint64) error
	FeedItems(ctx context.Context, feedURL string) (map[string]bool, bool, error)
	RecordFeedItems(ctx context.Context, feedURL string, items []affiliate.FeedItem) ([]affiliate.Alert, error)
	LastBroadcast(ctx context.Context, sellerID int64) (time.Time, error)
	BeginBroadcast(ctx context.Context, sellerID int64, at time.Time) (uint64, error)
}

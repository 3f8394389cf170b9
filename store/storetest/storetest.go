// Package storetest is the conformance suite of Keranjang's store contract (see package store): every
// backend runs the same tests through Run, so a second database is a new caller of Run, not a new
// suite. It also offers the small helpers the suite is written with, for a backend's own tests.
package storetest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/clocktest"
)

// Backend is the whole store contract: every method the program calls on its store. The comments on
// the bbolt implementation (store.Store) and the package documentation of store say what each must do.
type Backend interface {
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

// Open opens a new, empty store for one test, whose clock is now, and closes it when the test ends
// (t.Cleanup). reopen closes the store it returned last and opens the same data again, as a restart
// does, and returns the new store; it too is closed when the test ends.
type Open func(t *testing.T, now func() time.Time) (s Backend, reopen func(t *testing.T) Backend)

// Run runs the whole conformance suite, each test on stores of its own from open.
func Run(t *testing.T, open Open) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// suite lists every conformance test.
var suite = []struct {
	name string
	run  func(t *testing.T, open Open)
}{
	{"RegisterUser", testRegisterUser},
	{"GetUpdateListUsers", testGetUpdateListUsers},
	{"Applications", testApplications},
	{"Flows", testFlows},
	{"APIKeys", testAPIKeys},
	{"APIKeyOf", testAPIKeyOf},
	{"Feedback", testFeedback},
	{"DeleteUserDataKeepsAggregates", testDeleteUserDataKeepsAggregates},
	{"CreateProductValidation", testCreateProductValidation},
	{"SearchProducts", testSearchProducts},
	{"SellerProductsAndOwnership", testSellerProductsAndOwnership},
	{"RateChanges", testRateChanges},
	{"JoinProduct", testJoinProduct},
	{"LinkListsAndUpdate", testLinkListsAndUpdate},
	{"ConcurrentJoinSamePair", testConcurrentJoinSamePair},
	{"Target", testTarget},
	{"TargetConcurrentEdits", testTargetConcurrentEdits},
	{"UniqueClicks", testUniqueClicks},
	{"RecordClicksBatch", testRecordClicksBatch},
	{"RecordClicksAnyOrder", testRecordClicksAnyOrder},
	{"HourlyAggregation", testHourlyAggregation},
	{"AffiliateReport", testAffiliateReport},
	{"PruneVisitors", testPruneVisitors},
	{"RecordClicksMatchesModel", testRecordClicksMatchesModel},
	{"PruneClicksKeepsAggregates", testPruneClicksKeepsAggregates},
	{"PruneClicksAcrossBatches", testPruneClicksAcrossBatches},
	{"ClicksAcrossBatches", testClicksAcrossBatches},
	{"ClicksOneMillisecond", testClicksOneMillisecond},
	{"SaltStableAcrossReopen", testSaltStableAcrossReopen},
	{"PingAfterClose", testPingAfterClose},
	{"PersistenceAcrossReopen", testPersistenceAcrossReopen},
	{"Stats", testStats},
	{"RecordOrderLifecycle", testRecordOrderLifecycle},
	{"OrderAttribution", testOrderAttribution},
	{"OrderRateAtOrderTime", testOrderRateAtOrderTime},
	{"ImportOrders", testImportOrders},
	{"SellerOrdersPaging", testSellerOrdersPaging},
	{"AffiliateHours", testAffiliateHours},
	{"ProductAndSellerCounts", testProductAndSellerCounts},
	{"ConcurrentOrders", testConcurrentOrders},
	{"OutboxEnqueueOnce", testOutboxEnqueueOnce},
	{"OutboxLifecycle", testOutboxLifecycle},
	{"OutboxReachable", testOutboxReachable},
	{"OutboxErasure", testOutboxErasure},
	{"OutboxMigrateChat", testOutboxMigrateChat},
	{"OutboxAlertCounts", testOutboxAlertCounts},
	{"OutboxPrune", testOutboxPrune},
	{"OutboxAcrossReopen", testOutboxAcrossReopen},
	{"DigestSchedule", testDigestSchedule},
	{"AffiliateDigest", testAffiliateDigest},
	{"Alerts", testAlerts},
	{"FeedItems", testFeedItems},
	{"Broadcasts", testBroadcasts},
	{"Cancelled", testCancelled},
	{"BackupDoesNotBlockWriters", testBackupDoesNotBlockWriters},
}

// Clock is the settable clock the suite runs on.
type Clock = clocktest.Clock

// NewClock returns a clock standing at 2024-03-10 05:00 UTC.
func NewClock() *Clock { return clocktest.New(time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)) }

// User registers an affiliate with the defaults a new Telegram user gets.
func User(t testing.TB, s Backend, id int64, name string) affiliate.User {
	t.Helper()
	u, _, err := s.RegisterUser(t.Context(), affiliate.User{ID: id, ChatID: id, FirstName: name, Lang: affiliate.LangID, TimeZone: "Asia/Jakarta", DigestMinute: affiliate.DefaultDigestMinute, AlertsOn: true, Reachable: true})
	if err != nil {
		t.Fatalf("register %d: %v", id, err)
	}
	return u
}

// Seller registers a user whose seller application is approved.
func Seller(t testing.TB, s Backend, id int64, shop string) affiliate.User {
	t.Helper()
	User(t, s, id, "Seller "+shop)
	if _, err := s.ApplySeller(t.Context(), id, shop); err != nil {
		t.Fatalf("apply: %v", err)
	}
	_, u, err := s.DecideApplication(t.Context(), id, true, 1)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return u
}

// Product creates an active product of the seller.
func Product(t testing.TB, s Backend, sellerID int64, name string, rate affiliate.BasisPoints) affiliate.Product {
	t.Helper()
	p, err := s.CreateProduct(t.Context(), affiliate.Product{SellerID: sellerID, Name: name, Price: 150000, Rate: rate, URL: "https://shop.example.com/p/" + name})
	if err != nil {
		t.Fatalf("create product: %v", err)
	}
	return p
}

// Join enrols an affiliate in a product and returns the link.
func Join(t testing.TB, s Backend, affID int64, productID uint64) affiliate.Link {
	t.Helper()
	l, _, err := s.JoinProduct(t.Context(), affID, productID)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return l
}

// Click is a human click on l.
func Click(l affiliate.Link, id string, at time.Time, visitor uint64) affiliate.Click {
	return affiliate.Click{ID: id, Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: visitor}
}

// Record records one batch of clicks and returns them as stored.
func Record(t testing.TB, s Backend, clicks ...affiliate.Click) []affiliate.Click {
	t.Helper()
	out, err := s.RecordClicks(t.Context(), clicks)
	if err != nil {
		t.Fatalf("record clicks: %v", err)
	}
	return out
}

// fixture is one test's store and clock.
type fixture struct {
	s      Backend
	clock  *Clock
	reopen func(t *testing.T) Backend
}

func newFixture(t *testing.T, open Open) *fixture {
	t.Helper()
	f := &fixture{clock: NewClock()}
	f.s, f.reopen = open(t, f.clock.Now)
	return f
}

func (f *fixture) restart(t *testing.T) { f.s = f.reopen(t) }

func (f *fixture) user(t testing.TB, id int64, name string) affiliate.User {
	return User(t, f.s, id, name)
}

func (f *fixture) seller(t testing.TB, id int64, shop string) affiliate.User {
	return Seller(t, f.s, id, shop)
}

func (f *fixture) product(t testing.TB, sellerID int64, name string, rate affiliate.BasisPoints) affiliate.Product {
	return Product(t, f.s, sellerID, name, rate)
}

func (f *fixture) join(t testing.TB, affID int64, productID uint64) affiliate.Link {
	return Join(t, f.s, affID, productID)
}

func (f *fixture) record(t testing.TB, clicks ...affiliate.Click) []affiliate.Click {
	return Record(t, f.s, clicks...)
}

func click(l affiliate.Link, id string, at time.Time, visitor uint64) affiliate.Click {
	return Click(l, id, at, visitor)
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	if got := affiliate.ErrorReason(err); got != reason {
		t.Fatalf("error %v: reason %q, want %q", err, got, reason)
	}
}

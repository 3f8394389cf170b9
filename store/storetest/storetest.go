// Package storetest is the conformance suite of Keranjang's store contract (see package store): every
// backend runs the same tests through Run, so a second database is a new caller of Run, not a new
// suite. It also offers the small helpers the suite is written with, for a backend's own tests.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/clocktest"
	"github.com/keranjang/keranjang/store/contract"
)

// Backend is the whole store contract.
type Backend = contract.Store

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

package store

// This file is the store's contract, written first so that the other packages compile against it while
// it is being built. Every method here must be implemented (in users.go, products.go, clicks.go …) and
// this file deleted; signatures may gain methods but must not change without updating the callers.

import (
	"io"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

var errTODO = affiliate.Errorf(affiliate.EInternal, "not_implemented")

// Options configure Open. Zero values get defaults.
type Options struct {
	// Timeout bounds the wait for the file lock (default 1s): a second process gets an error, not a hang.
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of randomness for link codes and API keys (default crypto/rand.Reader).
	Rand io.Reader
}

// Store is the bbolt-backed database. Safe for concurrent use.
type Store struct{}

// Open opens (creating if needed) the database at path, creates all buckets and runs migrations.
func Open(path string, opts Options) (*Store, error) { return nil, errTODO }

// Close closes the database.
func (s *Store) Close() error { return errTODO }

// Ping reports whether the database is open (for /readyz).
func (s *Store) Ping() error { return errTODO }

// Backup writes a consistent copy of the database to w (bbolt hot backup) and returns its size.
func (s *Store) Backup(w io.Writer) (int64, error) { return 0, errTODO }

// SchemaVersion returns the schema version stored in the meta bucket.
func (s *Store) SchemaVersion() (int, error) { return 0, errTODO }

// VisitorSalt returns the database's random salt for hashing visitors (created once, at first open).
func (s *Store) VisitorSalt() []byte { return nil }

// ---- users ----

// RegisterUser creates the user when missing (taking u as given, CreatedAt/UpdatedAt set) and otherwise
// refreshes only the chat id and names (language, zone and settings are kept). Returns the stored user
// and whether it was created.
func (s *Store) RegisterUser(u affiliate.User) (affiliate.User, bool, error) {
	return affiliate.User{}, false, errTODO
}

// GetUser returns a user or affiliate.ErrUserNotFound.
func (s *Store) GetUser(id int64) (affiliate.User, error) { return affiliate.User{}, errTODO }

// UpdateUser reads, changes with fn and writes a user in one transaction; an error from fn aborts.
func (s *Store) UpdateUser(id int64, fn func(*affiliate.User) error) (affiliate.User, error) {
	return affiliate.User{}, errTODO
}

// ForEachUser calls fn for every user in id order until fn returns false.
func (s *Store) ForEachUser(fn func(affiliate.User) bool) error { return errTODO }

// DeleteUserData erases a user's personal data: the user record, flow, application and feedback texts.
// Links, clicks and aggregates stay (sellers' books) but are no longer tied to a name.
func (s *Store) DeleteUserData(id int64) error { return errTODO }

// ---- seller applications ----

// ApplySeller records a pending application. Conflict reasons: "already_seller", "application_pending".
func (s *Store) ApplySeller(userID int64, shopName string) (affiliate.Application, error) {
	return affiliate.Application{}, errTODO
}

// DecideApplication approves or rejects a pending application and, on approval, makes the user a seller
// with the shop name, in one transaction. Conflict reason "application_decided" when not pending.
func (s *Store) DecideApplication(userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error) {
	return affiliate.Application{}, affiliate.User{}, errTODO
}

// GetApplication returns a user's application or affiliate.ErrAppNotFound.
func (s *Store) GetApplication(userID int64) (affiliate.Application, error) {
	return affiliate.Application{}, errTODO
}

// PendingApplications lists pending applications, oldest first.
func (s *Store) PendingApplications() ([]affiliate.Application, error) { return nil, errTODO }

// ---- flows ----

// GetFlow returns the user's current multi-step flow, if any.
func (s *Store) GetFlow(userID int64) (affiliate.Flow, bool, error) {
	return affiliate.Flow{}, false, errTODO
}

// SaveFlow stores (replaces) the user's flow; UpdatedAt is set.
func (s *Store) SaveFlow(f affiliate.Flow) error { return errTODO }

// DeleteFlow ends the user's flow; no error when there is none.
func (s *Store) DeleteFlow(userID int64) error { return errTODO }

// ---- products ----

// CreateProduct assigns the next product id, sets timestamps and status active, and stores p.
func (s *Store) CreateProduct(p affiliate.Product) (affiliate.Product, error) {
	return affiliate.Product{}, errTODO
}

// GetProduct returns a product or affiliate.ErrProductNotFound.
func (s *Store) GetProduct(id uint64) (affiliate.Product, error) { return affiliate.Product{}, errTODO }

// UpdateProduct changes a seller's own product with fn in one transaction (ErrProductNotFound when it is
// not theirs). When the rate changes, every link of the product goes through affiliate.ApplyRateChange
// in the same transaction; the links whose affiliates must be told are returned.
func (s *Store) UpdateProduct(id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error) {
	return affiliate.Product{}, nil, errTODO
}

// SearchProducts lists active products whose name or description contains every word (case-insensitive),
// best commission first, then newest; offset/limit page through them; total is the number of matches.
func (s *Store) SearchProducts(words []string, offset, limit int) ([]affiliate.Product, int, error) {
	return nil, 0, errTODO
}

// SellerProducts lists a seller's products, newest first.
func (s *Store) SellerProducts(sellerID int64) ([]affiliate.Product, error) { return nil, errTODO }

// ---- links ----

// JoinProduct enrols an affiliate: returns the existing link (created=false) or a new one with a fresh
// unique code. ErrProductNotFound, ErrProductPaused.
func (s *Store) JoinProduct(affiliateID int64, productID uint64) (affiliate.Link, bool, error) {
	return affiliate.Link{}, false, errTODO
}

// GetLink returns a link by code or affiliate.ErrLinkNotFound.
func (s *Store) GetLink(code string) (affiliate.Link, error) { return affiliate.Link{}, errTODO }

// AffiliateLinks lists an affiliate's links, oldest first.
func (s *Store) AffiliateLinks(affiliateID int64) ([]affiliate.Link, error) { return nil, errTODO }

// ProductLinks lists a product's links, oldest first.
func (s *Store) ProductLinks(productID uint64) ([]affiliate.Link, error) { return nil, errTODO }

// Target resolves a link code for the redirect hot path (served from an in-memory cache that product
// edits invalidate). ErrLinkNotFound for unknown codes.
func (s *Store) Target(code string) (affiliate.Target, error) { return affiliate.Target{}, errTODO }

// ---- clicks ----

// RecordClicks writes a batch of clicks in one transaction: decides Unique per (code, visitor) over
// affiliate.UniqueWindow, appends to the click log and adds to the hourly aggregates per link and per
// affiliate and to the running totals. Bot visits are counted apart. Returns the clicks as stored.
func (s *Store) RecordClicks(clicks []affiliate.Click) ([]affiliate.Click, error) {
	return nil, errTODO
}

// AddOrphans counts visits to unknown codes.
func (s *Store) AddOrphans(n int64) error { return errTODO }

// LinkCounts returns a link's counts for clicks at or after from and before to (hour granularity);
// zero times mean all time.
func (s *Store) LinkCounts(code string, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errTODO
}

// AffiliateCounts returns an affiliate's counts over all their links in [from, to).
func (s *Store) AffiliateCounts(affiliateID int64, from, to time.Time) (affiliate.Counts, error) {
	return affiliate.Counts{}, errTODO
}

// AffiliateReport lists per affiliate and product the seller's link activity in [from, to), best first
// (clicks, then unique clicks); productID 0 means all of the seller's products.
func (s *Store) AffiliateReport(sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error) {
	return nil, errTODO
}

// ---- seller API keys ----

// APIKey returns the seller's API key, creating one on first use.
func (s *Store) APIKey(sellerID int64) (string, error) { return "", errTODO }

// RotateAPIKey replaces the seller's API key.
func (s *Store) RotateAPIKey(sellerID int64) (string, error) { return "", errTODO }

// SellerByAPIKey finds the seller owning key (constant-time comparison) or returns ErrSellerNotFound.
func (s *Store) SellerByAPIKey(key string) (int64, error) { return 0, errTODO }

// ---- feedback ----

// AddFeedback stores an affiliate's comment to a product's seller.
func (s *Store) AddFeedback(f affiliate.Feedback) (affiliate.Feedback, error) {
	return affiliate.Feedback{}, errTODO
}

// SellerFeedback lists the newest feedback for a seller's products, newest first, at most limit.
func (s *Store) SellerFeedback(sellerID int64, limit int) ([]affiliate.Feedback, error) {
	return nil, errTODO
}

// ---- admin ----

// Stats counts users, sellers, products, links, clicks and so on.
func (s *Store) Stats() (affiliate.Stats, error) { return affiliate.Stats{}, errTODO }

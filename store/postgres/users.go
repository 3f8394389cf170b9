package postgres

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// apiKeyRandLen is the number of random characters after store.APIKeyPrefix in a seller API key.
const apiKeyRandLen = 32

// statement runs fn, the single statement of a method, under ctx bounded by Options.Timeout. A context
// that is already done fails before anything is sent. what names the method in the error.
func (s *Store) statement(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := fn(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// inTx runs fn in one transaction (see tx), giving it ctx bounded by Options.Timeout for its statements.
func (s *Store) inTx(ctx context.Context, what string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.tx(ctx, what, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// encodeDoc is the doc column of a record: the same JSON as the bbolt backend's value.
func encodeDoc(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return data, nil
}

// decodeDoc decodes a doc column read as bytes into v.
func decodeDoc(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

// notFound turns pgx.ErrNoRows into err and leaves any other error as it is.
func notFound(err, missing error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return missing
	}
	return err
}

// digestColumn is the users.digest_minute of u: its digest minute, or -1 when the digest is off (as the
// bbolt backend's schedule has no entry for a minute outside the day).
func digestColumn(u affiliate.User) int {
	if u.DigestMinute < 0 || u.DigestMinute >= affiliate.MinutesPerDay {
		return -1
	}
	return u.DigestMinute
}

const (
	sqlGetUser       = `SELECT doc FROM users WHERE id = $1`
	sqlGetUserLocked = `SELECT doc FROM users WHERE id = $1 FOR UPDATE`
	sqlGetUserShared = `SELECT doc FROM users WHERE id = $1 FOR SHARE`
	sqlInsertUser    = `INSERT INTO users (id, doc, seller, reachable, time_zone, digest_minute)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`
	// The digest schedule forgets the handled date when the digest goes off, as the bbolt backend's
	// schedule drops the user's entry; digest_handled is otherwise the schedule's own.
	sqlUpdateUser = `UPDATE users SET doc = $2, seller = $3, reachable = $4, time_zone = $5, digest_minute = $6,
		digest_handled = CASE WHEN $6 < 0 THEN '' ELSE digest_handled END
		WHERE id = $1`
	sqlAddSeller    = `INSERT INTO sellers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`
	sqlDeleteSeller = `DELETE FROM sellers WHERE id = $1`
)

// getUser reads user id in q (lock is one of sqlGetUser, sqlGetUserLocked, sqlGetUserShared);
// affiliate.ErrUserNotFound when there is none.
func getUser(ctx context.Context, q querier, query string, id int64) (affiliate.User, error) {
	var u affiliate.User
	if err := q.QueryRow(ctx, query, id).Scan(&u); err != nil {
		return affiliate.User{}, notFound(err, affiliate.ErrUserNotFound)
	}
	return u, nil
}

// writeUser stores u, inserting it when created and otherwise replacing the row read (and locked) as
// old, and keeps the sellers table in step with u.Seller: a seller has a row there, which holds the API
// key; anyone else has none.
func writeUser(ctx context.Context, tx pgx.Tx, u affiliate.User, old *affiliate.User) error {
	doc, err := encodeDoc(u)
	if err != nil {
		return err
	}
	query := sqlUpdateUser
	if old == nil {
		query = sqlInsertUser
	}
	tag, err := tx.Exec(ctx, query, u.ID, doc, u.Seller, u.Reachable, u.TimeZone, digestColumn(u))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errUserRace
	}
	wasSeller := old != nil && old.Seller
	switch {
	case u.Seller && !wasSeller:
		_, err = tx.Exec(ctx, sqlAddSeller, u.ID)
	case !u.Seller && wasSeller:
		_, err = tx.Exec(ctx, sqlDeleteSeller, u.ID)
	}
	return err
}

// errUserRace reports that another instance inserted the user between this transaction's read and its
// insert; RegisterUser then starts again and finds the user.
var errUserRace = errors.New("user written concurrently")

// RegisterUser creates the user when missing (taking u as given, CreatedAt/UpdatedAt set) and otherwise
// refreshes only the chat id and names (language, zone and settings are kept). Returns the stored user
// and whether it was created.
func (s *Store) RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error) {
	if u.ID <= 0 {
		return affiliate.User{}, false, affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	for try := 1; ; try++ {
		var (
			out     affiliate.User
			created bool
		)
		err := s.inTx(ctx, "register user", func(ctx context.Context, tx pgx.Tx) error {
			now := s.now().UTC()
			old, err := getUser(ctx, tx, sqlGetUserLocked, u.ID)
			switch {
			case errors.Is(err, affiliate.ErrUserNotFound):
				out = u
				out.CreatedAt, out.UpdatedAt = now, now
				created = true
				return writeUser(ctx, tx, out, nil)
			case err != nil:
				return err
			}
			out = old
			out.ChatID = u.ChatID
			out.FirstName, out.LastName, out.Username = u.FirstName, u.LastName, u.Username
			out.UpdatedAt = now
			return writeUser(ctx, tx, out, &old)
		})
		if errors.Is(err, errUserRace) && try < 3 {
			continue
		}
		if err != nil {
			return affiliate.User{}, false, err
		}
		return out, created, nil
	}
}

// GetUser returns a user or affiliate.ErrUserNotFound.
func (s *Store) GetUser(ctx context.Context, id int64) (affiliate.User, error) {
	var u affiliate.User
	err := s.statement(ctx, "get user", func(ctx context.Context) error {
		var err error
		u, err = getUser(ctx, s.pool, sqlGetUser, id)
		return err
	})
	if err != nil {
		return affiliate.User{}, err
	}
	return u, nil
}

// UpdateUser reads (locking the row), changes with fn and writes a user in one transaction; an error
// from fn aborts. The id and creation time cannot be changed by fn.
func (s *Store) UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error) {
	var u affiliate.User
	err := s.inTx(ctx, "update user", func(ctx context.Context, tx pgx.Tx) error {
		old, err := getUser(ctx, tx, sqlGetUserLocked, id)
		if err != nil {
			return err
		}
		u = old
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.CreatedAt, u.UpdatedAt = id, old.CreatedAt, s.now().UTC()
		return writeUser(ctx, tx, u, &old)
	})
	if err != nil {
		return affiliate.User{}, err
	}
	return u, nil
}

const sqlListUsers = `SELECT doc FROM users WHERE id > $1 ORDER BY id LIMIT $2`

// ListUsers returns up to limit users whose id is greater than after (0 starts at the first), in id
// order: a keyset page.
func (s *Store) ListUsers(ctx context.Context, after int64, limit int) ([]affiliate.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []affiliate.User
	err := s.statement(ctx, "list users", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, sqlListUsers, after, limit)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[affiliate.User])
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	sqlDeleteApplication = `DELETE FROM applications WHERE user_id = $1`
	sqlDeleteFlow        = `DELETE FROM flows WHERE user_id = $1`
	sqlDeleteFeedbackBy  = `DELETE FROM feedback WHERE affiliate_id = $1`
	sqlDeleteUser        = `DELETE FROM users WHERE id = $1`
)

// DeleteUserData erases a user's personal data: the user record (with its place in the digest
// schedule), flow, application and feedback texts, a seller's API key, and the user's queued messages.
// Links, clicks and aggregates stay (sellers' books) but are no longer tied to a name. Deleting a user
// that is not there is not an error.
func (s *Store) DeleteUserData(ctx context.Context, id int64) error {
	return s.inTx(ctx, "delete user data", func(ctx context.Context, tx pgx.Tx) error {
		// The user's row is locked first, as every other write to the user's records does.
		if _, err := getUser(ctx, tx, sqlGetUserLocked, id); err != nil && !errors.Is(err, affiliate.ErrUserNotFound) {
			return err
		}
		if _, err := tx.Exec(ctx, sqlDeleteSeller, id); err != nil {
			return err
		}
		// Queued messages carry the user's name or figures in their text: they go with the data.
		if _, err := dropQueued(ctx, tx, id, "user erased their data", s.now().UTC()); err != nil {
			return err
		}
		for _, q := range []string{sqlDeleteApplication, sqlDeleteFlow, sqlDeleteFeedbackBy, sqlDeleteUser} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

const (
	sqlGetApplication       = `SELECT doc FROM applications WHERE user_id = $1`
	sqlGetApplicationLocked = `SELECT doc FROM applications WHERE user_id = $1 FOR UPDATE`
	sqlPutApplication       = `INSERT INTO applications (user_id, doc, status, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc, status = excluded.status, created_at = excluded.created_at`
	sqlPendingApplications = `SELECT doc FROM applications WHERE status = 'pending' ORDER BY created_at, user_id`
)

func putApplication(ctx context.Context, tx pgx.Tx, app affiliate.Application) error {
	doc, err := encodeDoc(app)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sqlPutApplication, app.UserID, doc, string(app.Status), app.CreatedAt)
	return err
}

// getApplication reads user userID's application with query (sqlGetApplication or its locked form) and
// reports whether there is one.
func getApplication(ctx context.Context, q querier, query string, userID int64) (affiliate.Application, bool, error) {
	var app affiliate.Application
	err := q.QueryRow(ctx, query, userID).Scan(&app)
	if errors.Is(err, pgx.ErrNoRows) {
		return affiliate.Application{}, false, nil
	}
	if err != nil {
		return affiliate.Application{}, false, err
	}
	return app, true, nil
}

// ApplySeller records a pending application. Conflict reasons: "already_seller", "application_pending".
// A rejected applicant may apply again; the new application replaces the old one.
func (s *Store) ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error) {
	name, err := affiliate.ValidateShopName(shopName)
	if err != nil {
		return affiliate.Application{}, err
	}
	var app affiliate.Application
	err = s.inTx(ctx, "apply seller", func(ctx context.Context, tx pgx.Tx) error {
		u, err := getUser(ctx, tx, sqlGetUserLocked, userID)
		if err != nil {
			return err
		}
		old, found, err := getApplication(ctx, tx, sqlGetApplicationLocked, userID)
		if err != nil {
			return err
		}
		if err := affiliate.CheckApplication(u, old, found); err != nil {
			return err
		}
		app = affiliate.Application{UserID: userID, ShopName: name, Status: affiliate.AppPending, CreatedAt: s.now().UTC()}
		return putApplication(ctx, tx, app)
	})
	if err != nil {
		return affiliate.Application{}, err
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
	err := s.inTx(ctx, "decide application", func(ctx context.Context, tx pgx.Tx) error {
		// The user's row is locked before the application's, in the order ApplySeller takes them.
		old, userErr := getUser(ctx, tx, sqlGetUserLocked, userID)
		if userErr != nil && !errors.Is(userErr, affiliate.ErrUserNotFound) {
			return userErr
		}
		var (
			found bool
			err   error
		)
		if app, found, err = getApplication(ctx, tx, sqlGetApplicationLocked, userID); err != nil {
			return err
		}
		if !found {
			return affiliate.ErrAppNotFound
		}
		if err := affiliate.CheckDecision(app); err != nil {
			return err
		}
		if userErr != nil {
			return userErr
		}
		u = old
		now := s.now().UTC()
		app.DecidedAt, app.DecidedBy = now, adminID
		app.Status = affiliate.AppRejected
		if approve {
			app.Status = affiliate.AppApproved
			u.Seller, u.ShopName, u.UpdatedAt = true, app.ShopName, now
			if err := writeUser(ctx, tx, u, &old); err != nil {
				return err
			}
		}
		return putApplication(ctx, tx, app)
	})
	if err != nil {
		return affiliate.Application{}, affiliate.User{}, err
	}
	return app, u, nil
}

// GetApplication returns a user's application or affiliate.ErrAppNotFound.
func (s *Store) GetApplication(ctx context.Context, userID int64) (affiliate.Application, error) {
	var app affiliate.Application
	err := s.statement(ctx, "get application", func(ctx context.Context) error {
		var (
			found bool
			err   error
		)
		app, found, err = getApplication(ctx, s.pool, sqlGetApplication, userID)
		if err == nil && !found {
			err = affiliate.ErrAppNotFound
		}
		return err
	})
	if err != nil {
		return affiliate.Application{}, err
	}
	return app, nil
}

// PendingApplications lists pending applications, oldest first.
func (s *Store) PendingApplications(ctx context.Context) ([]affiliate.Application, error) {
	var apps []affiliate.Application
	err := s.statement(ctx, "pending applications", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, sqlPendingApplications)
		var err error
		apps, err = pgx.CollectRows(rows, pgx.RowTo[affiliate.Application])
		return err
	})
	if err != nil {
		return nil, err
	}
	return apps, nil
}

const (
	sqlGetFlow = `SELECT doc FROM flows WHERE user_id = $1`
	sqlPutFlow = `INSERT INTO flows (user_id, doc) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc`
)

// GetFlow returns the user's current multi-step flow, if any.
func (s *Store) GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error) {
	var (
		f     affiliate.Flow
		found bool
	)
	err := s.statement(ctx, "get flow", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, sqlGetFlow, userID).Scan(&f)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil || !found {
		return affiliate.Flow{}, false, err
	}
	return f, true, nil
}

// SaveFlow stores (replaces) the user's flow; UpdatedAt is set.
func (s *Store) SaveFlow(ctx context.Context, f affiliate.Flow) error {
	if f.UserID == 0 {
		return affiliate.Errorf(affiliate.EInvalid, "user_id")
	}
	f.UpdatedAt = s.now().UTC()
	doc, err := encodeDoc(f)
	if err != nil {
		return fmt.Errorf("save flow: %w", err)
	}
	return s.statement(ctx, "save flow", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, sqlPutFlow, f.UserID, doc)
		return err
	})
}

// DeleteFlow ends the user's flow; no error when there is none.
func (s *Store) DeleteFlow(ctx context.Context, userID int64) error {
	return s.statement(ctx, "delete flow", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, sqlDeleteFlow, userID)
		return err
	})
}

const (
	sqlSellerKeyLocked = `SELECT api_key FROM sellers WHERE id = $1 FOR UPDATE`
	sqlSellerKey       = `SELECT api_key FROM sellers WHERE id = $1`
	sqlSetSellerKey    = `UPDATE sellers SET api_key = $2, api_key_hash = $3 WHERE id = $1`
	sqlSellerByKeyHash = `SELECT id, api_key FROM sellers WHERE api_key_hash = $1`
)

// APIKey returns the seller's API key, creating one on first use. ErrSellerNotFound when the user is
// not a seller.
func (s *Store) APIKey(ctx context.Context, sellerID int64) (string, error) {
	return s.apiKey(ctx, "api key", sellerID, false)
}

// RotateAPIKey replaces the seller's API key; the old one stops working at once.
func (s *Store) RotateAPIKey(ctx context.Context, sellerID int64) (string, error) {
	return s.apiKey(ctx, "rotate api key", sellerID, true)
}

// apiKey returns the seller's API key, making a new one when there is none or when rotate is set. The
// seller's row is locked, so that concurrent first calls agree on one key.
func (s *Store) apiKey(ctx context.Context, what string, sellerID int64, rotate bool) (string, error) {
	var key string
	err := s.inTx(ctx, what, func(ctx context.Context, tx pgx.Tx) error {
		var cur string
		if err := tx.QueryRow(ctx, sqlSellerKeyLocked, sellerID).Scan(&cur); err != nil {
			return notFound(err, affiliate.ErrSellerNotFound)
		}
		if cur != "" && !rotate {
			key = cur
			return nil
		}
		r, err := affiliate.RandomString(&s.rand, apiKeyRandLen)
		if err != nil {
			return err
		}
		key = store.APIKeyPrefix + r
		_, err = tx.Exec(ctx, sqlSetSellerKey, sellerID, key, store.APIKeyHash(key))
		return err
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// SellerByAPIKey finds the seller owning key (constant-time comparison) or returns ErrSellerNotFound.
func (s *Store) SellerByAPIKey(ctx context.Context, key string) (int64, error) {
	if !store.ValidAPIKeyFormat(key) {
		return 0, affiliate.ErrSellerNotFound
	}
	var id int64
	err := s.statement(ctx, "seller by api key", func(ctx context.Context) error {
		var stored string
		if err := s.pool.QueryRow(ctx, sqlSellerByKeyHash, store.APIKeyHash(key)).Scan(&id, &stored); err != nil {
			return notFound(err, affiliate.ErrSellerNotFound)
		}
		if subtle.ConstantTimeCompare([]byte(stored), []byte(key)) != 1 {
			return affiliate.ErrSellerNotFound
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// APIKeyOf returns the seller's API key without creating one: ok is false when the user is not a seller
// or has never asked for a key.
func (s *Store) APIKeyOf(ctx context.Context, sellerID int64) (string, bool, error) {
	var key string
	err := s.statement(ctx, "api key of", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, sqlSellerKey, sellerID).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", false, err
	}
	return key, key != "", nil
}

const (
	// The feedback's id comes from the table's sequence and is written into doc in the same statement.
	sqlAddFeedback = `INSERT INTO feedback (id, seller_id, affiliate_id, doc)
		SELECT n.id, $1, $2, jsonb_set($3::jsonb, '{id}', to_jsonb(n.id)) FROM (SELECT nextval('feedback_id_seq') AS id) n
		RETURNING id`
	sqlSellerFeedback = `SELECT doc FROM feedback WHERE seller_id = $1 ORDER BY id DESC LIMIT $2`
)

// AddFeedback stores an affiliate's comment to a product's seller. The seller comes from the product;
// ID and At are set. Invalid reasons: "feedback_empty", "feedback_long".
func (s *Store) AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error) {
	text, err := affiliate.ValidateFeedbackText(f.Text)
	if err != nil {
		return affiliate.Feedback{}, err
	}
	f.Text = text
	err = s.inTx(ctx, "add feedback", func(ctx context.Context, tx pgx.Tx) error {
		p, err := getProduct(ctx, tx, f.ProductID)
		if err != nil {
			return err
		}
		// A share lock: the user cannot be erased (DeleteUserData) until the feedback is in.
		if _, err := getUser(ctx, tx, sqlGetUserShared, f.AffiliateID); err != nil {
			return err
		}
		f.ID, f.SellerID, f.At = 0, p.SellerID, s.now().UTC()
		doc, err := encodeDoc(f)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, sqlAddFeedback, f.SellerID, f.AffiliateID, doc).Scan(&id); err != nil {
			return err
		}
		f.ID = uint64(id)
		return nil
	})
	if err != nil {
		return affiliate.Feedback{}, err
	}
	return f, nil
}

// SellerFeedback lists the newest feedback for a seller's products, newest first, at most limit
// (limit ≤ 0: all).
func (s *Store) SellerFeedback(ctx context.Context, sellerID int64, limit int) ([]affiliate.Feedback, error) {
	var lim any // NULL: LIMIT ALL
	if limit > 0 {
		lim = limit
	}
	var out []affiliate.Feedback
	err := s.statement(ctx, "seller feedback", func(ctx context.Context) error {
		rows, _ := s.pool.Query(ctx, sqlSellerFeedback, sellerID, lim)
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[affiliate.Feedback])
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sqlStats counts what Stats reports from this part of the schema.
const sqlStats = `SELECT
	(SELECT count(*) FROM users),
	(SELECT count(*) FROM users WHERE reachable),
	(SELECT count(*) FROM sellers),
	(SELECT count(*) FROM applications WHERE status = 'pending'),
	(SELECT count(*) FROM products),
	(SELECT count(*) FROM links),
	(SELECT queued FROM outbox_counters)`

// Stats counts users (and those reachable), sellers, pending applications, products, links, clicks,
// bot and orphan visits, and orders; Outbox is the number of queued messages.
func (s *Store) Stats(ctx context.Context) (affiliate.Stats, error) {
	var st affiliate.Stats
	err := s.statement(ctx, "stats", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, sqlStats).Scan(&st.Users, &st.Reachable, &st.Sellers, &st.Pending, &st.Products, &st.Links, &st.Outbox)
	})
	if err != nil {
		return affiliate.Stats{}, err
	}
	// Clicks, bot and orphan visits and orders: the click counters and the orders of migration 00002.
	err = s.statement(ctx, "stats", func(ctx context.Context) error {
		var err error
		st.Clicks, st.Bots, st.Orphans, st.Orders, err = clickStats(ctx, s.pool)
		return err
	})
	if err != nil {
		return affiliate.Stats{}, err
	}
	return st, nil
}

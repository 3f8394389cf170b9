package track

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Report period limits for GET /api/v1/affiliates.
const (
	DefaultReportDays = 30
	MaxReportDays     = 366
	dateLayout        = "2006-01-02"
)

// caller is who a request's bearer token belongs to.
type caller struct {
	admin    bool
	sellerID int64
}

// bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// isAdminToken compares token with the configured admin token in constant time. An empty configured
// token never matches.
func (s *Server) isAdminToken(token string) bool {
	if s.cfg.AdminToken == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) == 1
}

// authenticate resolves the bearer token to the admin (when allowAdmin) or a seller. A missing or unknown
// token is errUnauthorized.
func (s *Server) authenticate(r *http.Request, allowAdmin bool) (caller, error) {
	token := bearer(r)
	if token == "" {
		return caller{}, errUnauthorized
	}
	if allowAdmin && s.isAdminToken(token) {
		return caller{admin: true}, nil
	}
	id, err := s.store.SellerByAPIKey(r.Context(), token)
	if err != nil {
		if affiliate.ErrorCode(err) == affiliate.ENotFound {
			return caller{}, errUnauthorized
		}
		return caller{}, err
	}
	return caller{sellerID: id}, nil
}

func (s *Server) unauthorized(w http.ResponseWriter, err error) {
	if errors.Is(err, errUnauthorized) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keranjang"`)
	}
	writeError(w, s.log, err)
}

// LinkStats is the answer of GET /api/v1/links/{code}/stats: the link's all-time counts. Orders is always
// 0 until orders are recorded (a later issue adds them).
type LinkStats struct {
	LinkCode     string `json:"link_code"`
	Clicks       int64  `json:"clicks"`
	UniqueClicks int64  `json:"unique_clicks"`
	BotVisits    int64  `json:"bot_visits"`
	Orders       int64  `json:"orders"`
}

// handleLinkStats answers the counts of one link to the seller who owns its product, or to the admin.
// Another seller gets 404, as if the link did not exist.
func (s *Server) handleLinkStats(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r, true)
	if err != nil {
		s.unauthorized(w, err)
		return
	}
	code := r.PathValue("code")
	if !affiliate.ValidCode(code) {
		writeError(w, s.log, affiliate.ErrLinkNotFound)
		return
	}
	l, err := s.store.GetLink(r.Context(), code)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	if !c.admin && l.SellerID != c.sellerID {
		writeError(w, s.log, affiliate.ErrLinkNotFound)
		return
	}
	counts, err := s.store.LinkCounts(r.Context(), code, time.Time{}, time.Time{})
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, LinkStats{
		LinkCode:     l.Code,
		Clicks:       counts.Clicks,
		UniqueClicks: counts.UniqueClicks,
		BotVisits:    counts.BotVisits,
	})
}

// AffiliateReport is the answer of GET /api/v1/affiliates: the seller's affiliates' activity from From to
// To inclusive, by days of TimeZone.
type AffiliateReport struct {
	From       string               `json:"from"`
	To         string               `json:"to"`
	TimeZone   string               `json:"time_zone"`
	Affiliates []AffiliateReportRow `json:"affiliates"`
}

// AffiliateReportRow is one affiliate's activity on one of the seller's products. The order and money
// columns (Orders, GMV and the three commission columns, in whole rupiah) are always 0 until orders are
// recorded (a later issue adds them); they are in the document now so that clients need not change.
type AffiliateReportRow struct {
	AffiliateID        int64            `json:"affiliate_id"`
	AffiliateName      string           `json:"affiliate_name"`
	ProductID          uint64           `json:"product_id"`
	ProductName        string           `json:"product_name"`
	LinkCode           string           `json:"link_code"`
	Clicks             int64            `json:"clicks"`
	UniqueClicks       int64            `json:"unique_clicks"`
	Orders             int64            `json:"orders"`
	GMV                affiliate.Rupiah `json:"gmv"`
	CommissionPending  affiliate.Rupiah `json:"commission_pending"`
	CommissionSettled  affiliate.Rupiah `json:"commission_settled"`
	CommissionReversed affiliate.Rupiah `json:"commission_reversed"`
}

// handleAffiliateReport answers the seller's affiliate report. from and to are dates (YYYY-MM-DD) in the
// seller's time zone, to inclusive; the default is the last 30 days up to today, the longest period 366
// days. Only the seller's own products appear.
func (s *Server) handleAffiliateReport(w http.ResponseWriter, r *http.Request) {
	c, err := s.authenticate(r, false)
	if err != nil {
		s.unauthorized(w, err)
		return
	}
	loc := s.cfg.DefaultLocation
	if u, err := s.store.GetUser(r.Context(), c.sellerID); err == nil {
		loc = u.Location(loc)
	}
	from, to, err := reportPeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), s.now(), loc)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	rows, err := s.store.AffiliateReport(r.Context(), c.sellerID, 0, from, to.AddDate(0, 0, 1))
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	out := AffiliateReport{
		From:       from.Format(dateLayout),
		To:         to.Format(dateLayout),
		TimeZone:   loc.String(),
		Affiliates: make([]AffiliateReportRow, 0, len(rows)),
	}
	names := map[uint64]string{}
	for _, row := range rows {
		rr := AffiliateReportRow{
			AffiliateID:   row.AffiliateID,
			AffiliateName: row.AffiliateName,
			ProductID:     row.ProductID,
			ProductName:   row.ProductName,
			LinkCode:      row.Code,
			Clicks:        row.Clicks,
			UniqueClicks:  row.UniqueClicks,
		}
		if rr.ProductName == "" {
			name, ok := names[rr.ProductID]
			if !ok {
				if p, err := s.store.GetProduct(r.Context(), rr.ProductID); err == nil {
					name = p.Name
				}
				names[rr.ProductID] = name
			}
			rr.ProductName = name
		}
		if rr.AffiliateName == "" {
			// A user who erased their data is gone from the store and stays unnamed.
			if u, err := s.store.GetUser(r.Context(), rr.AffiliateID); err == nil {
				rr.AffiliateName = u.DisplayName()
			}
		}
		out.Affiliates = append(out.Affiliates, rr)
	}
	writeJSON(w, http.StatusOK, out)
}

// reportPeriod parses the from and to dates of a report in loc and returns the local midnights of the
// first and the last day. Empty values default to the DefaultReportDays days up to today.
func reportPeriod(fromS, toS string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	to = today
	if toS != "" {
		if to, err = time.ParseInLocation(dateLayout, toS, loc); err != nil {
			return from, to, affiliate.Errorf(affiliate.EInvalid, "bad_to_date")
		}
	}
	from = to.AddDate(0, 0, -(DefaultReportDays - 1))
	if fromS != "" {
		if from, err = time.ParseInLocation(dateLayout, fromS, loc); err != nil {
			return from, to, affiliate.Errorf(affiliate.EInvalid, "bad_from_date")
		}
	}
	if to.Before(from) {
		return from, to, affiliate.Errorf(affiliate.EInvalid, "from_after_to")
	}
	// Count calendar days, not 24-hour periods, so daylight-saving zones do not shift the limit.
	days := 1
	for d := from; d.Before(to) && days <= MaxReportDays; d = d.AddDate(0, 0, 1) {
		days++
	}
	if days > MaxReportDays {
		return from, to, affiliate.Errorf(affiliate.EInvalid, "range_too_long")
	}
	return from, to, nil
}

// handleBackup streams a consistent copy of the database to the admin. With no admin token configured
// the route does not exist (404).
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AdminToken == "" {
		writeError(w, s.log, errRouteNotFound)
		return
	}
	if !s.isAdminToken(bearer(r)) {
		s.unauthorized(w, errUnauthorized)
		return
	}
	// A large database takes longer than the server's write timeout to send.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
	name := "keranjang-" + s.now().UTC().Format("20060102T150405Z") + ".db"
	cw := &countingWriter{w: w, header: func() {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	n, err := s.store.Backup(r.Context(), cw)
	if err != nil {
		if cw.n == 0 {
			writeError(w, s.log, err)
			return
		}
		// The status is already sent; abort so the client sees a broken transfer, not a short file.
		s.log.Error().Err(err).Int64("bytes", cw.n).Msg("backup failed")
		panic(http.ErrAbortHandler)
	}
	s.log.Info().Int64("bytes", n).Msg("backup sent")
}

// countingWriter sets the response headers just before the first byte and counts what was written.
type countingWriter struct {
	w      io.Writer
	header func()
	n      int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 && c.header != nil {
		c.header()
		c.header = nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

package track

import (
	"net/http"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Report period limits for GET /api/v1/affiliates.
const (
	DefaultReportDays = 30
	MaxReportDays     = 366
	dateLayout        = "2006-01-02"
)

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

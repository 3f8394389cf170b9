package track

import (
	"net/http"

	"github.com/keranjang/keranjang/affiliate"
)

// Report period limits for GET /api/v1/affiliates.
const (
	DefaultReportDays = 30
	MaxReportDays     = 366
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
	from, to, err := affiliate.ParseDays(r.URL.Query().Get("from"), r.URL.Query().Get("to"), s.now(), loc,
		DefaultReportDays, MaxReportDays)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	rows, err := s.store.AffiliateReport(r.Context(), c.sellerID, 0, from, to)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	out := AffiliateReport{
		From:       from.Format(affiliate.DateLayout),
		To:         affiliate.LastDate(to, loc),
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

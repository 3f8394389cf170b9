package track

import (
	"net/http"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

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

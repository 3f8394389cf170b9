package track

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keranjang/keranjang/affiliate"
)

// notFoundPage is the answer to an unknown or malformed basket link, in Indonesian and English.
const notFoundPage = `<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Tautan tidak ditemukan · Link not found</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em">
<h1>Tautan tidak ditemukan</h1><p>Tautan keranjang ini tidak ada atau sudah tidak berlaku.</p>
<h2 lang="en">Link not found</h2><p lang="en">This basket link does not exist or is no longer valid.</p>
</body></html>
`

// Header values shared by every redirect, allocated once.
var (
	hdrNoStore        = []string{"no-store"}
	hdrReferrerPolicy = []string{"strict-origin-when-cross-origin"}
	hdrHTML           = []string{"text/html; charset=utf-8"}
)

// handleRedirect is the basket link, PRODUCT.md §3. A known code answers 302 to the product's stored URL
// with kclid=<click id> added and queues the visit; an unknown or malformed one answers 404 and counts an
// orphan visit. HEAD requests and crawler or link-preview user agents are redirected too but queued as
// bot visits, which never count as clicks. Nothing here waits for the database.
func (s *Server) handleRedirect(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !affiliate.ValidCode(code) {
		s.orphan(w)
		return
	}
	t, err := s.store.Target(r.Context(), code)
	if err != nil {
		if affiliate.ErrorCode(err) == affiliate.ENotFound {
			s.orphan(w)
			return
		}
		writeError(w, s.log, err)
		return
	}
	ua := r.UserAgent()
	bot := r.Method == http.MethodHead || isBot(ua)
	at := s.now().UTC()
	var idb [ClickIDLen]byte
	putClickID(&idb, at)
	loc, id := s.redirectTo(t, &idb)
	h := w.Header()
	h["Location"] = []string{loc}
	h["Cache-Control"] = hdrNoStore
	h["Referrer-Policy"] = hdrReferrerPolicy
	w.WriteHeader(http.StatusFound)

	if bot {
		s.m.bots.Inc()
	} else {
		s.m.tracked.Inc()
	}
	s.buf.add(affiliate.Click{
		ID:          id,
		Code:        t.Code,
		ProductID:   t.ProductID,
		AffiliateID: t.AffiliateID,
		SellerID:    t.SellerID,
		At:          at,
		Visitor:     s.visitor.hash(clientIP(r, s.cfg.TrustedProxies), ua),
		Bot:         bot,
	})
}

// handleRedirectOther answers paths under /r/ that are not one code (such as /r/ or /r/a/b) like an
// unknown code.
func (s *Server) handleRedirectOther(w http.ResponseWriter, r *http.Request) { s.orphan(w) }

// orphan answers the not-found page and counts the visit.
func (s *Server) orphan(w http.ResponseWriter) {
	s.m.orphans.Inc()
	s.buf.addOrphan()
	h := w.Header()
	h["Content-Type"] = hdrHTML
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(notFoundPage))
}

// locationTemplate is a product URL split around the click id of its redirect: prefix + id + suffix is
// affiliate.ClickURL(url, id). Building it once per link keeps URL parsing off the hot path.
type locationTemplate struct {
	url    string // the stored URL the template was built from; a product edit changes it
	prefix string
	suffix string
	ok     bool // false when the URL cannot be split; then ClickURL is called per request
}

// redirectTo returns the redirect target for target t and click id, and the id as a string. The id is a
// substring of the target, so the pair costs one allocation.
func (s *Server) redirectTo(t affiliate.Target, id *[ClickIDLen]byte) (loc, clickID string) {
	lt := s.template(t)
	if !lt.ok {
		clickID = string(id[:])
		return affiliate.ClickURL(t.URL, clickID), clickID
	}
	var b strings.Builder
	b.Grow(len(lt.prefix) + ClickIDLen + len(lt.suffix))
	b.WriteString(lt.prefix)
	b.Write(id[:])
	b.WriteString(lt.suffix)
	loc = b.String()
	return loc, loc[len(lt.prefix) : len(lt.prefix)+ClickIDLen]
}

// template returns the location template of t's product URL, building it on first use and again after
// the URL changed.
func (s *Server) template(t affiliate.Target) *locationTemplate {
	if v, ok := s.targets.Load(t.Code); ok {
		if lt := v.(*locationTemplate); lt.url == t.URL {
			return lt
		}
	}
	lt := newLocationTemplate(t.URL)
	s.targets.Store(t.Code, lt)
	return lt
}

// clickIDMarker stands in for the click id while a template is built. Click ids are alphanumeric, so
// query escaping leaves them as they are and the marker's position is where the id goes.
const clickIDMarker = "KCLIDMARKER0000X"

// newLocationTemplate builds the template for productURL. Any kclid parameter already in the stored URL
// is removed first, so that the shop sees exactly one kclid: ours, at the end of the query.
func newLocationTemplate(productURL string) *locationTemplate {
	lt := &locationTemplate{url: productURL}
	cleaned := stripKclid(productURL)
	full := affiliate.ClickURL(cleaned, clickIDMarker)
	end := strings.IndexByte(full, '#')
	if end < 0 {
		end = len(full)
	}
	if !strings.HasSuffix(full[:end], "kclid="+clickIDMarker) {
		return lt
	}
	lt.prefix = full[:end-len(clickIDMarker)]
	lt.suffix = full[end:]
	lt.ok = true
	return lt
}

// stripKclid removes kclid parameters from the query of a URL, keeping every other parameter as written.
func stripKclid(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	parts := strings.Split(u.RawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == "kclid" || k == "kclid" {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == len(parts) {
		return raw
	}
	u.RawQuery = strings.Join(kept, "&")
	u.ForceQuery = false
	return u.String()
}

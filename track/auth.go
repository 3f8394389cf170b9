package track

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/keranjang/keranjang/affiliate"
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

package track

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/keranjang/keranjang/affiliate"
)

// AlertService sends policy alerts and reads their delivery counts (the admin alerts API).
type AlertService interface {
	SendAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error)
	GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error)
	AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error)
}

// Fields of an alert body.
const (
	fieldTitle    = "title"
	fieldBody     = "body"
	fieldURL      = "url"
	fieldAudience = "audience"
)

// DecodeAlert decodes a POST /api/v1/alerts body strictly: exactly one JSON object and nothing after it,
// only the known fields, each at most once and a string; title, body and audience present. The alert is
// checked by affiliate.NewAlert, and the body must not be empty.
func DecodeAlert(body []byte) (affiliate.Alert, error) {
	if !utf8.Valid(body) {
		return affiliate.Alert{}, invalid("invalid_json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return affiliate.Alert{}, invalid("invalid_json")
	}
	f := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return affiliate.Alert{}, invalid("invalid_json")
		}
		name, ok := t.(string)
		if !ok {
			return affiliate.Alert{}, invalid("invalid_json")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return affiliate.Alert{}, invalid("invalid_json")
		}
		if _, dup := f[name]; dup {
			return affiliate.Alert{}, invalid("duplicate_field")
		}
		switch name {
		case fieldTitle, fieldBody, fieldURL, fieldAudience:
		default:
			return affiliate.Alert{}, invalid("unknown_field")
		}
		if f[name], err = jsonString(raw, name); err != nil {
			return affiliate.Alert{}, err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return affiliate.Alert{}, invalid("invalid_json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return affiliate.Alert{}, invalid("invalid_json")
	}
	for _, name := range []string{fieldTitle, fieldBody, fieldAudience} {
		if _, ok := f[name]; !ok {
			return affiliate.Alert{}, invalid("missing_" + name)
		}
	}
	aud, ok := affiliate.ParseAudience(f[fieldAudience])
	if !ok {
		return affiliate.Alert{}, invalid("invalid_audience")
	}
	a, err := affiliate.NewAlert(f[fieldTitle], f[fieldBody], f[fieldURL], aud, "api")
	if err != nil {
		return affiliate.Alert{}, err
	}
	if a.Body == "" {
		return affiliate.Alert{}, invalid("missing_body")
	}
	return a, nil
}

// adminOnly answers 404 when the admin API is off and 401 without the admin token; it reports whether
// the request may go on.
func (s *Server) adminOnly(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.AdminToken == "" || s.cfg.Alerts == nil {
		writeError(w, s.log, errRouteNotFound)
		return false
	}
	if !s.isAdminToken(bearer(r)) {
		s.unauthorized(w, errUnauthorized)
		return false
	}
	return true
}

// handleCreateAlert queues a policy alert: 202 with its id; the fan-out runs in the background.
func (s *Server) handleCreateAlert(w http.ResponseWriter, r *http.Request) {
	if !s.adminOnly(w, r) {
		return
	}
	body, err := readBody(r.Body)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	a, err := DecodeAlert(body)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	if a, err = s.cfg.Alerts.SendAlert(r.Context(), a); err != nil {
		writeError(w, s.log, err)
		return
	}
	s.log.Info().Uint64("alert_id", a.ID).Str("audience", string(a.Audience)).Msg("policy alert queued")
	writeJSON(w, http.StatusAccepted, AlertCreated{ID: a.ID})
}

// handleGetAlert answers an alert's delivery counts.
func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	if !s.adminOnly(w, r) {
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, s.log, affiliate.ErrAlertNotFound)
		return
	}
	a, err := s.cfg.Alerts.GetAlert(r.Context(), id)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	n, err := s.cfg.Alerts.AlertCounts(r.Context(), id)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, AlertStatus{ID: a.ID, Title: a.Title, Audience: a.Audience, Source: a.Source,
		CreatedAt: a.CreatedAt.UTC(), FannedOut: a.FannedOut, Done: a.FannedOut && n.Queued == 0, AlertCounts: n})
}

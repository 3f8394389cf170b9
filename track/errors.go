package track

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// Transport-level errors, expressed as domain errors so that one table decides every status.
var (
	errBodyTooLarge  = &affiliate.Error{Code: affiliate.EInvalid, Reason: "request_too_large"}
	errNotReady      = &affiliate.Error{Code: affiliate.EInternal, Reason: "not_ready"}
	errUnauthorized  = &affiliate.Error{Code: affiliate.EUnauthorized, Reason: "unauthorized"}
	errRouteNotFound = &affiliate.Error{Code: affiliate.ENotFound, Reason: "not_found"}
)

// statusByCode maps each domain error code to its HTTP status.
var statusByCode = map[affiliate.Code]int{
	affiliate.EInvalid:       http.StatusBadRequest,
	affiliate.EUnauthorized:  http.StatusUnauthorized,
	affiliate.EForbidden:     http.StatusForbidden,
	affiliate.ENotFound:      http.StatusNotFound,
	affiliate.EConflict:      http.StatusConflict,
	affiliate.EUnprocessable: http.StatusUnprocessableEntity,
	affiliate.EInternal:      http.StatusInternalServerError,
}

// statusByReason overrides the status for the few reasons HTTP has a more precise answer for.
var statusByReason = map[string]int{
	errBodyTooLarge.Reason: http.StatusRequestEntityTooLarge,
	errNotReady.Reason:     http.StatusServiceUnavailable,
}

// httpError decides what the client sees for err: the status and the message of the JSON body. Internal
// errors say only "internal_error"; their details are for the log.
func httpError(err error) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errBodyTooLarge
	}
	code := affiliate.ErrorCode(err)
	reason := affiliate.ErrorReason(err)
	if s, ok := statusByReason[reason]; ok {
		return s, reason
	}
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		return status, "internal_error"
	}
	if reason == "" {
		reason = string(code)
	}
	return status, reason
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers with the status and JSON body that httpError picks for err, and logs internal
// errors with their details.
func writeError(w http.ResponseWriter, log zerolog.Logger, err error) {
	status, msg := httpError(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		log.Error().Err(err).Str("request_id", requestIDFrom(w)).Msg("request failed")
	}
	writeJSON(w, status, errorBody{Error: msg})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

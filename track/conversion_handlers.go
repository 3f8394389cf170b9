package track

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// Headers of POST /api/v1/conversions.
const (
	HeaderSeller    = "X-Keranjang-Seller"
	HeaderTimestamp = "X-Keranjang-Timestamp"
	HeaderSignature = "X-Keranjang-Signature"
)

// SignatureTolerance is how far a conversion's timestamp may be from the server's clock, either way.
const SignatureTolerance = 5 * time.Minute

// signaturePrefix starts every X-Keranjang-Signature value.
const signaturePrefix = "sha256="

// Sign returns the X-Keranjang-Signature value of a conversion: "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with the seller's API key. timestamp is the X-Keranjang-Timestamp value
// exactly as sent.
func Sign(key, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(key, timestamp, body))
}

func mac(key, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// unknownSellerKey signs for a seller that has no key, so that an unknown seller costs the same work as a
// wrong signature and both get the same answer.
const unknownSellerKey = "ksk_no_such_seller"

// Errors of the conversions API. A bad signature, an unknown seller and missing or malformed headers all
// get errUnauthorized: the answer must not tell which seller ids exist. A timestamp too far from the
// server's clock has a reason of its own (it says nothing about the seller), so that a shop with a drifting
// clock can see why.
var (
	errStaleTimestamp = &affiliate.Error{Code: affiliate.EUnauthorized, Reason: "stale_timestamp"}
)

// handleConversion records one order reported by a seller's shop (PRODUCT.md §4). The signature is
// checked on the raw body before anything in it is parsed; the order is durable in the store before the
// 200. A report that changed the order tells its affiliate, after the answer and never failing it.
func (s *Server) handleConversion(w http.ResponseWriter, r *http.Request) {
	log := zerolog.Ctx(r.Context())
	sellerID, ts, sig, err := s.conversionHeaders(r)
	if err != nil {
		log.Debug().Str("reason", affiliate.ErrorReason(err)).Msg("conversion refused")
		writeError(w, s.log, err)
		return
	}
	body, err := readBody(r.Body)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	key, ok, err := s.store.APIKeyOf(r.Context(), sellerID)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	if !ok {
		key = unknownSellerKey
	}
	if !hmac.Equal(mac(key, ts, body), sig) || !ok {
		log.Debug().Int64("seller_id", sellerID).Bool("known_seller", ok).Msg("conversion refused: bad signature")
		writeError(w, s.log, errUnauthorized)
		return
	}

	rep, err := DecodeConversion(body)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	rep.SellerID = sellerID
	if err := affiliate.ValidateOrderReport(rep, s.now()); err != nil {
		writeError(w, s.log, err)
		return
	}
	o, changed, err := s.store.RecordOrder(r.Context(), rep)
	if err != nil {
		if code := affiliate.ErrorCode(err); code != affiliate.EInternal {
			log.Debug().Int64("seller_id", sellerID).Str("reason", affiliate.ErrorReason(err)).Msg("conversion refused")
		}
		writeError(w, s.log, err)
		return
	}
	log.Debug().Int64("seller_id", sellerID).Str("link_code", o.LinkCode).Str("status", string(o.Status)).
		Bool("changed", changed).Msg("conversion recorded")
	if changed {
		s.notifyOrder(r.Context(), o)
	}
	writeJSON(w, http.StatusOK, newConversionResult(o, changed))
}

// conversionHeaders reads and checks the signing headers: a positive seller id, a timestamp in unix
// seconds within SignatureTolerance of now, and a signature of the form sha256=<64 hex digits>.
func (s *Server) conversionHeaders(r *http.Request) (sellerID int64, ts string, sig []byte, err error) {
	sellerID, ok := positiveInt(r.Header.Get(HeaderSeller))
	if !ok {
		return 0, "", nil, errUnauthorized
	}
	ts = r.Header.Get(HeaderTimestamp)
	sec, ok := positiveInt(ts)
	if !ok {
		return 0, "", nil, errUnauthorized
	}
	v := r.Header.Get(HeaderSignature)
	if len(v) != len(signaturePrefix)+2*sha256.Size || v[:len(signaturePrefix)] != signaturePrefix {
		return 0, "", nil, errUnauthorized
	}
	sig, err = hex.DecodeString(v[len(signaturePrefix):])
	if err != nil {
		return 0, "", nil, errUnauthorized
	}
	// Compared in seconds, so that no timestamp however large overflows a Duration.
	now := s.now().Unix()
	if tol := int64(SignatureTolerance / time.Second); sec < now-tol || sec > now+tol {
		return 0, "", nil, errStaleTimestamp
	}
	return sellerID, ts, sig, nil
}

// positiveInt parses a decimal number of 1-18 digits without sign or leading zero that is above 0.
func positiveInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// readBody reads a whole request body of at most MaxBodyBytes. limitBody has already put a
// http.MaxBytesReader on it; the limit here also holds for a handler reached some other way.
func readBody(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, MaxBodyBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, &affiliate.Error{Code: affiliate.EInvalid, Reason: "unreadable_body", Err: err}
	}
	if len(b) > MaxBodyBytes {
		return nil, errBodyTooLarge
	}
	return b, nil
}

// Fields of a conversion body.
const (
	fieldOrderID        = "order_id"
	fieldClickID        = "click_id"
	fieldLinkCode       = "link_code"
	fieldAmount         = "amount"
	fieldStatus         = "status"
	fieldRefundedAmount = "refunded_amount"
	fieldOccurredAt     = "occurred_at"
)

// DecodeConversion decodes a conversion body strictly: exactly one JSON object and nothing after it, only
// the known fields and each at most once, strings where strings belong, amounts as whole non-negative
// numbers (no fraction, no exponent), occurred_at in RFC 3339, order_id and status present. Errors are
// EInvalid with a reason: invalid_json, unknown_field, duplicate_field, missing_<field> or
// invalid_<field>. The rules about the values themselves are affiliate.ValidateOrderReport's.
func DecodeConversion(body []byte) (affiliate.OrderReport, error) {
	var rep affiliate.OrderReport
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return rep, invalid("invalid_json")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return rep, invalid("invalid_json")
		}
		name, ok := t.(string)
		if !ok {
			return rep, invalid("invalid_json")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return rep, invalid("invalid_json")
		}
		if seen[name] {
			return rep, invalid("duplicate_field")
		}
		seen[name] = true
		switch name {
		case fieldOrderID:
			rep.OrderID, err = jsonString(raw, name)
		case fieldClickID:
			rep.ClickID, err = jsonString(raw, name)
		case fieldLinkCode:
			rep.LinkCode, err = jsonString(raw, name)
		case fieldStatus:
			var st string
			st, err = jsonString(raw, name)
			rep.Status = affiliate.OrderStatus(st)
		case fieldAmount:
			rep.Amount, err = jsonRupiah(raw, name)
		case fieldRefundedAmount:
			rep.RefundedAmount, err = jsonRupiah(raw, name)
		case fieldOccurredAt:
			var at string
			if at, err = jsonString(raw, name); err == nil {
				if rep.OccurredAt, err = time.Parse(time.RFC3339, at); err != nil {
					err = invalid("invalid_" + name)
				}
				rep.OccurredAt = rep.OccurredAt.UTC()
			}
		default:
			err = invalid("unknown_field")
		}
		if err != nil {
			return affiliate.OrderReport{}, err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return affiliate.OrderReport{}, invalid("invalid_json")
	}
	if _, err := dec.Token(); err != io.EOF {
		return affiliate.OrderReport{}, invalid("invalid_json") // a second value, or garbage, after the object
	}
	for _, f := range []string{fieldOrderID, fieldStatus} {
		if !seen[f] {
			return affiliate.OrderReport{}, invalid("missing_" + f)
		}
	}
	return rep, nil
}

func invalid(reason string) error { return &affiliate.Error{Code: affiliate.EInvalid, Reason: reason} }

// jsonString decodes a JSON string (not null, not a number).
func jsonString(raw json.RawMessage, field string) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", invalid("invalid_" + field)
	}
	return s, nil
}

// jsonRupiah decodes a whole, non-negative JSON number of rupiah that fits in an int64.
func jsonRupiah(raw json.RawMessage, field string) (affiliate.Rupiah, error) {
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, invalid("invalid_" + field)
		}
	}
	if len(raw) == 0 || len(raw) > 1 && raw[0] == '0' {
		return 0, invalid("invalid_" + field)
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, invalid("invalid_" + field)
	}
	return affiliate.Rupiah(n), nil
}

// noticeTimeout bounds the queuing of one order notice.
const noticeTimeout = 10 * time.Second

// notifyOrder queues the notice of a changed order in the durable outbox (through the notifier), after
// the order is stored; the outbox sends it. It does not depend on the request's context: a client that
// hangs up after its order was recorded still gets its affiliate told. A notice that cannot be queued is
// logged, never an error of the request: the order is recorded.
func (s *Server) notifyOrder(ctx context.Context, o affiliate.Order) {
	if s.cfg.Notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	name := ""
	if p, err := s.store.GetProduct(ctx, o.ProductID); err == nil {
		name = p.Name
	}
	if err := s.cfg.Notifier.Notify(ctx, o.AffiliateID, affiliate.OrderNotice(o, name)); err != nil {
		s.log.Info().Err(err).Int64("user_id", o.AffiliateID).Str("link_code", o.LinkCode).
			Str("status", string(o.Status)).Msg("order notice not queued")
	}
}

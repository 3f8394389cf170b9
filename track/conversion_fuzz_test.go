package track

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// FuzzConversionBody feeds the conversions body decoder arbitrary bytes. It must never panic, and what
// it accepts must be one JSON object of known fields only, with order_id and status as strings, amounts
// as whole non-negative numbers and occurred_at in RFC 3339, all matching the report it returns.
func FuzzConversionBody(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"INV-1","link_code":"AbCd1234","amount":150000,"status":"pending"}`,
		`{"order_id":"INV-1","click_id":"0AbCdEf12345678x","amount":1,"status":"settled","occurred_at":"2024-03-10T12:00:00+07:00"}`,
		`{"order_id":"INV-1","status":"refunded","refunded_amount":5000}`,
		`{"order_id":"a","status":"pending","amount":1.5}`,
		`{"order_id":"a","status":"pending","amount":1e3}`,
		`{"order_id":"a","status":"pending","amount":-1}`,
		`{"order_id":"a","status":"pending","amount":"1"}`,
		`{"order_id":"a","order_id":"b","status":"pending"}`,
		`{"order_id":"a","status":"pending","extra":1}`,
		`{"order_id":"a","status":"pending"} {}`,
		`{"order_id":"a","status":null}`,
		`{"order_id":"\u0000","status":"pending"}`,
		`[]`, `null`, ``, `{`, `{"order_id":"a","status":"pending"`,
	} {
		f.Add([]byte(s))
	}
	allowed := map[string]bool{fieldOrderID: true, fieldClickID: true, fieldLinkCode: true, fieldAmount: true,
		fieldStatus: true, fieldRefundedAmount: true, fieldOccurredAt: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeConversion(body)
		if err != nil {
			if affiliate.ErrorCode(err) != affiliate.EInvalid || affiliate.ErrorReason(err) == "" {
				t.Fatalf("error %v is not EInvalid with a reason", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("accepted a non-object %q: %v", body, err)
		}
		for k := range fields {
			if !allowed[k] {
				t.Fatalf("accepted unknown field %q in %q", k, body)
			}
		}
		str := func(k string) string {
			raw, ok := fields[k]
			if !ok {
				return ""
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
				t.Fatalf("accepted %s=%s, not a string", k, raw)
			}
			return s
		}
		if _, ok := fields[fieldOrderID]; !ok {
			t.Fatalf("accepted %q without order_id", body)
		}
		if _, ok := fields[fieldStatus]; !ok {
			t.Fatalf("accepted %q without status", body)
		}
		if str(fieldOrderID) != r.OrderID || str(fieldClickID) != r.ClickID || str(fieldLinkCode) != r.LinkCode ||
			str(fieldStatus) != string(r.Status) {
			t.Fatalf("report %+v does not match %q", r, body)
		}
		for k, v := range map[string]affiliate.Rupiah{fieldAmount: r.Amount, fieldRefundedAmount: r.RefundedAmount} {
			raw, ok := fields[k]
			if !ok {
				if v != 0 {
					t.Fatalf("%s=%d without the field", k, v)
				}
				continue
			}
			if v < 0 || string(bytes.TrimSpace(raw)) != strconv.FormatInt(int64(v), 10) {
				t.Fatalf("accepted %s=%s as %d", k, raw, v)
			}
		}
		if at := str(fieldOccurredAt); at != "" || !r.OccurredAt.IsZero() {
			want, err := time.Parse(time.RFC3339, at)
			if err != nil || !want.Equal(r.OccurredAt) || r.OccurredAt.Location() != time.UTC {
				t.Fatalf("accepted occurred_at %q as %v", at, r.OccurredAt)
			}
		}
	})
}

package track

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/syncbuf"
)

// noticeLog is an OrderNotifier that records what it was asked to send.
type noticeLog struct {
	mu  sync.Mutex
	got []sentNotice
}

type sentNotice struct {
	to     int64
	notice affiliate.Notice
}

func (n *noticeLog) Notify(_ context.Context, userID int64, notice affiliate.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, sentNotice{userID, notice})
	return nil
}

func (n *noticeLog) sent() []sentNotice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]sentNotice(nil), n.got...)
}

// postback is one signed POST /api/v1/conversions.
type postback struct {
	seller string // X-Keranjang-Seller (default: seller A)
	key    string // signing key (default: seller A's)
	ts     string // X-Keranjang-Timestamp (default: the fixture's now)
	sig    string // X-Keranjang-Signature (default: the right one)
	body   string
}

func (f *fixture) postback(t testing.TB, p postback) (int, []byte) {
	t.Helper()
	if p.seller == "" {
		p.seller = strconv.FormatInt(sellerA, 10)
	}
	if p.key == "" {
		p.key = f.keyA
	}
	if p.ts == "" {
		p.ts = strconv.FormatInt(f.now.Unix(), 10)
	}
	if p.sig == "" {
		p.sig = Sign(p.key, p.ts, []byte(p.body))
	}
	resp, body := f.do(t, req{method: http.MethodPost, path: "/api/v1/conversions", body: strings.NewReader(p.body),
		header: map[string]string{HeaderSeller: p.seller, HeaderTimestamp: p.ts, HeaderSignature: p.sig,
			"Content-Type": "application/json"}})
	return resp.StatusCode, body
}

// click stores a human click on l at the given time and returns its id.
func (f *fixture) click(t testing.TB, l affiliate.Link, at time.Time) string {
	t.Helper()
	id, err := affiliate.NewClickID(at, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := affiliate.Click{ID: id, Code: l.Code, ProductID: l.ProductID, AffiliateID: l.AffiliateID, SellerID: l.SellerID, At: at, Visitor: uint64(at.UnixNano())}
	if _, err := f.st.RecordClicks(t.Context(), []affiliate.Click{c}); err != nil {
		t.Fatalf("record click: %v", err)
	}
	return id
}

func (f *fixture) order(t testing.TB, id string) (affiliate.Order, bool) {
	t.Helper()
	o, err := f.st.GetOrder(t.Context(), sellerA, id)
	if affiliate.ErrorCode(err) == affiliate.ENotFound {
		return o, false
	}
	if err != nil {
		t.Fatalf("get order %s: %v", id, err)
	}
	return o, true
}

func decodeResult(t testing.TB, body []byte) ConversionResult {
	t.Helper()
	var r ConversionResult
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func waitNotices(t testing.TB, n *noticeLog, want int) []sentNotice {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.sent()) < want && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	return n.sent()
}

// TestConversionRecordsAndNotifies: a signed postback is stored with its commission and the affiliate
// told; the same postback again changes nothing and tells nobody; a settle, a partial and a full refund
// follow, each told.
func TestConversionRecordsAndNotifies(t *testing.T) {
	notices := &noticeLog{}
	var logs syncbuf.Buffer
	f := newFixture(t, func(c *Config) {
		c.Notifier = notices
		c.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel)
	})
	body := fmt.Sprintf(`{"order_id":"INV-1","link_code":%q,"amount":200000,"status":"pending"}`, f.linkAX.Code)
	status, out := f.postback(t, postback{body: body})
	if status != 200 {
		t.Fatalf("status %d: %s", status, out)
	}
	r := decodeResult(t, out)
	if !r.Changed || r.OrderID != "INV-1" || r.LinkCode != f.linkAX.Code || r.AffiliateID != affX ||
		r.ProductID != f.prodA.ID || r.Amount != 200000 || r.Status != affiliate.OrderPending ||
		r.RateBP != 1000 || r.Commission != 20000 || r.CommissionReversed != 0 || r.CreatedAt.IsZero() {
		t.Fatalf("result %+v", r)
	}
	if o, ok := f.order(t, "INV-1"); !ok || o.Commission != 20000 || o.AffiliateID != affX {
		t.Fatalf("stored %+v %v", o, ok)
	}
	got := waitNotices(t, notices, 1)
	if len(got) != 1 || got[0].to != affX || got[0].notice.Key != "order_new" ||
		fmt.Sprint(got[0].notice.Args) != "[Batik 200000 20000]" {
		t.Fatalf("notices %+v", got)
	}

	status, again := f.postback(t, postback{body: body})
	if status != 200 {
		t.Fatalf("repeat: status %d: %s", status, again)
	}
	if r2 := decodeResult(t, again); r2.Changed || r2.Commission != 20000 || !r2.UpdatedAt.Equal(r.UpdatedAt) {
		t.Fatalf("repeat changed the order: %+v", r2)
	}

	steps := []struct {
		body     string
		status   affiliate.OrderStatus
		refunded affiliate.Rupiah
		reversed affiliate.Rupiah
		key      string
	}{
		{`{"order_id":"INV-1","status":"settled"}`, affiliate.OrderSettled, 0, 0, "order_settled"},
		{`{"order_id":"INV-1","status":"refunded","refunded_amount":50000}`, affiliate.OrderRefunded, 50000, 5000, "order_refunded"},
		{`{"order_id":"INV-1","status":"refunded","refunded_amount":200000}`, affiliate.OrderRefunded, 200000, 20000, "order_refunded"},
	}
	for i, s := range steps {
		status, out := f.postback(t, postback{body: s.body})
		if status != 200 {
			t.Fatalf("%s: status %d: %s", s.body, status, out)
		}
		r := decodeResult(t, out)
		if !r.Changed || r.Status != s.status || r.RefundedAmount != s.refunded || r.CommissionReversed != s.reversed ||
			r.Commission != 20000 || r.Amount != 200000 {
			t.Fatalf("%s: %+v", s.body, r)
		}
		got := waitNotices(t, notices, 2+i)
		if len(got) != 2+i || got[1+i].notice.Key != s.key || got[1+i].to != affX {
			t.Fatalf("%s: notices %+v", s.body, got)
		}
	}
	if n := got[len(got)-1]; fmt.Sprint(waitNotices(t, notices, 4)[3].notice.Args) != "[Batik 200000 200000 20000 0]" {
		t.Fatalf("last notice %+v", n)
	}
	f.shutdown(t)
	if len(notices.sent()) != 4 {
		t.Fatalf("notices %+v, want 4", notices.sent())
	}
	for _, secret := range []string{f.keyA, Sign(f.keyA, strconv.FormatInt(f.now.Unix(), 10), []byte(body))[7:]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds a secret: %s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "conversion recorded") {
		t.Fatalf("debug log without the conversion: %s", logs.String())
	}
}

// TestConversionRefused: every refused postback gets its status and reason, and stores nothing.
func TestConversionRefused(t *testing.T) {
	f := newFixture(t, nil)
	now := f.now
	recent := f.click(t, f.linkAX, now.Add(-time.Hour))
	old := f.click(t, f.linkAX, now.Add(-8*24*time.Hour))
	unknownClick, _ := affiliate.NewClickID(now.Add(-time.Hour), rand.Reader)
	ts := strconv.FormatInt(now.Unix(), 10)
	valid := func(id string) string {
		return fmt.Sprintf(`{"order_id":%q,"link_code":%q,"amount":150000,"status":"pending"}`, id, f.linkAX.Code)
	}
	big := `{"order_id":"big","link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending","x":"` +
		strings.Repeat("a", MaxBodyBytes) + `"}`
	tests := []struct {
		name   string
		p      postback
		status int
		reason string
	}{
		{"bad signature", postback{body: valid("r1"), sig: "sha256=" + strings.Repeat("0", 64)}, 401, "unauthorized"},
		{"signature of another body", postback{body: valid("r2"), sig: Sign(f.keyA, ts, []byte(valid("r2x")))}, 401, "unauthorized"},
		{"signature of another timestamp", postback{body: valid("r3"), sig: Sign(f.keyA, strconv.FormatInt(now.Unix()-1, 10), []byte(valid("r3")))}, 401, "unauthorized"},
		{"another seller's key", postback{body: valid("r4"), key: f.keyB}, 401, "unauthorized"},
		{"unknown seller", postback{body: valid("r5"), seller: "999999"}, 401, "unauthorized"},
		{"affiliate as seller", postback{body: valid("r6"), seller: strconv.FormatInt(affX, 10)}, 401, "unauthorized"},
		{"seller id not a number", postback{body: valid("r7"), seller: "abc"}, 401, "unauthorized"},
		{"seller id zero", postback{body: valid("r8"), seller: "0"}, 401, "unauthorized"},
		{"seller id negative", postback{body: valid("r9"), seller: "-1001"}, 401, "unauthorized"},
		{"seller id with sign", postback{body: valid("r10"), seller: "+1001"}, 401, "unauthorized"},
		{"signature without prefix", postback{body: valid("r11"), sig: Sign(f.keyA, ts, []byte(valid("r11")))[7:]}, 401, "unauthorized"},
		{"signature not hex", postback{body: valid("r12"), sig: "sha256=" + strings.Repeat("z", 64)}, 401, "unauthorized"},
		{"upper-case prefix", postback{body: valid("r13"), sig: "SHA256=" + Sign(f.keyA, ts, []byte(valid("r13")))[7:]}, 401, "unauthorized"},
		{"timestamp not a number", postback{body: valid("r14"), ts: "yesterday"}, 401, "unauthorized"},
		{"stale timestamp", postback{body: valid("r15"), ts: strconv.FormatInt(now.Unix()-301, 10)}, 401, "stale_timestamp"},
		{"future timestamp", postback{body: valid("r16"), ts: strconv.FormatInt(now.Unix()+301, 10)}, 401, "stale_timestamp"},
		{"timestamp in milliseconds", postback{body: valid("r17"), ts: strconv.FormatInt(now.UnixMilli(), 10)}, 401, "stale_timestamp"},
		{"malformed json", postback{body: `{"order_id":"m1",`}, 400, "invalid_json"},
		{"not an object", postback{body: `["m2"]`}, 400, "invalid_json"},
		{"empty body", postback{body: ``}, 400, "invalid_json"},
		{"two values", postback{body: valid("m3") + valid("m3")}, 400, "invalid_json"},
		{"trailing garbage", postback{body: valid("m4") + "x"}, 400, "invalid_json"},
		{"unknown field", postback{body: `{"order_id":"m5","link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending","coupon":"X"}`}, 400, "unknown_field"},
		{"duplicate field", postback{body: `{"order_id":"m6","order_id":"m7","link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending"}`}, 400, "duplicate_field"},
		{"amount as string", postback{body: `{"order_id":"m8","link_code":"` + f.linkAX.Code + `","amount":"150000","status":"pending"}`}, 400, "invalid_amount"},
		{"amount with fraction", postback{body: `{"order_id":"m9","link_code":"` + f.linkAX.Code + `","amount":1500.5,"status":"pending"}`}, 400, "invalid_amount"},
		{"amount with exponent", postback{body: `{"order_id":"m10","link_code":"` + f.linkAX.Code + `","amount":1e5,"status":"pending"}`}, 400, "invalid_amount"},
		{"negative amount", postback{body: `{"order_id":"m11","link_code":"` + f.linkAX.Code + `","amount":-5,"status":"pending"}`}, 400, "invalid_amount"},
		{"amount too large for int64", postback{body: `{"order_id":"m12","link_code":"` + f.linkAX.Code + `","amount":99999999999999999999,"status":"pending"}`}, 400, "invalid_amount"},
		{"amount above the ceiling", postback{body: `{"order_id":"m13","link_code":"` + f.linkAX.Code + `","amount":1000000000001,"status":"pending"}`}, 400, "amount_range"},
		{"order id as number", postback{body: `{"order_id":14,"link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending"}`}, 400, "invalid_order_id"},
		{"status null", postback{body: `{"order_id":"m15","link_code":"` + f.linkAX.Code + `","amount":1,"status":null}`}, 400, "invalid_status"},
		{"unknown status", postback{body: `{"order_id":"m16","link_code":"` + f.linkAX.Code + `","amount":1,"status":"paid"}`}, 400, "status"},
		{"missing status", postback{body: `{"order_id":"m17","link_code":"` + f.linkAX.Code + `","amount":1}`}, 400, "missing_status"},
		{"missing order id", postback{body: `{"link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending"}`}, 400, "missing_order_id"},
		{"bad occurred_at", postback{body: `{"order_id":"m18","link_code":"` + f.linkAX.Code + `","amount":1,"status":"pending","occurred_at":"10/03/2024"}`}, 400, "invalid_occurred_at"},
		{"both refs", postback{body: `{"order_id":"m19","link_code":"` + f.linkAX.Code + `","click_id":"` + recent + `","amount":1,"status":"pending"}`}, 400, "ref_both"},
		{"missing ref on a new order", postback{body: `{"order_id":"m20","amount":150000,"status":"pending"}`}, 0, ""},
		{"unknown link", postback{body: `{"order_id":"n1","link_code":"Zz9Zz9Zz","amount":1000,"status":"pending"}`}, 404, "order_link_not_found"},
		{"unknown click", postback{body: `{"order_id":"n2","click_id":"` + unknownClick + `","amount":1000,"status":"pending"}`}, 404, "click_not_found"},
		{"another seller's link", postback{body: `{"order_id":"n3","link_code":"` + f.linkBX.Code + `","amount":1000,"status":"pending"}`}, 404, "order_link_not_found"},
		{"outside the window", postback{body: `{"order_id":"w1","click_id":"` + old + `","amount":1000,"status":"pending"}`}, 422, "outside_window"},
		{"before the click", postback{body: `{"order_id":"w2","click_id":"` + recent + `","amount":1000,"status":"pending","occurred_at":"` + now.Add(-2*time.Hour).Format(time.RFC3339) + `"}`}, 422, "order_before_click"},
		{"oversize body", postback{body: big}, 413, "request_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.postback(t, tt.p)
			if tt.status == 0 { // a new order without a reference is refused, as missing (404) or malformed (400)
				if status != 400 && status != 404 {
					t.Fatalf("status %d: %s", status, body)
				}
			} else if status != tt.status || strings.TrimSpace(string(body)) != `{"error":"`+tt.reason+`"}` {
				t.Fatalf("status %d %s, want %d %q", status, body, tt.status, tt.reason)
			}
			var in map[string]any
			if json.Unmarshal([]byte(tt.p.body), &in) == nil {
				if id, ok := in["order_id"].(string); ok {
					if o, found := f.order(t, id); found {
						t.Fatalf("a refused postback stored %+v", o)
					}
				}
			}
		})
	}
	// The order of a click inside the window counts.
	status, body := f.postback(t, postback{body: `{"order_id":"ok1","click_id":"` + recent + `","amount":1000,"status":"pending"}`})
	if status != 200 || decodeResult(t, body).ClickID != recent {
		t.Fatalf("inside the window: %d %s", status, body)
	}
}

// TestConversionTransitions: impossible transitions are 409 and leave the order as it was.
func TestConversionTransitions(t *testing.T) {
	f := newFixture(t, nil)
	send := func(body string) (int, string) {
		status, out := f.postback(t, postback{body: body})
		return status, strings.TrimSpace(string(out))
	}
	code := f.linkAY.Code
	if s, out := send(`{"order_id":"T1","link_code":"` + code + `","amount":100000,"status":"cancelled"}`); s != 200 {
		t.Fatalf("cancelled at once: %d %s", s, out)
	}
	if s, out := send(`{"order_id":"T2","link_code":"` + code + `","amount":100000,"status":"settled"}`); s != 200 {
		t.Fatalf("settled at once: %d %s", s, out)
	}
	tests := []struct {
		name, body string
		status     int
		reason     string
	}{
		{"cancelled to settled", `{"order_id":"T1","status":"settled"}`, 409, "transition"},
		{"cancelled to pending", `{"order_id":"T1","status":"pending"}`, 409, "transition"},
		{"settled to pending", `{"order_id":"T2","status":"pending"}`, 409, "transition"},
		{"settled to cancelled", `{"order_id":"T2","status":"cancelled"}`, 409, "transition"},
		{"another amount", `{"order_id":"T2","link_code":"` + code + `","amount":90000,"status":"settled"}`, 409, "amount_changed"},
		{"refund above the amount", `{"order_id":"T2","status":"refunded","refunded_amount":100001}`, 409, "refund_exceeds_amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.order(t, strings.Split(strings.Split(tt.body, `"order_id":"`)[1], `"`)[0])
			s, out := send(tt.body)
			if s != tt.status || out != `{"error":"`+tt.reason+`"}` {
				t.Fatalf("%d %s, want %d %s", s, out, tt.status, tt.reason)
			}
			after, _ := f.order(t, before.OrderID)
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("the order changed: %+v → %+v", before, after)
			}
		})
	}
}

// TestDecodeConversion checks the decoder alone on what it must accept.
func TestDecodeConversion(t *testing.T) {
	r, err := DecodeConversion([]byte(` {"status":"refunded","refunded_amount":0,"amount":0,"order_id":"A-1","click_id":"c","occurred_at":"2024-03-10T12:00:00+07:00"} `))
	if err != nil {
		t.Fatal(err)
	}
	want := affiliate.OrderReport{OrderID: "A-1", ClickID: "c", Status: affiliate.OrderRefunded,
		OccurredAt: time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)}
	if fmt.Sprint(r) != fmt.Sprint(want) || r.OccurredAt.Location() != time.UTC {
		t.Fatalf("got %+v, want %+v", r, want)
	}
}

package affiliate

import (
	"math/big"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var orderStatuses = []OrderStatus{OrderPending, OrderSettled, OrderRefunded, OrderCancelled}

// genAmount draws an order amount, often near the edges of its range.
func genAmount(t *rapid.T, label string) Rupiah {
	return Rupiah(rapid.OneOf(
		rapid.Int64Range(1, 1_000_000),
		rapid.Int64Range(1, int64(MaxOrderAmount)),
		rapid.Int64Range(int64(MaxOrderAmount)-1000, int64(MaxOrderAmount)),
	).Draw(t, label))
}

// genRefund draws a refunded amount for an order of amount: none (a full refund), a part, all of it, or
// (rarely) too much.
func genRefund(t *rapid.T, amount Rupiah, label string) Rupiah {
	switch rapid.IntRange(0, 4).Draw(t, label+"_kind") {
	case 0:
		return 0
	case 1, 2:
		return Rupiah(rapid.Int64Range(1, int64(amount)).Draw(t, label))
	case 3:
		return amount
	}
	return amount + 1
}

// genLaterReport draws a later report of o: any status, the stored amount, none or (rarely) another,
// a refund that may be partial, full, too large or (rarely) with the wrong status, and sometimes the
// order's own click or link again.
func genLaterReport(t *rapid.T, o Order) OrderReport {
	r := OrderReport{SellerID: o.SellerID, OrderID: o.OrderID}
	r.Status = rapid.SampledFrom(orderStatuses).Draw(t, "status")
	switch rapid.IntRange(0, 9).Draw(t, "amount_kind") {
	case 0:
		r.Amount = o.Amount + 1
		if r.Amount > MaxOrderAmount {
			r.Amount = o.Amount - 1
		}
	case 1, 2, 3, 4:
		r.Amount = o.Amount
	}
	if r.Status == OrderRefunded {
		r.RefundedAmount = genRefund(t, o.Amount, "refund")
		if r.Amount != 0 && r.RefundedAmount > r.Amount {
			r.RefundedAmount = r.Amount
		}
	} else if rapid.IntRange(0, 19).Draw(t, "stray_refund") == 0 {
		r.RefundedAmount = 1
	}
	if r.Amount != 0 && rapid.Bool().Draw(t, "with_ref") {
		r.ClickID, r.LinkCode = o.ClickID, ""
		if o.ClickID == "" {
			r.LinkCode = o.LinkCode
		}
	}
	return r
}

// checkOrder checks what must hold for every order, whatever happened to it.
func checkOrder(t *rapid.T, o Order) {
	if o.Commission < 0 || int64(o.Commission)*10000 > int64(o.Amount)*int64(MaxRate) {
		t.Fatalf("commission %d above 80%% of %d", o.Commission, o.Amount)
	}
	if o.Commission != Commission(o.Amount, o.Rate) {
		t.Fatalf("commission %d is not %d × %d bp", o.Commission, o.Amount, o.Rate)
	}
	if o.Reversed < 0 || o.Reversed > o.Commission {
		t.Fatalf("reversed %d outside 0..%d", o.Reversed, o.Commission)
	}
	if o.RefundedAmount < 0 || o.RefundedAmount > o.Amount {
		t.Fatalf("refunded %d outside 0..%d", o.RefundedAmount, o.Amount)
	}
	if (o.RefundedAmount > 0) != (o.Status == OrderRefunded) {
		t.Fatalf("refunded %d with status %s", o.RefundedAmount, o.Status)
	}
	if o.Reversed != Reversal(o.Commission, o.RefundedAmount, o.Amount) {
		t.Fatalf("reversed %d is not pro rata", o.Reversed)
	}
	c := o.Counts()
	if c.CommissionPending+c.CommissionSettled-c.CommissionReversed != o.Net() {
		t.Fatalf("net %d differs from its counts %+v", o.Net(), c)
	}
}

type applied struct {
	order  int
	report OrderReport
}

// TestOrderEventsProperty runs random report sequences over a handful of orders of a few affiliates and
// checks the money rules and the way the store keeps aggregates (adding the difference of Counts).
func TestOrderEventsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		now := orderNow
		nOrders := rapid.IntRange(1, 6).Draw(t, "orders")
		var (
			orders []Order
			log    []applied
			total  OrderCounts
			byAff  = map[int64]OrderCounts{}
		)
		for i := range nOrders {
			l := Link{Code: "Link000" + strconv.Itoa(i%10), SellerID: 10, ProductID: uint64(i%3 + 1),
				AffiliateID: rapid.Int64Range(1, 3).Draw(t, "affiliate")}
			productRate := BasisPoints(rapid.IntRange(int(MinRate), int(MaxRate)).Draw(t, "rate"))
			if rapid.Bool().Draw(t, "kept") {
				l.KeptRate = BasisPoints(rapid.IntRange(int(MinRate), int(MaxRate)).Draw(t, "kept_rate"))
				l.KeptUntil = now.Add(time.Duration(rapid.IntRange(-48, 48).Draw(t, "kept_hours")) * time.Hour)
			}
			r := OrderReport{SellerID: 10, OrderID: "ORD-" + strconv.Itoa(i), Amount: genAmount(t, "amount")}
			r.Status = rapid.SampledFrom(orderStatuses).Draw(t, "first_status")
			if r.Status == OrderRefunded {
				r.RefundedAmount = min(genRefund(t, r.Amount, "first_refund"), r.Amount)
			}
			var c *Click
			if rapid.Bool().Draw(t, "by_click") {
				c = &Click{ID: "0000000ClickId0" + strconv.Itoa(i%10), Code: l.Code, SellerID: 10,
					At: now.Add(-time.Duration(rapid.Int64Range(0, int64(DefaultAttributionWindow)).Draw(t, "click_age")))}
				r.ClickID = c.ID
			} else {
				r.LinkCode = l.Code
			}
			o, err := NewOrder(r, l, c, productRate, DefaultAttributionWindow, now)
			if err != nil {
				t.Fatalf("new order %+v: %v", r, err)
			}
			if o.Rate != EffectiveRate(productRate, l, now) {
				t.Fatalf("rate %d, want the effective %d", o.Rate, EffectiveRate(productRate, l, now))
			}
			checkOrder(t, o)
			orders = append(orders, o)
			log = append(log, applied{i, r})
			total.Add(o.Counts())
			a := byAff[o.AffiliateID]
			a.Add(o.Counts())
			byAff[o.AffiliateID] = a
		}

		steps := rapid.IntRange(0, 40).Draw(t, "steps")
		for range steps {
			now = now.Add(time.Duration(rapid.IntRange(1, 3600).Draw(t, "seconds")) * time.Second)
			i := rapid.IntRange(0, nOrders-1).Draw(t, "which")
			var r OrderReport
			if len(log) > 0 && rapid.IntRange(0, 4).Draw(t, "repeat") == 0 {
				r = log[rapid.IntRange(0, len(log)-1).Draw(t, "repeat_of")].report
				i = orderIndex(orders, r.OrderID)
			} else {
				r = genLaterReport(t, orders[i])
			}
			before := orders[i]
			after, changed, err := ApplyReport(before, r, now)
			if err != nil || !changed {
				if changed || after != before {
					t.Fatalf("report %+v (error %v) changed %+v into %+v", r, err, before, after)
				}
			}
			if err != nil && ErrorCode(err) != EConflict && ErrorCode(err) != EInvalid {
				t.Fatalf("report %+v: unexpected error %v", r, err)
			}
			if changed && (after.Commission != before.Commission || after.Rate != before.Rate || after.Amount != before.Amount) {
				t.Fatalf("report %+v changed what an order earns: %+v → %+v", r, before, after)
			}
			checkOrder(t, after)
			d := after.Counts().Sub(before.Counts())
			total.Add(d)
			a := byAff[after.AffiliateID]
			a.Add(d)
			byAff[after.AffiliateID] = a
			orders[i] = after
			log = append(log, applied{i, r})
		}

		var sum OrderCounts
		sumAff := map[int64]OrderCounts{}
		netAff := map[int64]Rupiah{}
		for _, o := range orders {
			sum.Add(o.Counts())
			a := sumAff[o.AffiliateID]
			a.Add(o.Counts())
			sumAff[o.AffiliateID] = a
			netAff[o.AffiliateID] += o.Net()
		}
		if sum != total {
			t.Fatalf("aggregate %+v kept by differences, %+v summed over orders", total, sum)
		}
		for aff, c := range byAff {
			if sumAff[aff] != c {
				t.Fatalf("affiliate %d: aggregate %+v, orders sum to %+v", aff, c, sumAff[aff])
			}
			if got := c.CommissionPending + c.CommissionSettled - c.CommissionReversed; got != netAff[aff] {
				t.Fatalf("affiliate %d: pending + settled − reversed = %d, orders net %d", aff, got, netAff[aff])
			}
		}

		// Replaying any suffix of everything reported, accepted or not, changes nothing.
		from := rapid.IntRange(0, len(log)-1).Draw(t, "replay_from")
		for _, e := range log[from:] {
			now = now.Add(time.Minute)
			before := orders[e.order]
			after, changed, _ := ApplyReport(before, e.report, now)
			if changed || after != before {
				t.Fatalf("replaying %+v changed %+v into %+v", e.report, before, after)
			}
		}
	})
}

func orderIndex(orders []Order, id string) int {
	for i, o := range orders {
		if o.OrderID == id {
			return i
		}
	}
	panic("no order " + id)
}

// TestReversalProperty compares the 128-bit reversal with math/big over the whole range of amounts.
func TestReversalProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amount := genAmount(t, "amount")
		rate := BasisPoints(rapid.IntRange(int(MinRate), int(MaxRate)).Draw(t, "rate"))
		commission := Commission(amount, rate)
		refunded := Rupiah(rapid.Int64Range(0, int64(amount)).Draw(t, "refunded"))
		want := new(big.Int).Mul(big.NewInt(int64(commission)), big.NewInt(int64(refunded)))
		want.Quo(want, big.NewInt(int64(amount)))
		got := Reversal(commission, refunded, amount)
		if want.Int64() != int64(got) || got > commission {
			t.Fatalf("Reversal(%d, %d, %d) = %d, want %s", commission, refunded, amount, got, want)
		}
	})
}

func FuzzValidateOrderReport(f *testing.F) {
	f.Add("INV/2026/03/0001", "", "AbCd1234", int64(150_000), int64(0), "pending", int64(0))
	f.Add("A-1", "0AbCdEf123456789", "", int64(1), int64(1), "refunded", int64(-3600))
	f.Add("", "", "", int64(0), int64(0), "", int64(0))
	f.Add("x", "", "", int64(0), int64(-1), "settled", int64(301))
	f.Add("é", "0AbCdEf12345678\x00", "AbCd123\xff", int64(-1<<63), int64(1<<63-1), "CANCELLED", int64(1<<62))
	f.Fuzz(func(t *testing.T, orderID, clickID, linkCode string, amount, refunded int64, status string, offset int64) {
		r := OrderReport{SellerID: 10, OrderID: orderID, ClickID: clickID, LinkCode: linkCode,
			Amount: Rupiah(amount), RefundedAmount: Rupiah(refunded), Status: OrderStatus(status)}
		if offset != 0 {
			r.OccurredAt = orderNow.Add(time.Duration(offset) * time.Second)
		}
		err := ValidateOrderReport(r, orderNow)
		if err != nil {
			if ErrorCode(err) != EInvalid || ErrorReason(err) == "" {
				t.Fatalf("error %v is not EInvalid with a reason", err)
			}
			return
		}
		if !ValidOrderID(orderID) || !r.Status.Valid() || amount < 0 || amount > int64(MaxOrderAmount) ||
			refunded < 0 || (amount > 0 && refunded > amount) || (clickID != "" && linkCode != "") {
			t.Fatalf("accepted a bad report %+v", r)
		}
		if st, ok := ParseOrderStatus(status); !ok || st != r.Status {
			t.Fatalf("valid status %q does not parse", status)
		}
	})
}

package affiliate

import (
	"reflect"
	"strconv"
	"testing"
)

func TestOrderNotice(t *testing.T) {
	o := Order{SellerID: 7, OrderID: "INV-1", Amount: 200000, Commission: 20000}
	tests := []struct {
		status   OrderStatus
		refunded Rupiah
		reversed Rupiah
		want     Notice
	}{
		{OrderPending, 0, 0, Notice{Key: "order_new", Args: []any{"Batik", Rupiah(200000), Rupiah(20000)}}},
		{OrderSettled, 0, 0, Notice{Key: "order_settled", Args: []any{"Batik", Rupiah(200000), Rupiah(20000)}}},
		{OrderRefunded, 50000, 5000, Notice{Key: "order_refunded", Args: []any{"Batik", Rupiah(200000), Rupiah(50000), Rupiah(5000), Rupiah(15000)}}},
		{OrderRefunded, 200000, 20000, Notice{Key: "order_refunded", Args: []any{"Batik", Rupiah(200000), Rupiah(200000), Rupiah(20000), Rupiah(0)}}},
		{OrderCancelled, 0, 0, Notice{Key: "order_cancelled", Args: []any{"Batik", Rupiah(200000), Rupiah(20000)}}},
	}
	for _, tt := range tests {
		o := o
		o.Status, o.RefundedAmount, o.Reversed = tt.status, tt.refunded, tt.reversed
		got := OrderNotice(o, "Batik")
		wantID := "order:7:INV-1:" + string(tt.status)
		if tt.status == OrderRefunded {
			wantID += ":" + strconv.FormatInt(int64(tt.refunded), 10)
		}
		if got.ID != wantID {
			t.Errorf("%s: id %q, want %q", tt.status, got.ID, wantID)
		}
		got.ID = ""
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.status, got, tt.want)
		}
	}
}

package affiliate

import "fmt"

// OrderNotice is what the affiliate of an order is told after a report changed it, chosen by the order's
// new status: a new (pending) order, a settled one, a refund (full or partial: the refunded amount and
// the commission taken back) or a cancellation. product is the product's name. Every transport that
// records orders (the conversions API, the seller's commands, a CSV import) sends the same notices.
//
// Its ID is OrderNoticeID, so the same change reported twice, by any transport, is told once.
func OrderNotice(o Order, product string) Notice {
	n := Notice{Key: "order_new", Args: []any{product, o.Amount, o.Commission}}
	switch o.Status {
	case OrderSettled:
		n = Notice{Key: "order_settled", Args: []any{product, o.Amount, o.Commission}}
	case OrderRefunded:
		n = Notice{Key: "order_refunded", Args: []any{product, o.Amount, o.RefundedAmount, o.Reversed, o.Commission - o.Reversed}}
	case OrderCancelled:
		n = Notice{Key: "order_cancelled", Args: []any{product, o.Amount, o.Commission}}
	}
	n.ID = OrderNoticeID(o)
	return n
}

// OrderNoticeID is the idempotency key of an order's notice: "order:<seller>:<order_id>:<status>", and
// for a refund also the refunded amount, since a second partial refund is news of its own.
func OrderNoticeID(o Order) string {
	id := fmt.Sprintf("order:%d:%s:%s", o.SellerID, o.OrderID, o.Status)
	if o.Status == OrderRefunded {
		id += fmt.Sprintf(":%d", o.RefundedAmount)
	}
	return id
}

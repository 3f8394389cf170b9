package affiliate

// OrderNotice is what the affiliate of an order is told after a report changed it, chosen by the order's
// new status: a new (pending) order, a settled one, a refund (full or partial: the refunded amount and
// the commission taken back) or a cancellation. product is the product's name. Every transport that
// records orders (the conversions API, the seller's commands, a CSV import) sends the same notices.
func OrderNotice(o Order, product string) Notice {
	switch o.Status {
	case OrderSettled:
		return Notice{Key: "order_settled", Args: []any{product, o.Amount, o.Commission}}
	case OrderRefunded:
		return Notice{Key: "order_refunded", Args: []any{product, o.Amount, o.RefundedAmount, o.Reversed, o.Commission - o.Reversed}}
	case OrderCancelled:
		return Notice{Key: "order_cancelled", Args: []any{product, o.Amount, o.Commission}}
	}
	return Notice{Key: "order_new", Args: []any{product, o.Amount, o.Commission}}
}

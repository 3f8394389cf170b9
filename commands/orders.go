package commands

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// ---- a seller's orders by hand ----

// orderRoutes are the order and earnings commands. The order commands answer only in a private chat:
// their replies name affiliates and money.
func (h *Handler) orderRoutes() []*route {
	return []*route{
		{name: "order", role: seller, private: true, menu: true, run: h.orderCmd},
		{name: "settle", role: seller, private: true, menu: true, run: h.settleCmd},
		{name: "refund", role: seller, private: true, menu: true, run: h.refundCmd},
		{name: "cancelorder", role: seller, private: true, menu: true, run: h.cancelOrderCmd},
		{name: "export", role: seller, private: true, menu: true, run: h.export},
		{name: "earnings", role: anyone, menu: true, run: h.earnings},
	}
}

// orderCmd records a new order: /order <link_code|click_id> <order_id> <amount>. The amount may be
// written with spaces ("Rp 150.000").
func (h *Handler) orderCmd(ctx context.Context, c *Call) error {
	f := strings.Fields(c.Args)
	if len(f) < 3 {
		return c.ReplyKey(ctx, "order_usage")
	}
	r := affiliate.OrderReport{SellerID: c.User.ID, OrderID: f[1], Status: affiliate.OrderPending}
	if err := setRef(&r, f[0]); err != nil {
		return err
	}
	amount, err := affiliate.ParseRupiah(strings.Join(f[2:], " "))
	if err != nil {
		return err
	}
	r.Amount = amount
	return h.recordOrder(ctx, c, r)
}

// settleCmd settles a pending order: /settle <order_id>.
func (h *Handler) settleCmd(ctx context.Context, c *Call) error {
	f := strings.Fields(c.Args)
	if len(f) != 1 {
		return c.ReplyKey(ctx, "settle_usage")
	}
	return h.recordOrder(ctx, c, affiliate.OrderReport{SellerID: c.User.ID, OrderID: f[0], Status: affiliate.OrderSettled})
}

// refundCmd records a refund: /refund <order_id> [amount]. Without an amount the whole order is
// refunded; an amount is what has been refunded so far in total, so a second partial refund names the
// sum of both.
func (h *Handler) refundCmd(ctx context.Context, c *Call) error {
	f := strings.Fields(c.Args)
	if len(f) < 1 {
		return c.ReplyKey(ctx, "refund_usage")
	}
	r := affiliate.OrderReport{SellerID: c.User.ID, OrderID: f[0], Status: affiliate.OrderRefunded}
	if len(f) > 1 {
		amount, err := affiliate.ParseRupiah(strings.Join(f[1:], " "))
		if err != nil {
			return err
		}
		r.RefundedAmount = amount
	} else {
		o, err := h.deps.Orders.GetOrder(ctx, c.User.ID, r.OrderID)
		if err != nil {
			return err
		}
		r.RefundedAmount = o.Amount
	}
	return h.recordOrder(ctx, c, r)
}

// cancelOrderCmd cancels a pending order: /cancelorder <order_id>.
func (h *Handler) cancelOrderCmd(ctx context.Context, c *Call) error {
	f := strings.Fields(c.Args)
	if len(f) != 1 {
		return c.ReplyKey(ctx, "cancelorder_usage")
	}
	return h.recordOrder(ctx, c, affiliate.OrderReport{SellerID: c.User.ID, OrderID: f[0], Status: affiliate.OrderCancelled})
}

// setRef puts a link code (8 characters) or a click id (16) into a report; anything else is refused.
// Their form is checked by the rules; here only their length tells them apart.
func setRef(r *affiliate.OrderReport, ref string) error {
	switch len(ref) {
	case affiliate.LinkCodeLen:
		r.LinkCode = ref
	case affiliate.ClickIDLen:
		r.ClickID = ref
	default:
		return affiliate.Errorf(affiliate.EInvalid, "order_ref")
	}
	return nil
}

// recordOrder stores one report, replies with the order as it now stands and, when the report changed
// it, tells the affiliate.
func (h *Handler) recordOrder(ctx context.Context, c *Call, r affiliate.OrderReport) error {
	o, changed, err := h.deps.Orders.RecordOrder(ctx, r)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("order_id", o.OrderID).Str("status", string(o.Status)).Bool("changed", changed).
		Str("link_code", o.LinkCode).Msg("order recorded")
	key := "order_unchanged"
	if changed {
		key = "order_recorded"
	}
	text := c.T(key) + "\n\n" + h.orderText(ctx, c, o)
	if err := c.Reply(ctx, text); err != nil {
		return err
	}
	if changed {
		h.notifyOrder(ctx, o)
	}
	return nil
}

// orderText shows an order to its seller: status, product, affiliate, money.
func (h *Handler) orderText(ctx context.Context, c *Call, o affiliate.Order) string {
	name := h.affiliateName(ctx, c.Lang, o.AffiliateID)
	text := c.T("order_state", bot.Code(o.OrderID), c.T("order_status."+string(o.Status)),
		o.ProductID, bot.Escape(h.productName(ctx, o.ProductID)), bot.Escape(name), bot.Code(o.LinkCode),
		i18n.Money(o.Amount), i18n.Rate(c.Lang, o.Rate), i18n.Money(o.Commission))
	if o.RefundedAmount > 0 || o.Reversed > 0 {
		text += "\n" + c.T("order_state_refund", i18n.Money(o.RefundedAmount), i18n.Money(o.Reversed))
	}
	return text
}

// productName is a product's name, or "#id" when it cannot be read.
func (h *Handler) productName(ctx context.Context, id uint64) string {
	if p, err := h.deps.Catalogue.GetProduct(ctx, id); err == nil {
		return p.Name
	}
	return "#" + strconv.FormatUint(id, 10)
}

// affiliateName is an affiliate's display name, or the erased-user text.
func (h *Handler) affiliateName(ctx context.Context, lang affiliate.Lang, id int64) string {
	if u, err := h.deps.Accounts.GetUser(ctx, id); err == nil && u.DisplayName() != "" {
		return u.DisplayName()
	}
	return i18n.T(lang, "affiliate_erased")
}

// notifyOrder tells the affiliate what became of an order on their link (affiliate.OrderNotice: the same
// notice as for an order reported over the API).
func (h *Handler) notifyOrder(ctx context.Context, o affiliate.Order) {
	if o.AffiliateID == 0 {
		return
	}
	h.notify(ctx, o.AffiliateID, affiliate.OrderNotice(o, h.productName(ctx, o.ProductID)))
}

// Orders records a seller's orders and reads them back.
type Orders interface {
	RecordOrder(ctx context.Context, r affiliate.OrderReport) (affiliate.Order, bool, error)
	ImportOrders(ctx context.Context, sellerID int64, reports []affiliate.OrderReport) ([]affiliate.OrderResult, error)
	GetOrder(ctx context.Context, sellerID int64, orderID string) (affiliate.Order, error)
	SellerOrders(ctx context.Context, sellerID int64, from, to time.Time, after affiliate.OrderCursor, limit int) ([]affiliate.Order, error)
}

package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// editFields are the editable fields with their Indonesian aliases.
var editFields = map[string]string{
	"name": "name", "nama": "name",
	"price": "price", "harga": "price",
	"rate": "rate", "komisi": "rate",
	"url": "url", "link": "url",
}

// editProductCmd: /editproduct <id> <name|price|rate|url> <value>.
func (h *Handler) editProductCmd(ctx context.Context, c *Call) error {
	fields := strings.SplitN(strings.TrimSpace(c.Args), " ", 3)
	if len(fields) < 3 {
		return c.ReplyKey(ctx, "edit_usage")
	}
	id, ok := parseProductID(fields[0])
	field, known := editFields[strings.ToLower(fields[1])]
	if !ok || !known {
		return c.ReplyKey(ctx, "edit_usage")
	}
	return h.applyEdit(ctx, c, id, field, fields[2])
}

// editButton: "ed:<id>" shows the field buttons; "ed:<id>:<field>" asks for the new value.
func (h *Handler) editButton(ctx context.Context, c *Call, arg string) error {
	idText, field, hasField := strings.Cut(arg, ":")
	id, ok := parseProductID(idText)
	if !ok {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	p, err := h.deps.Catalogue.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if p.SellerID != c.User.ID {
		return affiliate.ErrProductNotFound
	}
	if !hasField {
		return c.Reply(ctx, c.T("edit_pick", p.ID, bot.Escape(p.Name)), bot.Keyboard{
			{bot.Data(c.T("field_name"), fmt.Sprintf("ed:%d:name", id)), bot.Data(c.T("field_price"), fmt.Sprintf("ed:%d:price", id))},
			{bot.Data(c.T("field_rate"), fmt.Sprintf("ed:%d:rate", id)), bot.Data(c.T("field_url"), fmt.Sprintf("ed:%d:url", id))},
		})
	}
	if _, known := editFields[field]; !known {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	f := affiliate.Flow{UserID: c.User.ID, Name: flowEditProduct, Step: field,
		Data: map[string]string{"id": strconv.FormatUint(id, 10)}}
	if err := h.deps.Flows.SaveFlow(ctx, f); err != nil {
		return err
	}
	return c.ReplyKey(ctx, "edit_ask_"+field, p.ID, bot.Escape(p.Name))
}

// editProductStep takes the new value of the field chosen with the Edit buttons.
func (h *Handler) editProductStep(ctx context.Context, c *Call, f affiliate.Flow) error {
	id, ok := parseProductID(f.Data["id"])
	if _, known := editFields[f.Step]; !ok || !known {
		_ = h.deps.Flows.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	err := h.applyEdit(ctx, c, id, f.Step, c.Text)
	if affiliate.ErrorCode(err) == affiliate.EInvalid {
		return c.Reply(ctx, i18n.Reason(c.Lang, err)+"\n\n"+c.T("edit_again"))
	}
	if err != nil {
		_ = h.deps.Flows.DeleteFlow(ctx, c.User.ID)
		return err
	}
	return h.deps.Flows.DeleteFlow(ctx, c.User.ID)
}

// applyEdit changes one field of the seller's own product. A rate change is applied per §3 and the
// affiliates are told: a raise at once for everyone, a cut with the date until which they keep their rate.
func (h *Handler) applyEdit(ctx context.Context, c *Call, id uint64, field, value string) error {
	value = strings.TrimSpace(value)
	var apply func(p *affiliate.Product) error
	switch field {
	case "name":
		name, err := affiliate.ValidateProductName(value)
		if err != nil {
			return err
		}
		apply = func(p *affiliate.Product) error { p.Name = name; return nil }
	case "price":
		v, err := parsePrice(value)
		if err != nil {
			return err
		}
		apply = func(p *affiliate.Product) error { p.Price = v; return nil }
	case "rate":
		v, err := parseRate(value)
		if err != nil {
			return err
		}
		apply = func(p *affiliate.Product) error { p.Rate = v; return nil }
	case "url":
		u, err := affiliate.ValidateShopURL(value, h.cfg.ShopHosts)
		if err != nil {
			return err
		}
		apply = func(p *affiliate.Product) error { p.URL = u; return nil }
	}
	before, err := h.deps.Catalogue.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if before.SellerID != c.User.ID {
		return affiliate.ErrProductNotFound
	}
	p, kept, err := h.deps.Catalogue.UpdateProduct(ctx, id, c.User.ID, apply)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", id).Str("field", field).Msg("product edited")
	if field == "rate" && p.Rate != before.Rate {
		h.tellRateChange(ctx, before, p, kept)
	}
	return c.ReplyKey(ctx, "edit_done", p.ID, bot.Escape(p.Name), i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate), bot.Escape(p.URL))
}

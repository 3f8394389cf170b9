package commands

import (
	"context"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// Flow names.
const (
	flowAddProduct  = "addproduct"
	flowEditProduct = "editproduct"
)

// Steps of the guided /addproduct.
const (
	stepName    = "name"
	stepPrice   = "price"
	stepRate    = "rate"
	stepURL     = "url"
	stepPhoto   = "photo"
	stepConfirm = "confirm"
)

// addProduct starts the guided flow, or, with "name | price | rate | url", adds the product at once.
func (h *Handler) addProduct(ctx context.Context, c *Call) error {
	args := strings.TrimSpace(c.Args)
	if args == "" {
		f := affiliate.Flow{UserID: c.User.ID, Name: flowAddProduct, Step: stepName, Data: map[string]string{}}
		if err := h.deps.Flows.SaveFlow(ctx, f); err != nil {
			return err
		}
		return c.ReplyKey(ctx, "ap_ask_name")
	}
	parts := strings.Split(args, "|")
	if len(parts) != 4 {
		return c.ReplyKey(ctx, "ap_oneline_usage")
	}
	p, err := h.parseProduct(parts[0], parts[1], parts[2], parts[3])
	if err != nil {
		return err
	}
	if c.Photo != nil {
		p.PhotoFileID = c.Photo.FileID
	}
	return h.createProduct(ctx, c, p)
}

// parseProduct checks the four fields of a product, naming the first one that is wrong.
func (h *Handler) parseProduct(name, price, rate, url string) (affiliate.Product, error) {
	var p affiliate.Product
	var err error
	if p.Name, err = affiliate.ValidateProductName(name); err != nil {
		return p, err
	}
	if p.Price, err = parsePrice(price); err != nil {
		return p, err
	}
	if p.Rate, err = parseRate(rate); err != nil {
		return p, err
	}
	if p.URL, err = affiliate.ValidateShopURL(url, h.cfg.ShopHosts); err != nil {
		return p, err
	}
	return p, nil
}

func parsePrice(s string) (affiliate.Rupiah, error) {
	v, err := affiliate.ParseRupiah(s)
	if err != nil {
		return 0, err
	}
	return v, affiliate.ValidatePrice(v)
}

func parseRate(s string) (affiliate.BasisPoints, error) {
	v, err := affiliate.ParseRate(s)
	if err != nil {
		return 0, err
	}
	return v, affiliate.ValidateRate(v)
}

func (h *Handler) createProduct(ctx context.Context, c *Call, p affiliate.Product) error {
	p.SellerID = c.User.ID
	p, err := h.deps.Catalogue.CreateProduct(ctx, p)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", p.ID).Msg("product added")
	return c.ReplyKey(ctx, "ap_done", p.ID, bot.Escape(p.Name), i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate),
		i18n.Money(affiliate.Commission(p.Price, p.Rate)), bot.Code(h.deepLink(p.ID)))
}

// addProductStep takes the next answer of the guided flow; a bad answer is explained and asked again.
func (h *Handler) addProductStep(ctx context.Context, c *Call, f affiliate.Flow) error {
	if f.Data == nil {
		f.Data = map[string]string{}
	}
	text := strings.TrimSpace(c.Text)
	next := ""
	var err error
	switch f.Step {
	case stepName:
		var name string
		if name, err = affiliate.ValidateProductName(text); err == nil {
			f.Data[stepName], next = name, stepPrice
		}
	case stepPrice:
		var v affiliate.Rupiah
		if v, err = parsePrice(text); err == nil {
			f.Data[stepPrice], next = strconv.FormatInt(int64(v), 10), stepRate
		}
	case stepRate:
		var v affiliate.BasisPoints
		if v, err = parseRate(text); err == nil {
			f.Data[stepRate], next = strconv.Itoa(int(v)), stepURL
		}
	case stepURL:
		var u string
		if u, err = affiliate.ValidateShopURL(text, h.cfg.ShopHosts); err == nil {
			f.Data[stepURL], next = u, stepPhoto
		}
	case stepPhoto:
		switch {
		case c.Photo != nil:
			f.Data[stepPhoto], next = c.Photo.FileID, stepConfirm
		case isSkip(text):
			next = stepConfirm
		default:
			return c.Reply(ctx, c.T("ap_ask_photo"), skipKeyboard(c))
		}
	case stepConfirm:
		return h.askConfirm(ctx, c, f)
	default:
		_ = h.deps.Flows.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	if err != nil {
		if affiliate.ErrorCode(err) != affiliate.EInvalid {
			return err
		}
		return c.Reply(ctx, i18n.Reason(c.Lang, err)+"\n\n"+h.askText(c, f.Step))
	}
	f.Step = next
	if err := h.deps.Flows.SaveFlow(ctx, f); err != nil {
		return err
	}
	switch next {
	case stepPhoto:
		return c.Reply(ctx, c.T("ap_ask_photo"), skipKeyboard(c))
	case stepConfirm:
		return h.askConfirm(ctx, c, f)
	}
	return c.Reply(ctx, h.askText(c, next))
}

func isSkip(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "skip", "lewati", "-", "tidak", "no":
		return true
	}
	return false
}

func skipKeyboard(c *Call) bot.Keyboard {
	return bot.Keyboard{{bot.Data(c.T("ap_skip_button"), "ap:skip"), bot.Data(c.T("deleteme_no"), "ap:cancel")}}
}

func (h *Handler) askText(c *Call, step string) string {
	switch step {
	case stepName:
		return c.T("ap_ask_name")
	case stepPrice:
		return c.T("ap_ask_price")
	case stepRate:
		return c.T("ap_ask_rate")
	case stepURL:
		if len(h.cfg.ShopHosts) > 0 {
			return c.T("ap_ask_url_hosts", bot.Escape(strings.Join(h.cfg.ShopHosts, ", ")))
		}
		return c.T("ap_ask_url")
	}
	return c.T("ap_ask_photo")
}

// flowProduct rebuilds the product the flow has collected.
func flowProduct(f affiliate.Flow) (affiliate.Product, bool) {
	price, err1 := strconv.ParseInt(f.Data[stepPrice], 10, 64)
	rate, err2 := strconv.Atoi(f.Data[stepRate])
	if err1 != nil || err2 != nil || f.Data[stepName] == "" || f.Data[stepURL] == "" {
		return affiliate.Product{}, false
	}
	return affiliate.Product{Name: f.Data[stepName], Price: affiliate.Rupiah(price), Rate: affiliate.BasisPoints(rate),
		URL: f.Data[stepURL], PhotoFileID: f.Data[stepPhoto]}, true
}

func (h *Handler) askConfirm(ctx context.Context, c *Call, f affiliate.Flow) error {
	p, ok := flowProduct(f)
	if !ok {
		_ = h.deps.Flows.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	photo := c.T("photo_none")
	if p.PhotoFileID != "" {
		photo = c.T("photo_yes")
	}
	return c.Reply(ctx, c.T("ap_confirm", bot.Escape(p.Name), i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate),
		i18n.Money(affiliate.Commission(p.Price, p.Rate)), bot.Escape(p.URL), photo),
		bot.Keyboard{{bot.Data(c.T("ap_save_button"), "ap:save"), bot.Data(c.T("deleteme_no"), "ap:cancel")}})
}

// addProductButton handles Skip photo, Save and Cancel of the guided flow.
func (h *Handler) addProductButton(ctx context.Context, c *Call, arg string) error {
	f, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if !ok || f.Name != flowAddProduct {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	switch arg {
	case "cancel":
		if err := h.deps.Flows.DeleteFlow(ctx, c.User.ID); err != nil {
			return err
		}
		return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("cancel_done")})
	case "skip":
		if f.Step != stepPhoto {
			return c.Toast(ctx, c.T("button_stale"), false)
		}
		f.Step = stepConfirm
		if err := h.deps.Flows.SaveFlow(ctx, f); err != nil {
			return err
		}
		return h.askConfirm(ctx, c, f)
	case "save":
		if f.Step != stepConfirm {
			return c.Toast(ctx, c.T("button_stale"), false)
		}
		p, ok := flowProduct(f)
		if !ok {
			return c.Toast(ctx, c.T("button_stale"), false)
		}
		// Re-check against today's rules: the flow may have been started before a configuration change.
		if _, err := affiliate.ValidateShopURL(p.URL, h.cfg.ShopHosts); err != nil {
			return err
		}
		if err := h.deps.Flows.DeleteFlow(ctx, c.User.ID); err != nil {
			return err
		}
		_ = h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("ap_saving")})
		return h.createProduct(ctx, c, p)
	}
	return c.Toast(ctx, c.T("button_stale"), false)
}

package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

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
		if err := h.store.SaveFlow(ctx, f); err != nil {
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
	p, err := h.store.CreateProduct(ctx, p)
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
		_ = h.store.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	if err != nil {
		if affiliate.ErrorCode(err) != affiliate.EInvalid {
			return err
		}
		return c.Reply(ctx, i18n.Reason(c.Lang, err)+"\n\n"+h.askText(c, f.Step))
	}
	f.Step = next
	if err := h.store.SaveFlow(ctx, f); err != nil {
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
		_ = h.store.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	photo := c.T("no")
	if p.PhotoFileID != "" {
		photo = c.T("yes")
	}
	return c.Reply(ctx, c.T("ap_confirm", bot.Escape(p.Name), i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate),
		i18n.Money(affiliate.Commission(p.Price, p.Rate)), bot.Escape(p.URL), photo),
		bot.Keyboard{{bot.Data(c.T("ap_save_button"), "ap:save"), bot.Data(c.T("deleteme_no"), "ap:cancel")}})
}

// addProductButton handles Skip photo, Save and Cancel of the guided flow.
func (h *Handler) addProductButton(ctx context.Context, c *Call, arg string) error {
	f, ok, err := h.store.GetFlow(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if !ok || f.Name != flowAddProduct {
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	switch arg {
	case "cancel":
		if err := h.store.DeleteFlow(ctx, c.User.ID); err != nil {
			return err
		}
		return h.send.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("cancel_done")})
	case "skip":
		if f.Step != stepPhoto {
			return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
		}
		f.Step = stepConfirm
		if err := h.store.SaveFlow(ctx, f); err != nil {
			return err
		}
		return h.askConfirm(ctx, c, f)
	case "save":
		if f.Step != stepConfirm {
			return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
		}
		p, ok := flowProduct(f)
		if !ok {
			return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
		}
		// Re-check against today's rules: the flow may have been started before a configuration change.
		if _, err := affiliate.ValidateShopURL(p.URL, h.cfg.ShopHosts); err != nil {
			return err
		}
		if err := h.store.DeleteFlow(ctx, c.User.ID); err != nil {
			return err
		}
		_ = h.send.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("ap_saving")})
		return h.createProduct(ctx, c, p)
	}
	return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
}

// ---- a seller's own products ----

// myProducts lists the seller's products with clicks and affiliates, and buttons to edit, pause, resume.
func (h *Handler) myProducts(ctx context.Context, c *Call) error {
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return c.Reply(ctx, m.Text, m.Keyboard)
}

func (h *Handler) myProductsMessage(ctx context.Context, c *Call) (bot.Message, error) {
	list, err := h.store.SellerProducts(ctx, c.User.ID)
	if err != nil {
		return bot.Message{}, err
	}
	if len(list) == 0 {
		return bot.Message{Text: c.T("myproducts_none")}, nil
	}
	var b strings.Builder
	var kb bot.Keyboard
	b.WriteString(c.T("myproducts_head", len(list)))
	const maxShown = 10
	for i, p := range list {
		if i == maxShown {
			b.WriteString("\n\n" + c.T("myproducts_more", len(list)-maxShown))
			break
		}
		links, err := h.store.ProductLinks(ctx, p.ID)
		if err != nil {
			return bot.Message{}, err
		}
		var clicks affiliate.Counts
		for _, l := range links {
			n, err := h.store.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
			if err != nil {
				return bot.Message{}, err
			}
			clicks.Add(n)
		}
		status := c.T("status_active")
		toggle := bot.Data(c.T("pause_button", p.ID), fmt.Sprintf("pp:%d:pause", p.ID))
		if p.Status == affiliate.ProductPaused {
			status = c.T("status_paused")
			toggle = bot.Data(c.T("resume_button", p.ID), fmt.Sprintf("pp:%d:resume", p.ID))
		}
		b.WriteString("\n\n" + c.T("myproduct_row", p.ID, bot.Escape(p.Name), status, i18n.Money(p.Price),
			i18n.Rate(c.Lang, p.Rate), clicks.Clicks, clicks.UniqueClicks, len(links), bot.Code(h.deepLink(p.ID))))
		kb = append(kb, []bot.Button{bot.Data(c.T("edit_button", p.ID), fmt.Sprintf("ed:%d", p.ID)), toggle})
	}
	return bot.Message{Text: b.String(), Keyboard: kb}, nil
}

// pauseButton pauses or resumes a product: "pp:<id>:pause|resume".
func (h *Handler) pauseButton(ctx context.Context, c *Call, arg string) error {
	idText, verb, _ := strings.Cut(arg, ":")
	id, ok := parseProductID(idText)
	if !ok || (verb != "pause" && verb != "resume") {
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	status := affiliate.ProductActive
	if verb == "pause" {
		status = affiliate.ProductPaused
	}
	p, _, err := h.store.UpdateProduct(ctx, id, c.User.ID, func(p *affiliate.Product) error {
		p.Status = status
		return nil
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", id).Str("status", string(status)).Msg("product status changed")
	key := "paused_done"
	if status == affiliate.ProductActive {
		key = "resumed_done"
	}
	_ = h.send.AnswerCallback(ctx, c.Request, c.T(key, bot.Truncate(p.Name, 60)), false)
	if c.MessageID == 0 {
		return nil
	}
	// Redraw the list in place so the button shows the new state.
	m, err := h.myProductsMessage(ctx, c)
	if err != nil {
		return err
	}
	return h.send.Edit(ctx, c.Chat.ID, c.MessageID, m)
}

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
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	p, err := h.store.GetProduct(ctx, id)
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
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	f := affiliate.Flow{UserID: c.User.ID, Name: flowEditProduct, Step: field,
		Data: map[string]string{"id": strconv.FormatUint(id, 10)}}
	if err := h.store.SaveFlow(ctx, f); err != nil {
		return err
	}
	return c.ReplyKey(ctx, "edit_ask_"+field, p.ID, bot.Escape(p.Name))
}

// editProductStep takes the new value of the field chosen with the Edit buttons.
func (h *Handler) editProductStep(ctx context.Context, c *Call, f affiliate.Flow) error {
	id, ok := parseProductID(f.Data["id"])
	if _, known := editFields[f.Step]; !ok || !known {
		_ = h.store.DeleteFlow(ctx, c.User.ID)
		return c.ReplyKey(ctx, "cancel_done")
	}
	err := h.applyEdit(ctx, c, id, f.Step, c.Text)
	if affiliate.ErrorCode(err) == affiliate.EInvalid {
		return c.Reply(ctx, i18n.Reason(c.Lang, err)+"\n\n"+c.T("edit_again"))
	}
	if err != nil {
		_ = h.store.DeleteFlow(ctx, c.User.ID)
		return err
	}
	return h.store.DeleteFlow(ctx, c.User.ID)
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
	before, err := h.store.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if before.SellerID != c.User.ID {
		return affiliate.ErrProductNotFound
	}
	p, kept, err := h.store.UpdateProduct(ctx, id, c.User.ID, apply)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("product_id", id).Str("field", field).Msg("product edited")
	if field == "rate" && p.Rate != before.Rate {
		h.tellRateChange(ctx, before, p, kept)
	}
	return c.ReplyKey(ctx, "edit_done", p.ID, bot.Escape(p.Name), i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate), bot.Escape(p.URL))
}

// tellRateChange informs the product's affiliates of a new rate.
func (h *Handler) tellRateChange(ctx context.Context, before, after affiliate.Product, kept []affiliate.Link) {
	if after.Rate > before.Rate {
		links, err := h.store.ProductLinks(ctx, after.ID)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("rate raise: list links")
			return
		}
		for _, l := range links {
			if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
				h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_raised", bot.Escape(after.Name),
					i18n.Rate(u.Lang, before.Rate), i18n.Rate(u.Lang, after.Rate))})
			}
		}
		return
	}
	for _, l := range kept {
		if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
			h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_cut", bot.Escape(after.Name),
				i18n.Rate(u.Lang, l.KeptRate), i18n.Rate(u.Lang, after.Rate),
				i18n.Date(u.Lang, l.KeptUntil.In(u.Location(h.cfg.DefaultZone))))})
		}
	}
}

// ReminderLead is how long before a kept rate ends the affiliate is reminded.
const ReminderLead = 48 * time.Hour

// RemindRateCuts reminds affiliates whose kept rate ends within two days, once per cut. The scheduler
// runs it hourly.
func (h *Handler) RemindRateCuts(ctx context.Context) error {
	now := h.cfg.Now()
	var due []affiliate.Link
	for after := ""; ; {
		page, err := h.store.ListLinks(ctx, after, 1000)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			if l.KeptRate > 0 && !l.Reminded && now.Before(l.KeptUntil) && !now.Before(l.KeptUntil.Add(-ReminderLead)) {
				due = append(due, l)
			}
		}
		after = page[len(page)-1].Code
	}
	for _, l := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := h.store.GetProduct(ctx, l.ProductID)
		if err != nil {
			continue
		}
		if affiliate.EffectiveRate(p.Rate, l, now) <= p.Rate {
			continue // a raise since then made the kept rate moot
		}
		if u, err := h.store.GetUser(ctx, l.AffiliateID); err == nil {
			h.notify(ctx, u.ChatID, bot.Message{Text: i18n.T(u.Lang, "rate_reminder", bot.Escape(p.Name),
				i18n.Rate(u.Lang, l.KeptRate), i18n.Rate(u.Lang, p.Rate),
				i18n.Date(u.Lang, l.KeptUntil.In(u.Location(h.cfg.DefaultZone))))})
		}
		if _, err := h.store.UpdateLink(ctx, l.Code, func(l *affiliate.Link) error { l.Reminded = true; return nil }); err != nil {
			return err
		}
	}
	return nil
}

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

// ---- browsing and joining ----

// products lists active products, best commission first, a page at a time.
func (h *Handler) products(ctx context.Context, c *Call) error {
	m, err := h.productPage(ctx, c, searchQuery(c.Args), 0)
	if err != nil {
		return err
	}
	return c.Reply(ctx, m.Text, m.Keyboard)
}

// searchQuery normalizes search words and keeps them short enough to ride in callback data.
func searchQuery(s string) string {
	words := strings.Fields(strings.ToLower(s))
	q := ""
	for _, w := range words {
		next := strings.TrimSpace(q + " " + w)
		if len(next) > maxQueryBytes {
			break
		}
		q = next
	}
	return q
}

// maxQueryBytes leaves room for "pg:<offset>:" within Telegram's 64-byte callback data.
const maxQueryBytes = 48

func (h *Handler) productPage(ctx context.Context, c *Call, query string, offset int) (bot.Message, error) {
	list, total, err := h.store.SearchProducts(ctx, strings.Fields(query), offset, pageSize)
	if err != nil {
		return bot.Message{}, err
	}
	if total == 0 {
		if query != "" {
			return bot.Message{Text: c.T("products_none_query", bot.Escape(query))}, nil
		}
		return bot.Message{Text: c.T("products_none")}, nil
	}
	if offset >= total {
		offset = (total - 1) / pageSize * pageSize
		if list, total, err = h.store.SearchProducts(ctx, strings.Fields(query), offset, pageSize); err != nil {
			return bot.Message{}, err
		}
	}
	var b strings.Builder
	page, pages := offset/pageSize+1, (total+pageSize-1)/pageSize
	b.WriteString(c.T("products_head", page, pages, total))
	var kb bot.Keyboard
	for _, p := range list {
		b.WriteString("\n\n" + h.productCard(ctx, c, p))
		kb = append(kb, []bot.Button{bot.Data(c.T("join_button", bot.Truncate(p.Name, 30)), "join:"+strconv.FormatUint(p.ID, 10))})
	}
	var nav []bot.Button
	if offset > 0 {
		nav = append(nav, bot.Data("◀", fmt.Sprintf("pg:%d:%s", offset-pageSize, query)))
	}
	if offset+pageSize < total {
		nav = append(nav, bot.Data("▶", fmt.Sprintf("pg:%d:%s", offset+pageSize, query)))
	}
	if len(nav) > 0 {
		kb = append(kb, nav)
	}
	return bot.Message{Text: b.String(), Keyboard: kb}, nil
}

// productCard is a product as affiliates see it: name, price, rate, commission per sale, shop.
func (h *Handler) productCard(ctx context.Context, c *Call, p affiliate.Product) string {
	shop := ""
	if s, err := h.store.GetUser(ctx, p.SellerID); err == nil {
		shop = s.ShopName
	}
	photo := ""
	if p.PhotoFileID != "" {
		photo = " 📷"
	}
	return c.T("product_card", p.ID, bot.Escape(p.Name), photo, i18n.Money(p.Price), i18n.Rate(c.Lang, p.Rate),
		i18n.Money(affiliate.Commission(p.Price, p.Rate)), bot.Escape(shop))
}

// pageButton turns a /products page: "pg:<offset>:<query>".
func (h *Handler) pageButton(ctx context.Context, c *Call, arg string) error {
	offText, query, _ := strings.Cut(arg, ":")
	offset, err := strconv.Atoi(offText)
	if err != nil || offset < 0 || offset%pageSize != 0 {
		return h.send.AnswerCallback(ctx, c.Request, c.T("button_stale"), false)
	}
	m, err := h.productPage(ctx, c, searchQuery(query), offset)
	if err != nil {
		return err
	}
	if c.MessageID == 0 {
		return c.Reply(ctx, m.Text, m.Keyboard)
	}
	return h.send.Edit(ctx, c.Chat.ID, c.MessageID, m)
}

func (h *Handler) joinCmd(ctx context.Context, c *Call) error {
	if strings.TrimSpace(c.Args) == "" {
		return c.ReplyKey(ctx, "join_usage")
	}
	return h.joinByText(ctx, c, c.Args)
}

func (h *Handler) joinButton(ctx context.Context, c *Call, arg string) error {
	if err := h.joinByText(ctx, c, arg); err != nil {
		return err
	}
	return h.send.AnswerCallback(ctx, c.Request, c.T("join_done_short"), false)
}

// joinByText enrols the caller in a product and replies with the basket link; joining twice returns the
// same link. The seller is told about a new affiliate.
func (h *Handler) joinByText(ctx context.Context, c *Call, arg string) error {
	id, ok := parseProductID(arg)
	if !ok {
		return c.ReplyKey(ctx, "join_usage")
	}
	p, err := h.store.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if p.SellerID == c.User.ID {
		return c.ReplyKey(ctx, "join_own")
	}
	link, created, err := h.store.JoinProduct(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	if created {
		zerolog.Ctx(ctx).Info().Str("link_code", link.Code).Uint64("product_id", id).Msg("affiliate joined")
		if s, err := h.store.GetUser(ctx, p.SellerID); err == nil {
			h.notify(ctx, s.ChatID, bot.Message{Text: i18n.T(s.Lang, "seller_new_affiliate",
				bot.Escape(c.User.DisplayName()), p.ID, bot.Escape(p.Name))})
		}
	}
	key := "join_done"
	if !created {
		key = "join_again"
	}
	rate := affiliate.EffectiveRate(p.Rate, link, h.cfg.Now())
	text := c.T(key, bot.Escape(p.Name), bot.Code(h.basketURL(link.Code)), i18n.Rate(c.Lang, rate),
		i18n.Money(affiliate.Commission(p.Price, rate)), i18n.Duration(c.Lang, h.cfg.AttributionWindow), link.Code)
	if p.PhotoFileID != "" && bot.UTF16Len(text) <= bot.MaxCaptionLen {
		_, err := h.send.SendPhoto(ctx, c.Chat.ID, bot.Upload{FileID: p.PhotoFileID, Caption: text})
		return err
	}
	return c.Reply(ctx, text)
}

// basketURL is the public basket link of a code.
func (h *Handler) basketURL(code string) string { return h.cfg.PublicURL + "/r/" + code }

// deepLink is the t.me link that opens the bot and joins a product.
func (h *Handler) deepLink(productID uint64) string {
	return fmt.Sprintf("https://t.me/%s?start=p_%d", h.send.Username(), productID)
}

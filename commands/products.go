package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

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

// searchQuery normalizes search words and keeps them short enough to ride in callback data: whole words
// while they fit, and a first word longer than that cut at a rune boundary, so that a search is never
// dropped (an unfiltered list would answer a question nobody asked). The page shows the search it used.
func searchQuery(s string) string {
	words := strings.Fields(strings.ToLower(s))
	q := ""
	for _, w := range words {
		next := strings.TrimSpace(q + " " + w)
		if len(next) > maxQueryBytes {
			if q == "" {
				q = cutBytes(w, maxQueryBytes)
			}
			break
		}
		q = next
	}
	return q
}

// cutBytes returns the longest prefix of s of at most n bytes that ends at a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxQueryBytes leaves room for "pg:<offset>:" within Telegram's 64-byte callback data.
const maxQueryBytes = 48

func (h *Handler) productPage(ctx context.Context, c *Call, query string, offset int) (bot.Message, error) {
	list, total, err := h.deps.Catalogue.SearchProducts(ctx, strings.Fields(query), offset, pageSize)
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
		if list, total, err = h.deps.Catalogue.SearchProducts(ctx, strings.Fields(query), offset, pageSize); err != nil {
			return bot.Message{}, err
		}
	}
	page, pages := offset/pageSize+1, (total+pageSize-1)/pageSize
	head := c.T("products_head", page, pages, total)
	if query != "" {
		head += "\n" + c.T("products_query", bot.Escape(query))
	}
	// Full cards when they fit in one message, else cards with shortened names: a page always shows.
	more := func(n int) string { return "\n\n" + c.T("products_more", n) }
	var text string
	shown := 0
	for _, short := range []bool{false, true} {
		cards := make([]string, len(list))
		for i, p := range list {
			cards[i] = "\n\n" + h.productCard(ctx, c, p, short)
		}
		if text, shown = fitLines(head, cards, 0, more); shown == len(list) {
			break
		}
	}
	var kb bot.Keyboard
	for _, p := range list[:shown] {
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
	return bot.Message{Text: text, Keyboard: kb}, nil
}

// Shortened card fields, for a page whose full cards would not fit in one message.
const (
	shortNameLen = 40
	shortShopLen = 24
)

// productCard is a product as affiliates see it: name, price, rate, commission per sale, shop.
func (h *Handler) productCard(ctx context.Context, c *Call, p affiliate.Product, short bool) string {
	shop := ""
	if s, err := h.deps.Accounts.GetUser(ctx, p.SellerID); err == nil {
		shop = s.ShopName
	}
	if short {
		p.Name, shop = bot.Truncate(p.Name, shortNameLen), bot.Truncate(shop, shortShopLen)
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
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	m, err := h.productPage(ctx, c, searchQuery(query), offset)
	if err != nil {
		return err
	}
	if c.MessageID == 0 {
		return c.Reply(ctx, m.Text, m.Keyboard)
	}
	return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, m)
}

func (h *Handler) joinCmd(ctx context.Context, c *Call) error {
	if strings.TrimSpace(c.Args) == "" {
		return c.ReplyKey(ctx, "join_usage")
	}
	return h.joinByText(ctx, c, c.Args)
}

// joinButton is the Join button of a product card: the basket link comes as a message and the toast
// says so; a refusal (own product, paused) comes as the toast instead.
func (h *Handler) joinButton(ctx context.Context, c *Call, arg string) error {
	if _, ok := parseProductID(arg); !ok {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	if err := h.joinByText(ctx, c, arg); err != nil {
		return err
	}
	return c.Toast(ctx, c.T("join_done_short"), false)
}

// joinByText enrols the caller in a product and replies with the basket link; joining twice returns the
// same link. The seller is told about a new affiliate.
func (h *Handler) joinByText(ctx context.Context, c *Call, arg string) error {
	id, ok := parseProductID(arg)
	if !ok {
		return c.ReplyKey(ctx, "join_usage")
	}
	p, err := h.deps.Catalogue.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	joined, err := h.joined(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	if err := affiliate.CheckJoin(p, c.User.ID, joined); err != nil {
		return err
	}
	link, created, err := h.deps.Links.JoinProduct(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	if created {
		zerolog.Ctx(ctx).Info().Str("link_code", link.Code).Uint64("product_id", id).Msg("affiliate joined")
		h.notify(ctx, p.SellerID, affiliate.Notice{Key: "seller_new_affiliate", Args: []any{c.User.DisplayName(), p.ID, p.Name},
			ID: "join:" + link.Code})
	}
	key := "join_done"
	if !created {
		key = "join_again"
	}
	rate := affiliate.EffectiveRate(p.Rate, link, h.cfg.Now())
	text := c.T(key, bot.Escape(p.Name), bot.Code(h.basketURL(link.Code)), i18n.Rate(c.Lang, rate),
		i18n.Money(affiliate.Commission(p.Price, rate)), i18n.Duration(c.Lang, h.cfg.AttributionWindow), link.Code)
	if p.PhotoFileID != "" && bot.TextLen(text) <= bot.MaxCaptionLen {
		_, err := h.deps.Files.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadPhoto, FileID: p.PhotoFileID, Caption: text})
		return err
	}
	return c.Reply(ctx, text)
}

// basketURL is the public basket link of a code.
func (h *Handler) basketURL(code string) string { return h.cfg.PublicURL + "/r/" + code }

// deepLink is the t.me link that opens the bot and joins a product.
func (h *Handler) deepLink(productID uint64) string {
	return fmt.Sprintf("https://t.me/%s?start=p_%d", h.deps.Profile.Username(), productID)
}

// Catalogue keeps products: the affiliates' browsing and the sellers' own products.
type Catalogue interface {
	CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error)
	SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error)
	SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error)
}

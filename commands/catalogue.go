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

// CatalogueStore is the storage the product, link and report commands need.
type CatalogueStore interface {
	CreateProduct(ctx context.Context, p affiliate.Product) (affiliate.Product, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	UpdateProduct(ctx context.Context, id uint64, sellerID int64, fn func(*affiliate.Product) error) (affiliate.Product, []affiliate.Link, error)
	SearchProducts(ctx context.Context, words []string, offset, limit int) ([]affiliate.Product, int, error)
	SellerProducts(ctx context.Context, sellerID int64) ([]affiliate.Product, error)
	JoinProduct(ctx context.Context, affiliateID int64, productID uint64) (affiliate.Link, bool, error)
	GetLink(ctx context.Context, code string) (affiliate.Link, error)
	AffiliateLinks(ctx context.Context, affiliateID int64) ([]affiliate.Link, error)
	ProductLinks(ctx context.Context, productID uint64) ([]affiliate.Link, error)
	UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error)
	ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error)
	LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
	AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error)
	APIKey(ctx context.Context, sellerID int64) (string, error)
	RotateAPIKey(ctx context.Context, sellerID int64) (string, error)
	AddFeedback(ctx context.Context, f affiliate.Feedback) (affiliate.Feedback, error)
}

// pageSize is how many products /products shows at once.
const pageSize = 5

func (h *Handler) catalogueRoutes() []*route {
	return []*route{
		{name: "products", role: anyone, menu: true, run: h.products},
		{name: "join", role: anyone, menu: true, run: h.joinCmd},
		{name: "links", role: anyone, menu: true, run: h.links},
		{name: "qr", role: anyone, menu: true, run: h.qr},
		{name: "feedback", role: anyone, menu: true, run: h.feedback},
		{name: "addproduct", role: seller, private: true, menu: true, run: h.addProduct},
		{name: "myproducts", role: seller, menu: true, run: h.myProducts},
		{name: "editproduct", role: seller, menu: true, run: h.editProductCmd},
		{name: "affiliates", role: seller, menu: true, run: h.affiliates},
		{name: "apikey", role: seller, private: true, menu: true, run: h.apiKey},
	}
}

func (h *Handler) catalogueButtons() []*button {
	return []*button{
		{prefix: "pg", role: anyone, run: h.pageButton},
		{prefix: "join", role: anyone, run: h.joinButton},
		{prefix: "ap", role: seller, run: h.addProductButton},
		{prefix: "pp", role: seller, run: h.pauseButton},
		{prefix: "ed", role: seller, run: h.editButton},
	}
}

func (h *Handler) catalogueFlows() map[string]flowStep {
	return map[string]flowStep{
		flowAddProduct:  h.addProductStep,
		flowEditProduct: h.editProductStep,
	}
}

// payloads are the /start deep-link handlers by prefix: t.me/<bot>?start=p_<product_id>.
func (h *Handler) payloads() map[string]func(ctx context.Context, c *Call, arg string) error {
	return map[string]func(ctx context.Context, c *Call, arg string) error{
		"p": h.joinByText,
	}
}

// document handles a file sent outside any flow. CSV order import comes with conversions.
func (h *Handler) document(ctx context.Context, c *Call) error {
	return c.ReplyKey(ctx, "hint_free_text")
}

// parseProductID reads "12" or "#12".
func parseProductID(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

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
		_, err := h.send.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadPhoto, FileID: p.PhotoFileID, Caption: text})
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

// ---- an affiliate's links ----

// links lists the caller's basket links with clicks today and in total.
func (h *Handler) links(ctx context.Context, c *Call) error {
	links, err := h.store.AffiliateLinks(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return c.ReplyKey(ctx, "links_none")
	}
	from, to := dayRange(h.cfg.Now(), c.Location())
	var b strings.Builder
	b.WriteString(c.T("links_head", len(links)))
	const maxShown = 20
	for i, l := range links {
		more := "\n\n" + c.T("links_more", len(links)-i)
		if i == maxShown {
			b.WriteString(more)
			break
		}
		name := fmt.Sprintf("#%d", l.ProductID)
		if p, err := h.store.GetProduct(ctx, l.ProductID); err == nil {
			name = p.Name
		}
		today, err := h.store.LinkCounts(ctx, l.Code, from, to)
		if err != nil {
			return err
		}
		total, err := h.store.LinkCounts(ctx, l.Code, time.Time{}, time.Time{})
		if err != nil {
			return err
		}
		row := "\n\n" + c.T("links_row", bot.Escape(name), bot.Code(h.basketURL(l.Code)),
			today.Clicks, total.Clicks, total.UniqueClicks)
		if !fits(b.String(), row, more, i == len(links)-1) {
			b.WriteString(more)
			break
		}
		b.WriteString(row)
	}
	return c.Reply(ctx, b.String())
}

// fits reports whether row can be added to a list message text and still leave room for the line that
// tells how many rows were left out (unless row is the last): long product names can make twenty rows
// longer than one Telegram message.
func fits(text, row, more string, last bool) bool {
	n := bot.UTF16Len(text) + bot.UTF16Len(row)
	if !last {
		n += bot.UTF16Len(more)
	}
	return n <= bot.MaxTextLen
}

// dayRange is the local calendar day containing now, as UTC instants [from, to).
func dayRange(now time.Time, loc *time.Location) (time.Time, time.Time) {
	from, to := affiliate.LocalDay(now, loc)
	return from.UTC(), to.UTC()
}

// qr sends the basket link of one of the caller's own codes as a QR-code PNG.
func (h *Handler) qr(ctx context.Context, c *Call) error {
	code := strings.TrimSpace(c.Args)
	if code == "" {
		return c.ReplyKey(ctx, "qr_usage")
	}
	if !affiliate.ValidCode(code) {
		return affiliate.ErrLinkNotFound
	}
	l, err := h.store.GetLink(ctx, code)
	if err != nil {
		return err
	}
	if l.AffiliateID != c.User.ID {
		return affiliate.ErrLinkNotFound // someone else's link is not the caller's business
	}
	png, err := qrPNG(h.basketURL(code))
	if err != nil {
		return err
	}
	_, err = h.send.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadPhoto, Name: "keranjang-" + code + ".png", Data: png,
		Caption: c.T("qr_caption", bot.Code(h.basketURL(code)))})
	return err
}

// feedback sends an affiliate's comment to the seller of a product they joined.
func (h *Handler) feedback(ctx context.Context, c *Call) error {
	idText, text, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	id, ok := parseProductID(idText)
	text = strings.TrimSpace(text)
	if !ok || text == "" {
		return c.ReplyKey(ctx, "feedback_usage")
	}
	p, err := h.store.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	if !h.joined(ctx, c.User.ID, id) {
		return c.ReplyKey(ctx, "feedback_not_joined", id)
	}
	f, err := h.store.AddFeedback(ctx, affiliate.Feedback{ProductID: id, SellerID: p.SellerID, AffiliateID: c.User.ID, Text: text})
	if err != nil {
		return err
	}
	if s, err := h.store.GetUser(ctx, p.SellerID); err == nil {
		h.notify(ctx, s.ChatID, bot.Message{Text: i18n.T(s.Lang, "feedback_to_seller",
			bot.Escape(c.User.DisplayName()), p.ID, bot.Escape(p.Name), bot.Escape(f.Text))})
	}
	return c.ReplyKey(ctx, "feedback_sent", bot.Escape(p.Name))
}

func (h *Handler) joined(ctx context.Context, affiliateID int64, productID uint64) bool {
	links, err := h.store.AffiliateLinks(ctx, affiliateID)
	if err != nil {
		return false
	}
	for _, l := range links {
		if l.ProductID == productID {
			return true
		}
	}
	return false
}

// ---- seller reports and keys ----

// reportDays is the period of /affiliates: the last 30 local days including today.
const reportDays = 30

// affiliates shows the seller's affiliate activity over the last 30 days, best first.
func (h *Handler) affiliates(ctx context.Context, c *Call) error {
	var productID uint64
	if a := strings.TrimSpace(c.Args); a != "" {
		id, ok := parseProductID(a)
		if !ok {
			return c.ReplyKey(ctx, "affiliates_usage")
		}
		productID = id
	}
	from, to := affiliate.LastDays(h.cfg.Now(), c.Location(), reportDays)
	rows, err := h.store.AffiliateReport(ctx, c.User.ID, productID, from, to)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return c.ReplyKey(ctx, "affiliates_none")
	}
	var b strings.Builder
	b.WriteString(c.T("affiliates_head", reportDays, len(rows)))
	const maxShown = 20
	for i, r := range rows {
		more := "\n\n" + c.T("affiliates_more", len(rows)-i)
		if i == maxShown {
			b.WriteString(more)
			break
		}
		name := r.AffiliateName
		if name == "" {
			name = c.T("affiliate_erased")
		}
		row := "\n" + c.T("affiliates_row", i+1, bot.Escape(name), r.ProductID, bot.Escape(bot.Truncate(r.ProductName, 40)),
			r.Clicks, r.UniqueClicks)
		if !fits(b.String(), row, more, i == len(rows)-1) {
			b.WriteString(more)
			break
		}
		b.WriteString(row)
	}
	return c.Reply(ctx, b.String())
}

// apiKey shows the seller's API key with a ready-to-paste example; "/apikey rotate" replaces it.
func (h *Handler) apiKey(ctx context.Context, c *Call) error {
	var key string
	var err error
	switch strings.ToLower(strings.TrimSpace(c.Args)) {
	case "":
		key, err = h.store.APIKey(ctx, c.User.ID)
	case "rotate":
		key, err = h.store.RotateAPIKey(ctx, c.User.ID)
		if err == nil {
			zerolog.Ctx(ctx).Info().Msg("api key rotated")
		}
	default:
		return c.ReplyKey(ctx, "apikey_usage")
	}
	if err != nil {
		return err
	}
	example := fmt.Sprintf("curl -H 'Authorization: Bearer %s' '%s/api/v1/affiliates?from=%s&to=%s'",
		key, h.cfg.PublicURL, h.cfg.Now().In(c.Location()).AddDate(0, 0, -6).Format(time.DateOnly),
		h.cfg.Now().In(c.Location()).Format(time.DateOnly))
	return c.ReplyKey(ctx, "apikey", c.User.ID, bot.Code(key), "<pre>"+bot.Escape(example)+"</pre>")
}

package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// start registers the caller (language from Telegram's language_code, zone from configuration) and
// routes a deep-link payload such as "p_12". The chat stored is the user's private chat (its id is the
// user id), also when /start comes from a group: a group's id is never stored as someone's chat.
func (h *Handler) start(ctx context.Context, c *Call) error {
	f := c.From
	u, created, err := h.deps.Accounts.RegisterUser(ctx, affiliate.User{
		ID: f.ID, ChatID: f.ID, FirstName: bot.Truncate(affiliate.CleanText(f.FirstName), 64), LastName: bot.Truncate(affiliate.CleanText(f.LastName), 64),
		Username: bot.Truncate(affiliate.CleanText(f.Username), 64), Lang: affiliate.LangFromCode(f.LanguageCode),
		TimeZone: h.cfg.DefaultZone.String(), DigestMinute: affiliate.DefaultDigestMinute, AlertsOn: true,
		Reachable: true,
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	c.User, c.Roles, c.Lang = u, h.roles(u), u.Lang
	if created {
		zerolog.Ctx(ctx).Info().Msg("user registered")
	}
	if !u.Reachable {
		if _, err = h.deps.Accounts.SetReachable(ctx, u.ID, true); err != nil {
			return fmt.Errorf("mark reachable: %w", err)
		}
		u.Reachable = true
		c.User = u
	}
	if c.Roles != anyone && c.Chat.Private() {
		h.installChatMenu(ctx, u)
	}
	if payload := strings.TrimSpace(c.Args); payload != "" {
		if run, arg, ok := h.startPayload(payload); ok {
			return run(ctx, c, arg)
		}
	}
	key := "welcome_back"
	if created {
		key = "welcome"
	}
	return c.ReplyKey(ctx, key, bot.Escape(u.DisplayName()))
}

// startPayload finds the deep-link handler for a payload: "p_<product_id>" joins a product.
func (h *Handler) startPayload(p string) (func(ctx context.Context, c *Call, arg string) error, string, bool) {
	prefix, arg, ok := strings.Cut(p, "_")
	if !ok {
		return nil, "", false
	}
	run, ok := h.payloads()[prefix]
	return run, arg, ok
}

// help lists the commands of the caller's roles.
func (h *Handler) help(ctx context.Context, c *Call) error {
	var b strings.Builder
	b.WriteString(c.T("help_intro"))
	visible := h.visible(c.Roles)
	for _, section := range []affiliate.Role{anyone, seller, admin} {
		if !c.Roles.Has(section) {
			continue
		}
		b.WriteString("\n\n" + c.T("help_section."+sectionName(section)))
		for _, r := range visible {
			if r.role == section {
				fmt.Fprintf(&b, "\n/%s — %s", r.name, c.T("menu."+r.name))
			}
		}
	}
	return c.Reply(ctx, b.String())
}

func sectionName(r affiliate.Role) string {
	switch {
	case r.Has(admin):
		return "admin"
	case r.Has(seller):
		return "seller"
	}
	return "everyone"
}

// lang switches the language: /lang id|en, or buttons without an argument.
func (h *Handler) lang(ctx context.Context, c *Call) error {
	l, ok := affiliate.ParseLang(c.Args)
	if !ok {
		return c.Reply(ctx, c.T("lang_ask"), langKeyboard())
	}
	return h.setLang(ctx, c, l, false)
}

func langKeyboard() bot.Keyboard {
	return bot.Keyboard{{bot.Data("🇮🇩 Bahasa Indonesia", "lang:id"), bot.Data("🇬🇧 English", "lang:en")}}
}

func (h *Handler) langButton(ctx context.Context, c *Call, arg string) error {
	l, ok := affiliate.ParseLang(arg)
	if !ok {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	return h.setLang(ctx, c, l, true)
}

func (h *Handler) setLang(ctx context.Context, c *Call, l affiliate.Lang, fromButton bool) error {
	u, err := h.deps.Accounts.UpdateUser(ctx, c.User.ID, func(u *affiliate.User) error { u.Lang = l; return nil })
	if err != nil {
		return err
	}
	c.User, c.Lang = u, u.Lang
	if c.Roles != anyone {
		h.installChatMenu(ctx, u)
	}
	if fromButton {
		_ = c.Toast(ctx, c.T("lang_set"), false)
		return h.refreshSettings(ctx, c)
	}
	return c.ReplyKey(ctx, "lang_set")
}

// timezone sets the time zone: WIB, WITA, WIT or an IANA name.
func (h *Handler) timezone(ctx context.Context, c *Call) error {
	if strings.TrimSpace(c.Args) == "" {
		return c.Reply(ctx, c.T("tz_ask", bot.Escape(c.User.TimeZone)), zoneKeyboard())
	}
	zone, err := affiliate.ParseTimeZone(c.Args)
	if err != nil {
		return err
	}
	return h.setZone(ctx, c, zone, false)
}

func zoneKeyboard() bot.Keyboard {
	return bot.Keyboard{{bot.Data("WIB", "tz:WIB"), bot.Data("WITA", "tz:WITA"), bot.Data("WIT", "tz:WIT")}}
}

func (h *Handler) timezoneButton(ctx context.Context, c *Call, arg string) error {
	zone, err := affiliate.ParseTimeZone(arg)
	if err != nil {
		return err
	}
	return h.setZone(ctx, c, zone, true)
}

func (h *Handler) setZone(ctx context.Context, c *Call, zone string, fromButton bool) error {
	u, err := h.deps.Accounts.UpdateUser(ctx, c.User.ID, func(u *affiliate.User) error { u.TimeZone = zone; return nil })
	if err != nil {
		return err
	}
	c.User = u
	now := h.cfg.Now().In(c.Location())
	text := c.T("tz_set", bot.Escape(zoneLabel(zone)), now.Format("15:04"))
	if fromButton {
		_ = c.Toast(ctx, text, false)
		return h.refreshSettings(ctx, c)
	}
	return c.Reply(ctx, text)
}

// zoneLabel names Indonesia's zones the way Indonesians do.
func zoneLabel(zone string) string {
	switch zone {
	case "Asia/Jakarta", "Asia/Pontianak":
		return "WIB (" + zone + ")"
	case "Asia/Makassar":
		return "WITA (" + zone + ")"
	case "Asia/Jayapura":
		return "WIT (" + zone + ")"
	}
	return zone
}

// settings shows the caller's settings with buttons to change them.
func (h *Handler) settings(ctx context.Context, c *Call) error {
	return c.Reply(ctx, h.settingsText(c), h.settingsKeyboard(c))
}

func (h *Handler) settingsText(c *Call) string {
	digest := c.T("off")
	if c.User.DigestMinute >= 0 {
		digest = i18n.Clock(c.User.DigestMinute)
	}
	alerts := c.T("off")
	if c.User.AlertsOn {
		alerts = c.T("on")
	}
	return c.T("settings", c.T("lang_name"), bot.Escape(zoneLabel(c.User.TimeZone)), digest, alerts)
}

func (h *Handler) settingsKeyboard(c *Call) bot.Keyboard {
	kb := append(langKeyboard(), zoneKeyboard()...)
	toggle := "alerts:off"
	label := c.T("alerts_turn_off")
	if !c.User.AlertsOn {
		toggle, label = "alerts:on", c.T("alerts_turn_on")
	}
	return append(kb, digestRow(c), []bot.Button{bot.Data(label, toggle)})
}

// refreshSettings redraws the settings message a button was pressed on.
func (h *Handler) refreshSettings(ctx context.Context, c *Call) error {
	if c.MessageID == 0 {
		return nil
	}
	return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: h.settingsText(c), Keyboard: h.settingsKeyboard(c)})
}

func (h *Handler) alertsButton(ctx context.Context, c *Call, arg string) error {
	on := arg == "on"
	u, err := h.deps.Accounts.UpdateUser(ctx, c.User.ID, func(u *affiliate.User) error { u.AlertsOn = on; return nil })
	if err != nil {
		return err
	}
	c.User = u
	key := "alerts_off_done"
	if on {
		key = "alerts_on_done"
	}
	_ = c.Toast(ctx, c.T(key), false)
	return h.refreshSettings(ctx, c)
}

// cancel ends any multi-step flow.
func (h *Handler) cancel(ctx context.Context, c *Call) error {
	_, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if !ok {
		return c.ReplyKey(ctx, "cancel_nothing")
	}
	if err := h.deps.Flows.DeleteFlow(ctx, c.User.ID); err != nil {
		return err
	}
	return c.ReplyKey(ctx, "cancel_done")
}

// myData is the document /mydata sends: everything stored about the caller.
type myData struct {
	User        affiliate.User         `json:"user"`
	Roles       []string               `json:"roles"`
	Application *affiliate.Application `json:"seller_application,omitempty"`
	Flow        *affiliate.Flow        `json:"open_flow,omitempty"`
	Links       []affiliate.Link       `json:"links"`
	Products    []affiliate.Product    `json:"products,omitempty"`
}

// mydata sends the caller's own data as a JSON document.
func (h *Handler) mydata(ctx context.Context, c *Call) error {
	d := myData{User: c.User, Roles: roleNames(c.Roles), Links: []affiliate.Link{}}
	if app, err := h.deps.Applications.GetApplication(ctx, c.User.ID); err == nil {
		d.Application = &app
	} else if !errors.Is(err, affiliate.ErrAppNotFound) {
		return err
	}
	if f, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID); err != nil {
		return err
	} else if ok {
		d.Flow = &f
	}
	links, err := h.deps.Links.AffiliateLinks(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if links != nil {
		d.Links = links
	}
	if c.Roles.Has(seller) {
		if d.Products, err = h.deps.Catalogue.SellerProducts(ctx, c.User.ID); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("mydata: %w", err)
	}
	_, err = h.deps.Files.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadDocument,
		Name: fmt.Sprintf("keranjang-mydata-%d.json", c.User.ID), Data: data, Caption: c.T("mydata_caption"),
	})
	return err
}

func roleNames(r affiliate.Role) []string {
	names := []string{"affiliate"}
	if r.Has(seller) {
		names = append(names, "seller")
	}
	if r.Has(admin) {
		names = append(names, "admin")
	}
	return names
}

// deleteme asks for confirmation before erasing the caller's personal data.
func (h *Handler) deleteme(ctx context.Context, c *Call) error {
	text := c.T("deleteme_confirm")
	if c.Roles.Has(seller) {
		text += "\n\n" + c.T("deleteme_confirm_seller")
	}
	return c.Reply(ctx, text, bot.Keyboard{{
		bot.Data(c.T("deleteme_yes"), "del:yes"), bot.Data(c.T("deleteme_no"), "del:no"),
	}})
}

func (h *Handler) deleteButton(ctx context.Context, c *Call, arg string) error {
	if arg != "yes" {
		_ = c.Toast(ctx, c.T("deleteme_kept"), false)
		return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("deleteme_kept")})
	}
	// A seller's products are paused first: without a seller nobody could pause them, and affiliates
	// would keep joining a product of a shop that is gone.
	paused, err := h.pauseAll(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if err := h.deps.Accounts.DeleteUserData(ctx, c.User.ID); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Int("products_paused", paused).Msg("user data erased")
	_ = c.Toast(ctx, c.T("deleteme_done_short"), false)
	text := c.T("deleteme_done")
	if paused > 0 {
		text += "\n\n" + c.T("deleteme_done_seller", paused)
	}
	return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: text})
}

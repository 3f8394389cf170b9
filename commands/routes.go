package commands

import (
	"context"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// flowStep continues a multi-step flow with the caller's next message.
type flowStep func(ctx context.Context, c *Call, f affiliate.Flow) error

const (
	anyone = affiliate.RoleAffiliate
	seller = affiliate.RoleSeller
	admin  = affiliate.RoleAdmin
)

// routes is the single route table: every command and button with the role it needs.
func (h *Handler) routes() {
	h.order = []*route{
		{name: "start", role: anyone, menu: true, run: h.start},
		{name: "help", role: anyone, menu: true, run: h.help},
		{name: "lang", role: anyone, menu: true, run: h.lang},
		{name: "timezone", role: anyone, menu: true, run: h.timezone},
		{name: "settings", role: anyone, private: true, menu: true, run: h.settings},
		{name: "digest", role: anyone, menu: true, run: h.digest},
		{name: "cancel", role: anyone, menu: true, run: h.cancel},
		{name: "alerts", role: anyone, menu: true, run: h.alertsCmd},
		{name: "mydata", role: anyone, private: true, menu: true, run: h.mydata},
		{name: "deleteme", role: anyone, private: true, menu: true, run: h.deleteme},
		{name: "seller", role: anyone, private: true, menu: true, run: h.applySeller},
		{name: "approve", role: admin, menu: true, run: h.approveCmd},
		{name: "reject", role: admin, menu: true, run: h.rejectCmd},
		{name: "sellers", role: admin, menu: true, run: h.sellers},
		{name: "pause", role: admin, menu: true, run: h.adminPause},
		{name: "digestnow", role: admin, menu: true, run: h.digestNow},
		{name: "policy", role: admin, private: true, menu: true, run: h.policy},
		{name: "stats", role: admin, menu: true, run: h.stats},
		{name: "broadcast", role: seller, private: true, menu: true, run: h.broadcast},
	}
	h.order = append(h.order, h.catalogueRoutes()...)
	h.order = append(h.order, h.orderRoutes()...)
	h.commands = make(map[string]*route, len(h.order))
	for _, r := range h.order {
		h.commands[r.name] = r
	}
	buttons := []*button{
		{prefix: "lang", role: anyone, run: h.langButton},
		{prefix: "tz", role: anyone, run: h.timezoneButton},
		{prefix: "alerts", role: anyone, run: h.alertsButton},
		{prefix: "digest", role: anyone, run: h.digestButton},
		{prefix: "del", role: anyone, run: h.deleteButton},
		{prefix: "app", role: admin, run: h.applicationButton},
		{prefix: "chart", role: anyone, run: h.chartButton},
		{prefix: "pol", role: admin, run: h.policyButton},
		{prefix: "bc", role: seller, run: h.broadcastButton},
	}
	buttons = append(buttons, h.catalogueButtons()...)
	h.buttons = make(map[string]*button, len(buttons))
	for _, b := range buttons {
		h.buttons[b.prefix] = b
	}
	h.flows = h.catalogueFlows()
	h.flows[flowPolicy] = h.policyFlow
	h.flows[flowBroadcast] = h.policyFlow
}

// visible lists the commands a caller with roles may run, in table order.
func (h *Handler) visible(roles affiliate.Role) []*route {
	var out []*route
	for _, r := range h.order {
		if roles.Has(r.role) {
			out = append(out, r)
		}
	}
	return out
}

// MenuCommands is the Telegram command menu for a set of roles in a language.
func (h *Handler) MenuCommands(roles affiliate.Role, lang affiliate.Lang) []bot.Command {
	var out []bot.Command
	for _, r := range h.visible(roles) {
		if r.menu {
			out = append(out, bot.Command{Name: r.name, Description: i18n.T(lang, "menu."+r.name)})
		}
	}
	return out
}

// InstallMenus sets the command menus: everyone's in Indonesian (the default) and English, and the
// admins' fuller menu in their own chats. An admin who never opened the bot has no chat yet; their menu
// is set when they send /start.
func (h *Handler) InstallMenus(ctx context.Context) error {
	for _, m := range []struct {
		code string
		lang affiliate.Lang
	}{{"", affiliate.LangID}, {"id", affiliate.LangID}, {"en", affiliate.LangEN}} {
		if err := h.deps.Menus.SetCommands(ctx, 0, m.code, h.MenuCommands(anyone, m.lang)); err != nil {
			return err
		}
	}
	for _, id := range h.cfg.AdminIDs {
		u, err := h.deps.Accounts.GetUser(ctx, id)
		if err != nil {
			continue
		}
		h.installChatMenu(ctx, u)
	}
	return nil
}

// installChatMenu gives a seller or admin the menu of all their roles in their private chat.
func (h *Handler) installChatMenu(ctx context.Context, u affiliate.User) {
	roles := h.roles(u)
	if roles == anyone {
		return
	}
	for _, m := range []struct {
		code string
		lang affiliate.Lang
	}{{"", u.Lang}, {"id", affiliate.LangID}, {"en", affiliate.LangEN}} {
		if err := h.deps.Menus.SetCommands(ctx, u.ID, m.code, h.MenuCommands(roles, m.lang)); err != nil {
			h.log.Debug().Err(err).Int64("user_id", u.ID).Msg("set chat menu")
			return
		}
	}
}

// Menus sets the Telegram command menus.
type Menus interface {
	SetCommands(ctx context.Context, chatID int64, lang string, cmds []bot.Command) error
}

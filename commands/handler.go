// Package commands turns updates into calls on the store and replies. It holds the single route table
// of commands and buttons, the role gate (the one place that decides who may do what), multi-step flows
// and the mapping of errors to what a user reads. Business rules live in affiliate, not here.
package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// Store is what the commands need from storage; *store.Store implements it.
type Store interface {
	RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error)
	GetUser(ctx context.Context, id int64) (affiliate.User, error)
	UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error)
	DeleteUserData(ctx context.Context, id int64) error
	ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error)
	DecideApplication(ctx context.Context, userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error)
	GetApplication(ctx context.Context, userID int64) (affiliate.Application, error)
	PendingApplications(ctx context.Context) ([]affiliate.Application, error)
	GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error)
	SaveFlow(ctx context.Context, f affiliate.Flow) error
	DeleteFlow(ctx context.Context, userID int64) error
	CatalogueStore
}

// Sender sends messages; *bot.Bot implements it.
type Sender interface {
	Send(ctx context.Context, chatID int64, m bot.Message) (int, error)
	Edit(ctx context.Context, chatID int64, messageID int, m bot.Message) error
	AnswerCallback(ctx context.Context, r *bot.Request, text string, alert bool) error
	SendFile(ctx context.Context, chatID int64, u bot.Upload) (int, error)
	SetCommands(ctx context.Context, chatID int64, lang string, cmds []bot.Command) error
	Username() string
	ErrorCount()
}

// Config is what the commands need to know about the deployment.
type Config struct {
	AdminIDs          []int64
	AutoApprove       bool // KERANJANG_SELLER_APPROVAL=auto
	PublicURL         string
	DefaultZone       *time.Location
	AttributionWindow time.Duration
	ShopHosts         []string
	Now               func() time.Time
	Logger            zerolog.Logger
}

// Handler is the bot.Handler of Keranjang.
type Handler struct {
	store    Store
	send     Sender
	cfg      Config
	log      zerolog.Logger
	commands map[string]*route
	buttons  map[string]*button
	flows    map[string]flowStep
	order    []*route
}

// New builds the handler and its route table.
func New(st Store, send Sender, cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultZone == nil {
		cfg.DefaultZone = time.UTC
	}
	h := &Handler{store: st, send: send, cfg: cfg, log: cfg.Logger.With().Str("component", "commands").Logger()}
	h.routes()
	return h
}

// route is a command: who may run it, where, and what it does.
type route struct {
	name    string
	role    affiliate.Role // every role the caller must have
	private bool           // only in a private chat (personal data, keys)
	menu    bool           // listed in the Telegram command menu
	run     func(ctx context.Context, c *Call) error
}

// button is a callback-query action, keyed by the data before the first ':'.
type button struct {
	prefix string
	role   affiliate.Role
	run    func(ctx context.Context, c *Call, arg string) error
}

// Call is one update being handled for a known user.
type Call struct {
	*bot.Request
	User  affiliate.User
	Roles affiliate.Role
	Lang  affiliate.Lang
	h     *Handler
}

// T translates a key into the caller's language.
func (c *Call) T(key string, args ...any) string { return i18n.T(c.Lang, key, args...) }

// Reply sends an HTML message to the chat the update came from.
func (c *Call) Reply(ctx context.Context, text string, kb ...bot.Keyboard) error {
	m := bot.Message{Text: text}
	if len(kb) > 0 {
		m.Keyboard = kb[0]
	}
	_, err := c.h.send.Send(ctx, c.Chat.ID, m)
	return err
}

// ReplyKey sends a catalogue message.
func (c *Call) ReplyKey(ctx context.Context, key string, args ...any) error {
	return c.Reply(ctx, c.T(key, args...))
}

// Location is the caller's time zone.
func (c *Call) Location() *time.Location { return c.User.Location(c.h.cfg.DefaultZone) }

// isAdmin reports whether id is configured as an admin.
func (h *Handler) isAdmin(id int64) bool { return slices.Contains(h.cfg.AdminIDs, id) }

// roles are the stored roles plus admin from configuration.
func (h *Handler) roles(u affiliate.User) affiliate.Role {
	r := u.Roles()
	if h.isAdmin(u.ID) {
		r |= affiliate.RoleAdmin
	}
	return r
}

// Handle implements bot.Handler.
func (h *Handler) Handle(ctx context.Context, r *bot.Request) {
	if r.From == nil || r.From.IsBot {
		return // channel posts, service updates, other bots
	}
	switch r.Kind {
	case bot.KindMemberStatus:
		h.memberStatus(ctx, r)
	case bot.KindMessage:
		h.message(ctx, r)
	case bot.KindCallback:
		h.callback(ctx, r)
	}
}

// memberStatus records that a user blocked or unblocked the bot in their private chat.
func (h *Handler) memberStatus(ctx context.Context, r *bot.Request) {
	if !r.Chat.Private() {
		return
	}
	_, err := h.store.UpdateUser(ctx, r.From.ID, func(u *affiliate.User) error {
		u.Reachable = !r.Blocked
		return nil
	})
	if err != nil && !errors.Is(err, affiliate.ErrUserNotFound) {
		zerolog.Ctx(ctx).Error().Err(err).Msg("record chat member status")
	}
}

func (h *Handler) message(ctx context.Context, r *bot.Request) {
	lang := affiliate.LangFromCode(r.From.LanguageCode)
	if r.Command != "" {
		rt, ok := h.commands[r.Command]
		if !ok {
			if r.Chat.Private() {
				h.reply(ctx, r, i18n.T(lang, "unknown_command"))
			}
			return
		}
		if rt.name == "start" {
			h.run(ctx, r, rt)
			return
		}
		c, ok := h.load(ctx, r)
		if !ok {
			return
		}
		h.gate(ctx, c, rt)
		return
	}
	if !r.Chat.Private() {
		return // the bot does not answer group chatter
	}
	c, ok := h.load(ctx, r)
	if !ok {
		return
	}
	f, ok, err := h.store.GetFlow(ctx, c.User.ID)
	if err != nil {
		h.fail(ctx, c, err)
		return
	}
	if ok {
		if step, found := h.flows[f.Name]; found {
			if err := step(ctx, c, f); err != nil {
				h.fail(ctx, c, err)
			}
			return
		}
		_ = h.store.DeleteFlow(ctx, c.User.ID) // a flow this version no longer knows
	}
	if r.Document != nil {
		if err := h.document(ctx, c); err != nil {
			h.fail(ctx, c, err)
		}
		return
	}
	_ = c.ReplyKey(ctx, "hint_free_text")
}

// run calls a route for /start, which registers the caller itself.
func (h *Handler) run(ctx context.Context, r *bot.Request, rt *route) {
	c := &Call{Request: r, Lang: affiliate.LangFromCode(r.From.LanguageCode), h: h}
	if err := rt.run(ctx, c); err != nil {
		h.fail(ctx, c, err)
	}
}

// load finds the caller; one who never sent /start is asked to.
func (h *Handler) load(ctx context.Context, r *bot.Request) (*Call, bool) {
	u, err := h.store.GetUser(ctx, r.From.ID)
	if err != nil {
		lang := affiliate.LangFromCode(r.From.LanguageCode)
		if errors.Is(err, affiliate.ErrUserNotFound) {
			if r.Kind == bot.KindCallback {
				_ = h.send.AnswerCallback(ctx, r, i18n.T(lang, "start_first_plain"), true)
			} else if r.Chat.Private() || r.Command != "" {
				h.reply(ctx, r, i18n.T(lang, "start_first"))
			}
			return nil, false
		}
		zerolog.Ctx(ctx).Error().Err(err).Msg("load user")
		h.reply(ctx, r, i18n.T(lang, "err.internal"))
		return nil, false
	}
	return &Call{Request: r, User: u, Roles: h.roles(u), Lang: u.Lang, h: h}, true
}

// gate is the role check: the only place that decides whether a caller may run a command.
func (h *Handler) gate(ctx context.Context, c *Call, rt *route) {
	if !c.Roles.Has(rt.role) {
		zerolog.Ctx(ctx).Info().Msg("command refused: role")
		_ = c.ReplyKey(ctx, refusalKey(rt.role))
		return
	}
	if rt.private && !c.Chat.Private() {
		_ = c.ReplyKey(ctx, "private_only", h.send.Username())
		return
	}
	if err := rt.run(ctx, c); err != nil {
		h.fail(ctx, c, err)
	}
}

func refusalKey(need affiliate.Role) string {
	switch {
	case need.Has(affiliate.RoleAdmin):
		return "refused_admin"
	case need.Has(affiliate.RoleSeller):
		return "refused_seller"
	}
	return "refused"
}

func (h *Handler) callback(ctx context.Context, r *bot.Request) {
	prefix, arg, _ := strings.Cut(r.CallbackData, ":")
	b, ok := h.buttons[prefix]
	if !ok {
		_ = h.send.AnswerCallback(ctx, r, i18n.T(affiliate.LangFromCode(r.From.LanguageCode), "button_stale"), false)
		return
	}
	c, ok := h.load(ctx, r)
	if !ok {
		return
	}
	if !c.Roles.Has(b.role) {
		zerolog.Ctx(ctx).Info().Str("button", prefix).Msg("button refused: role")
		_ = h.send.AnswerCallback(ctx, r, c.T(refusalKey(b.role)), true)
		return
	}
	if err := b.run(ctx, c, arg); err != nil {
		h.fail(ctx, c, err)
	}
}

// fail is the one place that decides what a user sees when a handler fails: the domain error's reason in
// their language, or a generic apology with the details only in the log.
func (h *Handler) fail(ctx context.Context, c *Call, err error) {
	log := zerolog.Ctx(ctx)
	code := affiliate.ErrorCode(err)
	if code == affiliate.EInternal {
		h.send.ErrorCount()
		log.Error().Err(err).Msg("handler failed")
	} else {
		log.Debug().Err(err).Msg("request refused")
	}
	text := i18n.Reason(c.Lang, err)
	if c.Kind == bot.KindCallback && !c.Answered() {
		_ = h.send.AnswerCallback(ctx, c.Request, text, true)
		return
	}
	_ = c.Reply(ctx, text)
}

// reply sends a plain notice without a loaded user.
func (h *Handler) reply(ctx context.Context, r *bot.Request, text string) {
	if _, err := h.send.Send(ctx, r.Chat.ID, bot.Message{Text: text}); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("reply")
	}
}

// notify sends a message to another user (an admin, a seller); failures are logged, not shown to the
// caller. The outbox will take these over.
func (h *Handler) notify(ctx context.Context, chatID int64, m bot.Message) {
	if _, err := h.send.Send(ctx, chatID, m); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int64("to_chat_id", chatID).Msg("notify")
	}
}

// Package commands turns updates into calls on the store and replies. It holds the single route table
// of commands and buttons, the role gate (the one place that decides who may do what), multi-step flows
// and the mapping of errors to what a user reads. Business rules live in affiliate, not here.
package commands

import (
	"context"
	"errors"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// Accounts is what every command needs of the user records: finding the caller, registering, settings
// and erasure.
type Accounts interface {
	RegisterUser(ctx context.Context, u affiliate.User) (affiliate.User, bool, error)
	GetUser(ctx context.Context, id int64) (affiliate.User, error)
	UpdateUser(ctx context.Context, id int64, fn func(*affiliate.User) error) (affiliate.User, error)
	DeleteUserData(ctx context.Context, id int64) error
	// SetReachable marks a user reachable or not; marking them unreachable drops their queued messages.
	SetReachable(ctx context.Context, userID int64, reachable bool) (int, error)
}

// Flows keeps the state of multi-step conversations.
type Flows interface {
	GetFlow(ctx context.Context, userID int64) (affiliate.Flow, bool, error)
	SaveFlow(ctx context.Context, f affiliate.Flow) error
	DeleteFlow(ctx context.Context, userID int64) error
}

// Messenger replies to the caller: sends and edits messages and answers button presses.
type Messenger interface {
	Send(ctx context.Context, chatID int64, m bot.Message) (int, error)
	Edit(ctx context.Context, chatID int64, messageID int, m bot.Message) error
	AnswerCallback(ctx context.Context, r *bot.Request, text string, alert bool) error
}

// Profile is the bot's own identity, for deep links and "open a private chat with @bot" hints.
type Profile interface {
	Username() string
}

// ErrorCounter counts handler failures the user saw as a generic apology.
type ErrorCounter interface {
	ErrorCount()
}

// Deps are the handler's collaborators, one field per concern. cmd passes the same *store.Store into
// every storage field and the same *bot.Bot into every Telegram field; tests may pass smaller things.
type Deps struct {
	Accounts     Accounts
	Flows        Flows
	Applications Applications
	Catalogue    Catalogue
	Links        Links
	Reports      Reports
	Keys         Keys
	Feedback     Feedback
	Orders       Orders
	Earnings     Earnings
	Messenger    Messenger
	Files        Files
	Downloads    Downloader
	Menus        Menus
	Profile      Profile
	Errors       ErrorCounter
	// Notifier tells other users things (admins, sellers, affiliates); nil means a DirectNotifier over
	// Accounts and Messenger.
	Notifier Notifier
	// Digests runs the daily digest on demand (/digestnow); nil refuses it.
	Digests DigestRunner
	// Queue queues notices for many users at once (broadcasts); Alerts sends policy alerts and
	// AlertStore reads their progress; Broadcasts keeps the sellers' limit; Stats feeds /stats.
	Queue      NoticeQueue
	Alerts     AlertSender
	AlertStore AlertReader
	Broadcasts Broadcasts
	Stats      StatsReader
}

// NoticeQueue renders notices for many users and queues them in the outbox in one batch (OutboxQueue).
type NoticeQueue interface {
	QueueNotices(ctx context.Context, users []affiliate.User, notices []affiliate.Notice) (int, error)
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
	// ProgressEvery is the least time between two edits of an admin's alert progress message (default
	// DefaultProgressEvery); ProgressTimeout is how long it is followed (default DefaultProgressTimeout).
	ProgressEvery   time.Duration
	ProgressTimeout time.Duration
}

// Handler is the bot.Handler of Keranjang.
type Handler struct {
	deps     Deps
	cfg      Config
	log      zerolog.Logger
	commands map[string]*route
	buttons  map[string]*button
	flows    map[string]flowStep
	order    []*route
	bg       background
}

// New builds the handler and its route table.
func New(deps Deps, cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultZone == nil {
		cfg.DefaultZone = time.UTC
	}
	if deps.Notifier == nil {
		deps.Notifier = NewNotifier(deps.Accounts, deps.Messenger, cfg.DefaultZone)
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = DefaultProgressEvery
	}
	if cfg.ProgressTimeout <= 0 {
		cfg.ProgressTimeout = DefaultProgressTimeout
	}
	h := &Handler{deps: deps, cfg: cfg, log: cfg.Logger.With().Str("component", "commands").Logger()}
	h.bg.ctx, h.bg.cancel = context.WithCancel(context.Background())
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
	_, err := c.h.deps.Messenger.Send(ctx, c.Chat.ID, m)
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

// memberStatus records that a user blocked or unblocked the bot in their private chat. Blocking drops
// the user's queued outbox messages at once.
func (h *Handler) memberStatus(ctx context.Context, r *bot.Request) {
	if !r.Chat.Private() {
		return
	}
	dropped, err := h.deps.Accounts.SetReachable(ctx, r.From.ID, !r.Blocked)
	if err != nil {
		zerolog.Ctx(ctx).Error().Err(err).Msg("record chat member status")
		return
	}
	zerolog.Ctx(ctx).Info().Bool("blocked", r.Blocked).Int("dropped", dropped).Msg("chat member status")
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
	f, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID)
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
		_ = h.deps.Flows.DeleteFlow(ctx, c.User.ID) // a flow this version no longer knows
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
	u, err := h.deps.Accounts.GetUser(ctx, r.From.ID)
	if err != nil {
		lang := affiliate.LangFromCode(r.From.LanguageCode)
		if errors.Is(err, affiliate.ErrUserNotFound) {
			if r.Kind == bot.KindCallback {
				h.toast(ctx, r, i18n.T(lang, "start_first_plain"), true)
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
		_ = c.ReplyKey(ctx, "private_only", h.deps.Profile.Username())
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
		h.toast(ctx, r, i18n.T(affiliate.LangFromCode(r.From.LanguageCode), "button_stale"), false)
		return
	}
	c, ok := h.load(ctx, r)
	if !ok {
		return
	}
	if !c.Roles.Has(b.role) {
		zerolog.Ctx(ctx).Info().Str("button", prefix).Msg("button refused: role")
		h.toast(ctx, r, c.T(refusalKey(b.role)), true)
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
		h.deps.Errors.ErrorCount()
		log.Error().Err(err).Msg("handler failed")
	} else {
		log.Debug().Err(err).Msg("request refused")
	}
	text := i18n.Reason(c.Lang, err)
	if c.Kind == bot.KindCallback && !c.Answered() {
		_ = c.Toast(ctx, text, true)
		return
	}
	_ = c.Reply(ctx, text)
}

// reply sends a plain notice without a loaded user.
func (h *Handler) reply(ctx context.Context, r *bot.Request, text string) {
	if _, err := h.deps.Messenger.Send(ctx, r.Chat.ID, bot.Message{Text: text}); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("reply")
	}
}

// Toast answers the button press of this call with plain text (never HTML: Telegram shows a toast as
// typed), cut to Telegram's 200 characters. text may be a catalogue message: its markup is removed.
func (c *Call) Toast(ctx context.Context, text string, alert bool) error {
	return c.h.deps.Messenger.AnswerCallback(ctx, c.Request, toastText(text), alert)
}

// toast answers a button press before the caller is loaded.
func (h *Handler) toast(ctx context.Context, r *bot.Request, text string, alert bool) {
	_ = h.deps.Messenger.AnswerCallback(ctx, r, toastText(text), alert)
}

// maxToastLen is Telegram's limit on answerCallbackQuery text.
const maxToastLen = 200

// toastText turns an HTML message into plain text of at most maxToastLen UTF-16 units.
func toastText(s string) string {
	s = plainText(s)
	if bot.UTF16Len(s) <= maxToastLen {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && bot.UTF16Len(string(r))+1 > maxToastLen {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// plainText removes the tags of Telegram HTML and decodes its entities. Every literal '<' of a message
// is escaped, so each '<' starts a tag.
func plainText(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		s = s[i+j+1:]
	}
	return html.UnescapeString(b.String())
}

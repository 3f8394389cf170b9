package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// Notifier tells a user something the bot decided to say on its own (an application for an admin, a new
// affiliate or feedback for a seller, a rate change for an affiliate): it looks the user up and renders
// the notice in their language. It returns an error when the message was not sent, so that no caller
// claims a delivery that did not happen.
type Notifier interface {
	Notify(ctx context.Context, userID int64, n affiliate.Notice) error
}

// ErrUnreachable is returned for a user who blocked the bot.
var ErrUnreachable = errors.New("user blocked the bot")

// UserLookup finds the recipient of a notice.
type UserLookup interface {
	GetUser(ctx context.Context, id int64) (affiliate.User, error)
}

// TextSender sends a message to a chat.
type TextSender interface {
	Send(ctx context.Context, chatID int64, m bot.Message) (int, error)
}

// Enqueuer queues messages in the durable outbox (store.Store implements it).
type Enqueuer interface {
	Enqueue(ctx context.Context, msgs []affiliate.OutboxMessage) (int, error)
}

// OutboxNotifier renders a notice in the recipient's language and time zone at once and queues it in the
// durable outbox, from which the delivery worker sends it. Notify returns when the message is queued
// durably (or was queued before under the same Notice.ID): from then on the notice is as good as sent.
type OutboxNotifier struct {
	users UserLookup
	queue Enqueuer
	wake  func()
	zone  *time.Location
}

// NewOutboxNotifier builds an OutboxNotifier; wake (may be nil) tells the delivery worker that a message
// is waiting; zone is the default time zone for dates (KERANJANG_TIMEZONE).
func NewOutboxNotifier(users UserLookup, queue Enqueuer, wake func(), zone *time.Location) *OutboxNotifier {
	if zone == nil {
		zone = time.UTC
	}
	if wake == nil {
		wake = func() {}
	}
	return &OutboxNotifier{users: users, queue: queue, wake: wake, zone: zone}
}

// Notify implements Notifier. A notice without an ID gets a fresh key, so it is always queued.
func (n *OutboxNotifier) Notify(ctx context.Context, userID int64, notice affiliate.Notice) error {
	u, err := n.users.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("notify %d: %w", userID, err)
	}
	if !u.Reachable {
		return fmt.Errorf("notify %d: %w", userID, ErrUnreachable)
	}
	m, err := OutboxMessage(u, n.zone, notice)
	if err != nil {
		return fmt.Errorf("notify %d: %w", userID, err)
	}
	queued, err := n.queue.Enqueue(ctx, []affiliate.OutboxMessage{m})
	if err != nil {
		return fmt.Errorf("notify %d: %w", userID, err)
	}
	if queued > 0 {
		n.wake()
	}
	return nil
}

// OutboxMessage renders a notice for u (in u's language and zone, zone being the default) as an outbox
// message to u's private chat, keyed by the notice's ID or, without one, by a fresh unique key.
func OutboxMessage(u affiliate.User, zone *time.Location, notice affiliate.Notice) (affiliate.OutboxMessage, error) {
	key := notice.ID
	if key == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return affiliate.OutboxMessage{}, fmt.Errorf("make outbox key: %w", err)
		}
		key = "notice:" + strconv.FormatInt(u.ID, 10) + ":" + hex.EncodeToString(b[:])
	}
	kind := notice.Kind
	if kind == "" {
		kind = "notice"
	}
	msg := renderNotice(u.Lang, u.Location(zone), notice)
	chat := u.ChatID
	if chat == 0 {
		chat = u.ID // a private chat's id is its user's id
	}
	m := affiliate.OutboxMessage{Key: key, Kind: kind, AlertID: notice.AlertID, UserID: u.ID, ChatID: chat, Text: msg.Text}
	for _, row := range msg.Keyboard {
		var r []affiliate.Button
		for _, b := range row {
			r = append(r, affiliate.Button{Text: b.Text, Data: b.CallbackData})
		}
		m.Buttons = append(m.Buttons, r)
	}
	return m, nil
}

// DirectNotifier sends notices at once with a direct Bot API call. The program queues them through the
// outbox (OutboxNotifier); DirectNotifier is the default of a Handler built without a Notifier, for
// tests that run no delivery worker.
type DirectNotifier struct {
	users UserLookup
	send  TextSender
	zone  *time.Location
}

// NewNotifier builds a DirectNotifier; zone is the default time zone for dates (KERANJANG_TIMEZONE).
func NewNotifier(users UserLookup, send TextSender, zone *time.Location) *DirectNotifier {
	if zone == nil {
		zone = time.UTC
	}
	return &DirectNotifier{users: users, send: send, zone: zone}
}

// Notify implements Notifier.
func (n *DirectNotifier) Notify(ctx context.Context, userID int64, notice affiliate.Notice) error {
	u, err := n.users.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("notify %d: %w", userID, err)
	}
	if !u.Reachable {
		return fmt.Errorf("notify %d: %w", userID, ErrUnreachable)
	}
	if _, err := n.send.Send(ctx, u.ChatID, renderNotice(u.Lang, u.Location(n.zone), notice)); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Int64("to_user_id", userID).Str("notice", notice.Key).Msg("notify")
		return fmt.Errorf("notify %d: %w", userID, err)
	}
	return nil
}

// renderNotice is the one place where a notice's arguments are formatted and escaped: money, rates and
// dates the way the recipient reads them, user text HTML-escaped.
func renderNotice(lang affiliate.Lang, loc *time.Location, n affiliate.Notice) bot.Message {
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		args[i] = noticeArg(lang, loc, a)
	}
	m := bot.Message{Text: i18n.T(lang, n.Key, args...)}
	for _, row := range n.Buttons {
		var r []bot.Button
		for _, b := range row {
			r = append(r, bot.Data(i18n.T(lang, b.Key), b.Data))
		}
		m.Keyboard = append(m.Keyboard, r)
	}
	return m
}

func noticeArg(lang affiliate.Lang, loc *time.Location, a any) any {
	switch v := a.(type) {
	case affiliate.Rupiah:
		return i18n.Money(v)
	case affiliate.BasisPoints:
		return i18n.Rate(lang, v)
	case time.Time:
		return i18n.Date(lang, v.In(loc))
	case string:
		return bot.Escape(v)
	case int, int64, uint64, int32, uint32:
		return v
	}
	return bot.Escape(fmt.Sprint(a))
}

// notify sends a notice and logs a failure; it reports whether the notice was sent.
func (h *Handler) notify(ctx context.Context, userID int64, n affiliate.Notice) bool {
	if err := h.deps.Notifier.Notify(ctx, userID, n); err != nil {
		zerolog.Ctx(ctx).Info().Err(err).Int64("to_user_id", userID).Str("notice", n.Key).Msg("notice not sent")
		return false
	}
	return true
}

package commands

import (
	"context"
	"errors"
	"fmt"
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

// DirectNotifier sends notices at once with a direct Bot API call. It is the one implementation of
// Notifier; the durable outbox replaces it here.
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
	case affiliate.CalendarDay:
		return i18n.DayDate(lang, time.Time(v).In(loc))
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

package commands

import (
	"context"
	"errors"
	"strings"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// DigestRunner runs the daily digest on demand (/digestnow): every user with the digest on who has not
// had today's digest, whatever their digest time. It returns how many digests were queued, how many due
// users had no activity and how many could not be queued.
type DigestRunner interface {
	DigestNow(ctx context.Context) (queued, idle, failed int, err error)
}

// digest sets when the daily digest comes: /digest HH:MM|off; without an argument it says when it comes.
func (h *Handler) digest(ctx context.Context, c *Call) error {
	arg := strings.TrimSpace(c.Args)
	if arg == "" {
		if c.User.DigestMinute < 0 {
			return c.ReplyKey(ctx, "digest_usage_off")
		}
		return c.ReplyKey(ctx, "digest_usage", i18n.Clock(c.User.DigestMinute), bot.Escape(zoneLabel(c.User.TimeZone)))
	}
	minute := -1
	if !strings.EqualFold(arg, "off") {
		m, err := affiliate.ParseClock(arg)
		if err != nil {
			return err
		}
		minute = m
	}
	return h.setDigest(ctx, c, minute, false)
}

// digestButton is the settings row: "digest:off", or "digest:HHMM".
func (h *Handler) digestButton(ctx context.Context, c *Call, arg string) error {
	minute := -1
	if arg != "off" {
		if len(arg) != 4 {
			return c.Toast(ctx, c.T("button_stale"), false)
		}
		m, err := affiliate.ParseClock(arg[:2] + ":" + arg[2:])
		if err != nil {
			return c.Toast(ctx, c.T("button_stale"), false)
		}
		minute = m
	}
	return h.setDigest(ctx, c, minute, true)
}

func (h *Handler) setDigest(ctx context.Context, c *Call, minute int, fromButton bool) error {
	u, err := h.deps.Accounts.UpdateUser(ctx, c.User.ID, func(u *affiliate.User) error { u.DigestMinute = minute; return nil })
	if err != nil {
		return err
	}
	c.User = u
	text := c.T("digest_off_done")
	if minute >= 0 {
		text = c.T("digest_set", i18n.Clock(minute), bot.Escape(zoneLabel(u.TimeZone)))
	}
	if fromButton {
		_ = c.Toast(ctx, bot.PlainText(text), false)
		return h.refreshSettings(ctx, c)
	}
	return c.Reply(ctx, text)
}

// digestRow is the settings keyboard's digest row: turn it off, or on at the default time.
func digestRow(c *Call) []bot.Button {
	if c.User.DigestMinute < 0 {
		return []bot.Button{bot.Data(c.T("digest_turn_on"), "digest:2100")}
	}
	return []bot.Button{bot.Data(c.T("digest_turn_off"), "digest:off")}
}

// digestNow queues today's digest for everyone who has not had it (admin).
func (h *Handler) digestNow(ctx context.Context, c *Call) error {
	if h.deps.Digests == nil {
		return errors.New("digestnow: no digest runner")
	}
	queued, idle, failed, err := h.deps.Digests.DigestNow(ctx)
	if err != nil {
		return err
	}
	return c.ReplyKey(ctx, "digestnow_done", queued, idle, failed)
}

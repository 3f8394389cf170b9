package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
)

// applySeller files the caller's seller application; admins are told with Approve / Reject buttons, or
// it is approved at once when approval is automatic.
func (h *Handler) applySeller(ctx context.Context, c *Call) error {
	if c.Roles.Has(seller) {
		return c.ReplyKey(ctx, "seller_already", bot.Escape(c.User.ShopName))
	}
	shop, err := affiliate.ValidateShopName(c.Args)
	if err != nil {
		if affiliate.ErrorReason(err) == "shop_name_empty" {
			return c.ReplyKey(ctx, "seller_usage")
		}
		return err
	}
	app, err := h.deps.Applications.ApplySeller(ctx, c.User.ID, shop)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Msg("seller application filed")
	if h.cfg.AutoApprove {
		return h.decide(ctx, c, c.User.ID, true, 0)
	}
	// Tell the applicant honestly where the application went: to the admins who got the card, or kept
	// until an admin can see it (none configured, or none reachable yet: /sellers lists it).
	sent := 0
	for _, id := range h.cfg.AdminIDs {
		n := applicationNotice(c.User, app)
		n.ID = fmt.Sprintf("app:%d:%d:%d", app.UserID, id, app.CreatedAt.Unix())
		if h.notify(ctx, id, n) {
			sent++
		}
	}
	switch {
	case len(h.cfg.AdminIDs) == 0:
		return c.ReplyKey(ctx, "seller_applied_no_admin", bot.Escape(app.ShopName))
	case sent == 0:
		return c.ReplyKey(ctx, "seller_applied_kept", bot.Escape(app.ShopName))
	}
	return c.ReplyKey(ctx, "seller_applied", bot.Escape(app.ShopName))
}

// applicationNotice is the card an admin sees for a pending application, with Approve / Reject buttons.
func applicationNotice(u affiliate.User, app affiliate.Application) affiliate.Notice {
	who := u.DisplayName()
	if u.Username != "" {
		who += " (@" + u.Username + ")"
	}
	id := strconv.FormatInt(u.ID, 10)
	return affiliate.Notice{
		Key:  "app_card",
		Args: []any{who, id, app.ShopName},
		Buttons: [][]affiliate.NoticeButton{{
			{Key: "approve_button", Data: "app:ok:" + id},
			{Key: "reject_button", Data: "app:no:" + id},
		}},
	}
}

func (h *Handler) approveCmd(ctx context.Context, c *Call) error { return h.decideCmd(ctx, c, true) }
func (h *Handler) rejectCmd(ctx context.Context, c *Call) error  { return h.decideCmd(ctx, c, false) }

func (h *Handler) decideCmd(ctx context.Context, c *Call, approve bool) error {
	id, err := strconv.ParseInt(strings.TrimSpace(c.Args), 10, 64)
	if err != nil || id <= 0 {
		key := "reject_usage"
		if approve {
			key = "approve_usage"
		}
		return c.ReplyKey(ctx, key)
	}
	return h.decide(ctx, c, id, approve, c.User.ID)
}

// applicationButton handles Approve / Reject on an application card: "app:ok:<user_id>".
func (h *Handler) applicationButton(ctx context.Context, c *Call, arg string) error {
	verb, idText, _ := strings.Cut(arg, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || (verb != "ok" && verb != "no") {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	return h.decide(ctx, c, id, verb == "ok", c.User.ID)
}

// decide approves or rejects an application and tells the applicant and the deciding admin. adminID 0
// means automatic approval.
func (h *Handler) decide(ctx context.Context, c *Call, userID int64, approve bool, adminID int64) error {
	app, u, err := h.deps.Applications.DecideApplication(ctx, userID, approve, adminID)
	if err != nil {
		if errors.Is(err, affiliate.ErrAppNotFound) || affiliate.ErrorReason(err) == "application_decided" {
			return h.answerDecided(ctx, c, userID, err)
		}
		return err
	}
	zerolog.Ctx(ctx).Info().Int64("applicant_id", userID).Bool("approved", approve).Msg("seller application decided")
	if approve {
		h.installChatMenu(ctx, u)
		h.notify(ctx, u.ID, affiliate.Notice{Key: "seller_approved", Args: []any{app.ShopName}})
	} else {
		h.notify(ctx, u.ID, affiliate.Notice{Key: "seller_rejected", Args: []any{app.ShopName}})
	}
	if adminID == 0 {
		return nil // automatic: the applicant was told above
	}
	key := "decided_rejected"
	if approve {
		key = "decided_approved"
	}
	text := c.T(key, bot.Escape(app.ShopName), strconv.FormatInt(userID, 10))
	if c.Kind == bot.KindCallback {
		_ = c.Toast(ctx, c.T(key+"_short"), false)
		return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: text})
	}
	return c.Reply(ctx, text)
}

// answerDecided tells an admin that there is nothing to decide, with the current state.
func (h *Handler) answerDecided(ctx context.Context, c *Call, userID int64, cause error) error {
	text := c.T("app_none", strconv.FormatInt(userID, 10))
	if app, err := h.deps.Applications.GetApplication(ctx, userID); err == nil && app.Status != affiliate.AppPending {
		text = c.T("app_already_"+string(app.Status), bot.Escape(app.ShopName))
	}
	zerolog.Ctx(ctx).Debug().Err(cause).Msg("nothing to decide")
	if c.Kind == bot.KindCallback {
		_ = c.Toast(ctx, text, true)
		if c.MessageID != 0 {
			return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: text})
		}
		return nil
	}
	return c.Reply(ctx, text)
}

// sellers lists pending applications, each with its buttons.
func (h *Handler) sellers(ctx context.Context, c *Call) error {
	apps, err := h.deps.Applications.PendingApplications(ctx)
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		return c.ReplyKey(ctx, "sellers_none")
	}
	if err := c.ReplyKey(ctx, "sellers_count", len(apps)); err != nil {
		return err
	}
	const maxCards = 20
	for i, app := range apps {
		if i == maxCards {
			return c.ReplyKey(ctx, "sellers_more", len(apps)-maxCards)
		}
		u, err := h.deps.Accounts.GetUser(ctx, app.UserID)
		if err != nil {
			u = affiliate.User{ID: app.UserID}
		}
		m := renderNotice(c.Lang, c.Location(), applicationNotice(u, app))
		if _, err := h.deps.Messenger.Send(ctx, c.Chat.ID, m); err != nil {
			return fmt.Errorf("send application card: %w", err)
		}
	}
	return nil
}

// Applications keeps seller applications.
type Applications interface {
	ApplySeller(ctx context.Context, userID int64, shopName string) (affiliate.Application, error)
	DecideApplication(ctx context.Context, userID int64, approve bool, adminID int64) (affiliate.Application, affiliate.User, error)
	GetApplication(ctx context.Context, userID int64) (affiliate.Application, error)
	PendingApplications(ctx context.Context) ([]affiliate.Application, error)
}

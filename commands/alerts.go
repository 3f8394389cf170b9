package commands

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// AlertSender creates a policy alert and starts its fan-out (scheduler.AlertSender).
type AlertSender interface {
	SendAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error)
}

// AlertReader reads an alert and its delivery counts, for the admin's progress message.
type AlertReader interface {
	GetAlert(ctx context.Context, id uint64) (affiliate.Alert, error)
	AlertCounts(ctx context.Context, id uint64) (affiliate.AlertCounts, error)
}

// Broadcasts keeps the one-broadcast-an-hour limit of sellers.
type Broadcasts interface {
	LastBroadcast(ctx context.Context, sellerID int64) (time.Time, error)
	BeginBroadcast(ctx context.Context, sellerID int64, at time.Time) (uint64, error)
}

// StatsReader is what /stats reads.
type StatsReader interface {
	Stats(ctx context.Context) (affiliate.Stats, error)
	OutboxStats(ctx context.Context) (affiliate.OutboxStats, error)
}

// Defaults of the admin's alert progress message.
const (
	DefaultProgressEvery   = 3 * time.Second
	DefaultProgressTimeout = 2 * time.Hour
)

// Flow names of the drafts that wait for a button.
const (
	flowPolicy    = "policy"
	flowBroadcast = "broadcast"
)

// background runs the handler's own goroutines (the admins' progress messages) until Close.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Close stops the handler's background work (progress messages) and waits for it, at most until ctx ends.
func (h *Handler) Close(ctx context.Context) error {
	h.bg.cancel()
	done := make(chan struct{})
	go func() {
		h.bg.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// alertsCmd turns policy alerts on or off: /alerts on|off.
func (h *Handler) alertsCmd(ctx context.Context, c *Call) error {
	arg := strings.ToLower(strings.TrimSpace(c.Args))
	if arg != "on" && arg != "off" {
		state := c.T("off")
		if c.User.AlertsOn {
			state = c.T("on")
		}
		return c.ReplyKey(ctx, "alerts_usage", state)
	}
	on := arg == "on"
	u, err := h.deps.Accounts.UpdateUser(ctx, c.User.ID, func(u *affiliate.User) error { u.AlertsOn = on; return nil })
	if err != nil {
		return err
	}
	c.User = u
	if on {
		return c.ReplyKey(ctx, "alerts_on_done")
	}
	return c.ReplyKey(ctx, "alerts_off_done")
}

// policy drafts a policy alert: /policy <title line>\n<body>. The draft waits in the admin's flow for
// one of the audience buttons.
func (h *Handler) policy(ctx context.Context, c *Call) error {
	title, body := affiliate.SplitPolicyText(c.Args)
	if title == "" {
		return c.ReplyKey(ctx, "policy_usage")
	}
	if _, err := affiliate.NewAlert(title, body, "", affiliate.AudienceAll, ""); err != nil {
		return err
	}
	if err := h.deps.Flows.SaveFlow(ctx, affiliate.Flow{UserID: c.User.ID, Name: flowPolicy,
		Data: map[string]string{"title": title, "body": body}, UpdatedAt: h.cfg.Now()}); err != nil {
		return err
	}
	return c.Reply(ctx, c.T("policy_preview", bot.Escape(title), bot.Escape(body)), bot.Keyboard{
		{bot.Data(c.T("policy_to_all"), "pol:all"), bot.Data(c.T("policy_to_affiliates"), "pol:affiliates"),
			bot.Data(c.T("policy_to_sellers"), "pol:sellers")},
		{bot.Data(c.T("cancel_button"), "pol:cancel")},
	})
}

// policyFlow answers text sent while a draft waits for its button.
func (h *Handler) policyFlow(ctx context.Context, c *Call, _ affiliate.Flow) error {
	return c.ReplyKey(ctx, "draft_waiting")
}

// policyButton sends the drafted alert to the audience pressed, or drops the draft.
func (h *Handler) policyButton(ctx context.Context, c *Call, arg string) error {
	f, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if !ok || f.Name != flowPolicy {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	// The draft goes first, so that a second press finds nothing to send.
	if err := h.deps.Flows.DeleteFlow(ctx, c.User.ID); err != nil {
		return err
	}
	if arg == "cancel" {
		_ = c.Toast(ctx, c.T("policy_cancelled"), false)
		return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("policy_cancelled")})
	}
	aud, ok := affiliate.ParseAudience(arg)
	if !ok {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	a, err := affiliate.NewAlert(f.Data["title"], f.Data["body"], "", aud, "admin:"+strconv.FormatInt(c.User.ID, 10))
	if err != nil {
		return err
	}
	if a, err = h.deps.Alerts.SendAlert(ctx, a); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("alert_id", a.ID).Str("audience", string(aud)).Msg("policy alert sent")
	_ = c.Toast(ctx, c.T("policy_sending"), false)
	text := progressText(c.Lang, a.ID, affiliate.AlertCounts{}, false)
	if err := h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: text}); err != nil {
		return err
	}
	h.watchAlert(c.Chat.ID, c.MessageID, c.Lang, a.ID, text)
	return nil
}

// progressText is the admin's progress message of an alert, or its final report when done.
func progressText(lang affiliate.Lang, id uint64, n affiliate.AlertCounts, done bool) string {
	key := "policy_progress"
	if done {
		key = "policy_report"
	}
	return i18n.T(lang, key, id, n.Queued, n.Delivered, n.Unreachable, n.Failed, n.Skipped)
}

// watchAlert edits the admin's progress message as the alert goes out, at most every ProgressEvery, until
// the fan-out is done and nothing is queued any more (then the final report), ProgressTimeout passes, or
// the handler closes. A progress message is not durable: after a restart GET /api/v1/alerts/{id} and
// /stats still tell.
func (h *Handler) watchAlert(chatID int64, msgID int, lang affiliate.Lang, id uint64, last string) {
	h.bg.wg.Add(1)
	go func() {
		defer h.bg.wg.Done()
		ctx := h.bg.ctx
		log := h.log.With().Uint64("alert_id", id).Int64("chat_id", chatID).Logger()
		tick := time.NewTicker(h.cfg.ProgressEvery)
		defer tick.Stop()
		deadline := time.NewTimer(h.cfg.ProgressTimeout)
		defer deadline.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-deadline.C:
				h.editProgress(ctx, log, chatID, msgID, last+"\n\n"+i18n.T(lang, "policy_still_going"))
				return
			case <-tick.C:
			}
			a, err := h.deps.AlertStore.GetAlert(ctx, id)
			if err != nil {
				log.Warn().Err(err).Msg("alert progress")
				continue
			}
			n, err := h.deps.AlertStore.AlertCounts(ctx, id)
			if err != nil {
				log.Warn().Err(err).Msg("alert progress")
				continue
			}
			done := a.FannedOut && n.Queued == 0
			if text := progressText(lang, id, n, done); text != last {
				h.editProgress(ctx, log, chatID, msgID, text)
				last = text
			}
			if done {
				return
			}
		}
	}()
}

func (h *Handler) editProgress(ctx context.Context, log zerolog.Logger, chatID int64, msgID int, text string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.deps.Messenger.Edit(ctx, chatID, msgID, bot.Message{Text: text}); err != nil {
		log.Warn().Err(err).Msg("edit alert progress")
	}
}

// broadcast drafts a seller's message to every affiliate of their products, with a confirm button.
func (h *Handler) broadcast(ctx context.Context, c *Call) error {
	if strings.TrimSpace(c.Args) == "" {
		return c.ReplyKey(ctx, "broadcast_usage")
	}
	text, err := affiliate.ValidateBroadcast(c.Args)
	if err != nil {
		return err
	}
	if ok, err := h.broadcastAllowed(ctx, c); err != nil || !ok {
		return err
	}
	ids, err := h.sellerAffiliates(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return c.ReplyKey(ctx, "broadcast_nobody")
	}
	if err := h.deps.Flows.SaveFlow(ctx, affiliate.Flow{UserID: c.User.ID, Name: flowBroadcast,
		Data: map[string]string{"text": text}, UpdatedAt: h.cfg.Now()}); err != nil {
		return err
	}
	return c.Reply(ctx, c.T("broadcast_preview", len(ids), bot.Escape(text)), bot.Keyboard{{
		bot.Data(c.T("broadcast_send"), "bc:send"), bot.Data(c.T("cancel_button"), "bc:cancel"),
	}})
}

// broadcastAllowed tells the seller when they may broadcast again, and reports whether they may now.
func (h *Handler) broadcastAllowed(ctx context.Context, c *Call) (bool, error) {
	last, err := h.deps.Broadcasts.LastBroadcast(ctx, c.User.ID)
	if err != nil {
		return false, err
	}
	if affiliate.BroadcastAllowed(last, h.cfg.Now()) {
		return true, nil
	}
	next := affiliate.NextBroadcast(last).In(c.Location())
	text := c.T("broadcast_wait", next.Format("15:04"), i18n.Date(c.Lang, next))
	if c.Kind == bot.KindCallback {
		_ = c.Toast(ctx, text, true)
		return false, h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: text})
	}
	return false, c.Reply(ctx, text)
}

// broadcastButton sends or drops the seller's draft.
func (h *Handler) broadcastButton(ctx context.Context, c *Call, arg string) error {
	f, ok, err := h.deps.Flows.GetFlow(ctx, c.User.ID)
	if err != nil {
		return err
	}
	if !ok || f.Name != flowBroadcast {
		return c.Toast(ctx, c.T("button_stale"), false)
	}
	if err := h.deps.Flows.DeleteFlow(ctx, c.User.ID); err != nil {
		return err
	}
	if arg != "send" {
		_ = c.Toast(ctx, c.T("broadcast_cancelled"), false)
		return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("broadcast_cancelled")})
	}
	id, err := h.deps.Broadcasts.BeginBroadcast(ctx, c.User.ID, h.cfg.Now())
	if affiliate.ErrorReason(err) == "broadcast_too_soon" {
		_, err = h.broadcastAllowed(ctx, c)
		return err
	}
	if err != nil {
		return err
	}
	ids, err := h.sellerAffiliates(ctx, c.User.ID)
	if err != nil {
		return err
	}
	queued, err := h.queueBroadcast(ctx, c.User, id, f.Data["text"], ids)
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("broadcast_id", id).Int("queued", queued).Msg("broadcast queued")
	_ = c.Toast(ctx, c.T("broadcast_sent_short"), false)
	return h.deps.Messenger.Edit(ctx, c.Chat.ID, c.MessageID, bot.Message{Text: c.T("broadcast_sent", queued)})
}

// sellerAffiliates returns the ids of the affiliates of a seller's products (the seller left out), each
// once, in id order.
func (h *Handler) sellerAffiliates(ctx context.Context, sellerID int64) ([]int64, error) {
	products, err := h.deps.Catalogue.SellerProducts(ctx, sellerID)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, p := range products {
		links, err := h.deps.Links.ProductLinks(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if l.AffiliateID != sellerID && !seen[l.AffiliateID] {
				seen[l.AffiliateID] = true
				ids = append(ids, l.AffiliateID)
			}
		}
	}
	return ids, nil
}

// queueBroadcast queues a broadcast for each affiliate through the outbox, keyed
// "broadcast:<seller>:<broadcast id>:<user>", in pages. Users who are gone are left out.
func (h *Handler) queueBroadcast(ctx context.Context, from affiliate.User, id uint64, text string, ids []int64) (int, error) {
	const page = 1000
	queued := 0
	for start := 0; start < len(ids); start += page {
		var users []affiliate.User
		var notices []affiliate.Notice
		for _, uid := range ids[start:min(start+page, len(ids))] {
			u, err := h.deps.Accounts.GetUser(ctx, uid)
			if errors.Is(err, affiliate.ErrUserNotFound) {
				continue
			}
			if err != nil {
				return queued, err
			}
			users = append(users, u)
			notices = append(notices, affiliate.Notice{Key: "broadcast_message", Args: []any{from.ShopName, text},
				ID: affiliate.BroadcastKey(from.ID, id, uid), Kind: "broadcast"})
		}
		n, err := h.deps.Queue.QueueNotices(ctx, users, notices)
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, nil
}

// stats shows the admin's counters.
func (h *Handler) stats(ctx context.Context, c *Call) error {
	st, err := h.deps.Stats.Stats(ctx)
	if err != nil {
		return err
	}
	ob, err := h.deps.Stats.OutboxStats(ctx)
	if err != nil {
		return err
	}
	return c.ReplyKey(ctx, "stats", st.Users, st.Reachable, st.Sellers, st.Pending, st.Products, st.Links,
		st.Clicks, st.Orders, ob.Queued, ob.Sent, ob.Failed, ob.Dropped)
}

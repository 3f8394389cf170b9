package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// Names of Keranjang's jobs, as they appear in logs (job=…), in metrics (the job label) and in RunNow.
const (
	JobPruneVisitors  = "prune_visitors"
	JobPruneClicks    = "prune_clicks"
	JobRemindRateCuts = "remind_rate_cuts"
	JobPruneOutbox    = "prune_outbox"
)

// OutboxRetention is how long finished outbox messages (sent, failed, dropped) are kept: long enough to
// look into a complaint about a message, not forever.
const OutboxRetention = 30 * 24 * time.Hour

// OutboxPruner deletes finished outbox messages.
type OutboxPruner interface {
	PruneOutbox(ctx context.Context, before time.Time) (int, error)
}

// PruneOutbox is the job that deletes outbox messages finished more than OutboxRetention ago (the store
// keeps every idempotency key of the last two days whatever it is asked).
func PruneOutbox(st OutboxPruner, now func() time.Time) Job {
	return func(ctx context.Context) error {
		n, err := st.PruneOutbox(ctx, now().Add(-OutboxRetention))
		zerolog.Ctx(ctx).Info().Int("pruned", n).Msg("finished outbox messages pruned")
		return err
	}
}

// ClickRetentionMargin is kept beyond the attribution window before raw clicks are pruned, so that an
// order reported a little late, or while the clock of a shop is off, still finds its click.
const ClickRetentionMargin = 24 * time.Hour

// VisitorPruner forgets visitor marks that can no longer change a unique-click decision.
type VisitorPruner interface {
	PruneVisitors(ctx context.Context, before time.Time) (int, error)
}

// ClickPruner deletes raw clicks older than a time; the hourly aggregates stay.
type ClickPruner interface {
	PruneClicks(ctx context.Context, before time.Time) (int, error)
}

// ReminderStore is what the rate-cut reminders read and mark.
type ReminderStore interface {
	ListLinks(ctx context.Context, after string, limit int) ([]affiliate.Link, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	UpdateLink(ctx context.Context, code string, fn func(*affiliate.Link) error) (affiliate.Link, error)
}

// Notifier tells a user something in their language; it returns an error when the message was not sent.
type Notifier interface {
	Notify(ctx context.Context, userID int64, n affiliate.Notice) error
}

// Jobs are the collaborators of Keranjang's standard jobs.
type Jobs struct {
	Visitors  VisitorPruner
	Clicks    ClickPruner
	Reminders ReminderStore
	Notifier  Notifier
	// Outbox is pruned daily of old finished messages (prune_outbox); nil leaves the job out.
	Outbox OutboxPruner
	// Digests is the daily digest job; nil leaves it out.
	Digests *Digests
	// AttributionWindow is KERANJANG_ATTRIBUTION_WINDOW: raw clicks are kept this long plus
	// ClickRetentionMargin.
	AttributionWindow time.Duration
	Now               func() time.Time
	// Alerts and Queue fan policy alerts out (fan_out_alerts); nil leaves the job out.
	Alerts AlertStore
	Queue  NoticeQueue
	// Feeds are KERANJANG_POLICY_FEEDS, read by policy_feeds into FeedStore with FeedClient (default
	// NewFeedClient); no feeds leave the job out.
	Feeds      []string
	FeedStore  FeedStore
	FeedClient *http.Client
}

// AddJobs schedules the standard jobs:
//
//	prune_visitors    every hour      visitor marks older than affiliate.UniqueWindow
//	prune_clicks      daily at 03:30  raw clicks older than the attribution window + ClickRetentionMargin
//	remind_rate_cuts  every hour      reminders that a kept rate drops within affiliate.ReminderLead
//	prune_outbox      daily at 03:45  outbox messages finished more than OutboxRetention ago
//	digest            every minute    the daily digests that are due (see Digests)
//	fan_out_alerts    every minute    pending policy alerts queued for their audience (and on Trigger)
//	policy_feeds      every 15 min    new items of the policy feeds become alerts
func (s *Scheduler) AddJobs(j Jobs) error {
	if j.Now == nil {
		j.Now = time.Now
	}
	errs := []error{
		s.Add(JobPruneVisitors, "@every 1h", time.Minute, PruneVisitors(j.Visitors, j.Now)),
		s.Add(JobPruneClicks, "30 3 * * *", 10*time.Minute, PruneClicks(j.Clicks, j.AttributionWindow, j.Now)),
		s.Add(JobRemindRateCuts, "@every 1h", 5*time.Minute, RemindRateCuts(j.Reminders, j.Notifier, j.Now)),
	}
	if j.Outbox != nil {
		errs = append(errs, s.Add(JobPruneOutbox, "45 3 * * *", 10*time.Minute, PruneOutbox(j.Outbox, j.Now)))
	}
	if j.Digests != nil {
		errs = append(errs, s.Add(JobDigest, "* * * * *", 10*time.Minute, j.Digests.Job()))
	}
	if j.Alerts != nil && j.Queue != nil {
		errs = append(errs, s.Add(JobFanOutAlerts, "@every 1m", time.Hour, FanOutAlerts(j.Alerts, j.Queue, FanOutPage)))
	}
	if len(j.Feeds) > 0 && j.FeedStore != nil {
		errs = append(errs, s.Add(JobPolicyFeeds, "@every 15m", 5*time.Minute,
			PolicyFeeds(j.FeedStore, j.FeedClient, j.Feeds, func() { s.Trigger(JobFanOutAlerts) })))
	}
	return errors.Join(errs...)
}

// PruneVisitors is the job that forgets visitor marks older than affiliate.UniqueWindow.
func PruneVisitors(st VisitorPruner, now func() time.Time) Job {
	return func(ctx context.Context) error {
		n, err := st.PruneVisitors(ctx, now().Add(-affiliate.UniqueWindow))
		zerolog.Ctx(ctx).Debug().Int("pruned", n).Msg("visitor marks pruned")
		return err
	}
}

// PruneClicks is the job that deletes raw clicks older than the attribution window plus
// ClickRetentionMargin: no order can be attributed to them any more, and reports read the hourly
// aggregates, never raw clicks.
func PruneClicks(st ClickPruner, window time.Duration, now func() time.Time) Job {
	return func(ctx context.Context) error {
		if window <= 0 {
			return fmt.Errorf("prune clicks: attribution window %v", window)
		}
		n, err := st.PruneClicks(ctx, now().Add(-window-ClickRetentionMargin))
		zerolog.Ctx(ctx).Info().Int("pruned", n).Msg("raw clicks pruned")
		return err
	}
}

// reminderPage is how many links one read of the reminder job takes.
const reminderPage = 1000

// RemindRateCuts is the job that reminds affiliates, once per cut, that their kept rate ends within
// affiliate.ReminderLead (affiliate.ReminderDue). A link is marked reminded only when the reminder was
// sent, or when its affiliate is gone; a failed send is tried again on the next run.
func RemindRateCuts(st ReminderStore, n Notifier, now func() time.Time) Job {
	return func(ctx context.Context) error {
		log := zerolog.Ctx(ctx)
		t := now()
		var due []affiliate.Link
		for after := ""; ; {
			page, err := st.ListLinks(ctx, after, reminderPage)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for _, l := range page {
				// A first look without the product: most links keep no rate.
				if l.KeptRate > 0 && !l.Reminded && affiliate.ReminderDue(l, 0, t) {
					due = append(due, l)
				}
			}
			after = page[len(page)-1].Code
		}
		sent, failed := 0, 0
		for _, l := range due {
			if err := ctx.Err(); err != nil {
				return err
			}
			p, err := st.GetProduct(ctx, l.ProductID)
			if err != nil {
				return err
			}
			if !affiliate.ReminderDue(l, p.Rate, t) {
				continue // a raise since the cut made the kept rate moot
			}
			err = n.Notify(ctx, l.AffiliateID, affiliate.Notice{Key: "rate_reminder",
				Args: []any{p.Name, l.KeptRate, p.Rate, l.KeptUntil}, ID: fmt.Sprintf("reminder:%s:%d", l.Code, l.KeptUntil.Unix())})
			if err != nil && !errors.Is(err, affiliate.ErrUserNotFound) {
				failed++
				log.Warn().Err(err).Str("link_code", l.Code).Msg("rate-cut reminder not sent")
				continue
			}
			if _, err := st.UpdateLink(ctx, l.Code, func(l *affiliate.Link) error { l.Reminded = true; return nil }); err != nil {
				return err
			}
			sent++
		}
		log.Info().Int("reminded", sent).Int("failed", failed).Msg("rate-cut reminders")
		return nil
	}
}

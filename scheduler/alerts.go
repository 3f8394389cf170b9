package scheduler

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// JobFanOutAlerts is the job that queues every pending policy alert for its audience. It runs every
// minute (which resumes a fan-out a restart interrupted) and at once when an alert is created (Trigger).
const JobFanOutAlerts = "fan_out_alerts"

// FanOutPage is how many users one step of a fan-out reads and queues: one short read, one outbox
// transaction and one cursor update per page, never all users at once.
const FanOutPage = 1000

// AlertStore is what the fan-out reads and marks.
type AlertStore interface {
	PendingAlerts(ctx context.Context) ([]affiliate.Alert, error)
	AlertProgress(ctx context.Context, id uint64) (affiliate.AlertProgress, error)
	AdvanceFanout(ctx context.Context, id uint64, from, to int64, skipped int) (bool, error)
	MarkFannedOut(ctx context.Context, id uint64) error
	ListUsers(ctx context.Context, after int64, limit int) ([]affiliate.User, error)
}

// NoticeQueue renders notices, each in its user's language, and queues them in the outbox in one
// durable batch; a notice whose ID is already in the outbox is not queued again.
type NoticeQueue interface {
	QueueNotices(ctx context.Context, users []affiliate.User, notices []affiliate.Notice) (int, error)
}

// AlertNotice is the outbox message of alert a for one user: keyed "alert:<id>:<user>", so that the
// same alert reaches a user at most once however often its fan-out runs.
func AlertNotice(a affiliate.Alert, userID int64) affiliate.Notice {
	n := affiliate.Notice{Key: "alert", Args: []any{a.Title, a.Body}, ID: affiliate.AlertKey(a.ID, userID),
		Kind: "alert", AlertID: a.ID}
	if a.URL != "" {
		n.Key, n.Args = "alert_url", append(n.Args, a.URL)
	}
	return n
}

// FanOutAlerts is the job that fans out every pending alert, oldest first.
func FanOutAlerts(st AlertStore, q NoticeQueue, page int) Job {
	if page <= 0 {
		page = FanOutPage
	}
	return func(ctx context.Context) error {
		alerts, err := st.PendingAlerts(ctx)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if err := FanOut(ctx, st, q, a, page); err != nil {
				return err
			}
		}
		return nil
	}
}

// FanOut queues alert a for every user of its audience, page by page from where its cursor stands.
// Users with alerts off are counted as skipped and get nothing; users who blocked the bot get a message
// the outbox drops at once (counted unreachable). Each page is queued first and then committed by moving
// the cursor; a page queued again after a crash queues nothing new, since its keys are taken. It marks
// the alert fanned out at the end.
func FanOut(ctx context.Context, st AlertStore, q NoticeQueue, a affiliate.Alert, page int) error {
	p, err := st.AlertProgress(ctx, a.ID)
	if err != nil {
		return err
	}
	cursor, queued, skipped := p.Cursor, 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		users, err := st.ListUsers(ctx, cursor, page)
		if err != nil {
			return err
		}
		if len(users) == 0 {
			break
		}
		var to []affiliate.User
		var notices []affiliate.Notice
		off := 0
		for i := range users {
			switch affiliate.AlertFateOf(&users[i], a.Audience) {
			case affiliate.AlertQueue:
				to = append(to, users[i])
				notices = append(notices, AlertNotice(a, users[i].ID))
			case affiliate.AlertSkipOff:
				off++
			}
		}
		if len(to) > 0 {
			n, err := q.QueueNotices(ctx, to, notices)
			if err != nil {
				return fmt.Errorf("fan out alert %d: %w", a.ID, err)
			}
			queued += n
		}
		next := users[len(users)-1].ID
		ok, err := st.AdvanceFanout(ctx, a.ID, cursor, next, off)
		if err != nil {
			return err
		}
		if !ok { // another run moved the cursor: go on from where it stands
			if p, err = st.AlertProgress(ctx, a.ID); err != nil {
				return err
			}
			cursor = p.Cursor
			continue
		}
		cursor, skipped = next, skipped+off
	}
	if err := st.MarkFannedOut(ctx, a.ID); err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Uint64("alert_id", a.ID).Str("audience", string(a.Audience)).Int("queued", queued).
		Int("skipped", skipped).Msg("alert fanned out")
	return nil
}

// AlertCreator stores new alerts.
type AlertCreator interface {
	CreateAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error)
}

// Triggerer starts a named job soon (*Scheduler does; with several instances, whatever reaches the
// scheduler of the instance that leads).
type Triggerer interface {
	Trigger(name string)
}

// AlertSender creates policy alerts and starts their fan-out at once: the one way the bot, the admin
// API and the feeds send an alert.
type AlertSender struct {
	st    AlertCreator
	sched Triggerer
}

// NewAlertSender builds an AlertSender on the scheduler that runs JobFanOutAlerts.
func NewAlertSender(st AlertCreator, s Triggerer) *AlertSender {
	return &AlertSender{st: st, sched: s}
}

// SendAlert stores a and triggers its fan-out; the fan-out runs in the background and resumes after a
// restart. It returns the stored alert.
func (s *AlertSender) SendAlert(ctx context.Context, a affiliate.Alert) (affiliate.Alert, error) {
	a, err := s.st.CreateAlert(ctx, a)
	if err != nil {
		return a, err
	}
	s.sched.Trigger(JobFanOutAlerts)
	return a, nil
}

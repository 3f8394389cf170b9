package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// JobDigest is the daily digest job, run every minute.
const JobDigest = "digest"

// DigestStore is what the digest job reads and marks: the digest schedule (users by zone and local
// digest minute) and the aggregates a digest is built from.
type DigestStore interface {
	DigestZones(ctx context.Context) ([]string, error)
	DigestDue(ctx context.Context, zone string, fromMinute, toMinute int, skipDate string, after affiliate.DigestEntry, limit int) ([]affiliate.DigestEntry, error)
	MarkDigests(ctx context.Context, zone string, entries []affiliate.DigestEntry, date string) error
	AffiliateDigest(ctx context.Context, affiliateID int64, from, to, monthFrom time.Time) (affiliate.DigestCounts, error)
}

// digestPage is how many schedule entries one read of the digest job takes, and how many are marked
// handled in one write.
const digestPage = 1000

// digestWorkers build and queue the digests of a page side by side, so that a notifier that writes each
// message durably can share its commits (bbolt's group commit) instead of paying one fsync each.
const digestWorkers = 8

// Digests is the daily digest (PRODUCT.md §5). Each run looks, zone by zone, for the users whose digest
// time has come today in that zone and whose digest of today's local date is not handled yet, builds
// each digest from aggregates and hands it to the Notifier with the idempotency key
// affiliate.DigestKey, then marks the users handled. Users without activity in the period get nothing
// and are marked handled too.
//
// The cost of a run grows with the users who are due, not with all users: per zone it reads only the
// schedule entries whose minute lies between the last minute the previous run handled and now. A zone's
// first run of a day, of a process, and the first run of each hour, read from 00:00 instead: that finds
// the digests missed while the bot was down and the users who moved their digest to a time already
// passed; the entries handled today are left out by their handled date, and a digest queued just before
// a crash but not yet marked is kept from going out twice by its outbox key.
type Digests struct {
	st   DigestStore
	n    Notifier
	loc  *time.Location
	now  func() time.Time
	mu   sync.Mutex // one run at a time: the minute job and /digestnow
	done map[string]zoneMark
}

// zoneMark is how far a zone was handled: every entry up to minute of the local date is handled.
type zoneMark struct {
	date   string
	hour   int
	minute int
}

// NewDigests builds the digest job; loc is the zone of users without one of their own.
func NewDigests(st DigestStore, n Notifier, loc *time.Location, now func() time.Time) *Digests {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Digests{st: st, n: n, loc: loc, now: now, done: map[string]zoneMark{}}
}

// DigestResult counts what a run did.
type DigestResult struct {
	Queued int // digests handed to the notifier
	Idle   int // due users without activity: nothing sent
	Failed int // digests the notifier refused; tried again next run
}

// Job is the scheduled run (JobDigest).
func (d *Digests) Job() Job {
	return func(ctx context.Context) error {
		r, err := d.Run(ctx)
		zerolog.Ctx(ctx).Info().Int("queued", r.Queued).Int("idle", r.Idle).Int("failed", r.Failed).Msg("digests")
		return err
	}
}

// Run handles every user whose digest time has come today in their zone.
func (d *Digests) Run(ctx context.Context) (DigestResult, error) {
	return d.run(ctx, false)
}

// RunAll handles every user with the digest on who has not had today's digest, whatever their digest
// time (/digestnow).
func (d *Digests) RunAll(ctx context.Context) (DigestResult, error) {
	return d.run(ctx, true)
}

func (d *Digests) run(ctx context.Context, all bool) (DigestResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var total DigestResult
	zones, err := d.st.DigestZones(ctx)
	if err != nil {
		return total, err
	}
	now := d.now()
	var errs []error
	for _, zone := range zones {
		r, err := d.runZone(ctx, zone, now, all)
		total.Queued += r.Queued
		total.Idle += r.Idle
		total.Failed += r.Failed
		if err != nil {
			errs = append(errs, fmt.Errorf("digest zone %q: %w", zone, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

// zoneLocation loads a zone as the users store it; an empty or unknown one is the default zone, as
// affiliate.User.Location reads it.
func (d *Digests) zoneLocation(zone string) *time.Location {
	u := affiliate.User{TimeZone: zone}
	return u.Location(d.loc)
}

func (d *Digests) runZone(ctx context.Context, zone string, now time.Time, all bool) (DigestResult, error) {
	var res DigestResult
	loc := d.zoneLocation(zone)
	local := now.In(loc)
	date := affiliate.LocalDate(now, loc)
	minute := affiliate.LocalMinute(now, loc)
	from, to := 0, minute
	if all {
		to = affiliate.MinutesPerDay - 1
	} else if m, ok := d.done[zone]; ok && m.date == date && m.hour == local.Hour() {
		if m.minute >= minute {
			return res, nil // this minute is handled already
		}
		from = m.minute + 1
	}
	pFrom, pTo, _ := affiliate.DigestPeriod(now, loc)
	monthFrom := affiliate.MonthStart(pFrom, loc)
	notice := digestNotice(now, loc)

	var after affiliate.DigestEntry
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		page, err := d.st.DigestDue(ctx, zone, from, to, date, after, digestPage)
		if err != nil {
			return res, err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1]
		handled, r, err := d.page(ctx, page, pFrom, pTo, monthFrom, date, notice)
		res.Queued += r.Queued
		res.Idle += r.Idle
		res.Failed += r.Failed
		if merr := d.st.MarkDigests(ctx, zone, handled, date); merr != nil {
			return res, merr
		}
		if err != nil {
			return res, err
		}
	}
	if !all && res.Failed == 0 {
		d.done[zone] = zoneMark{date: date, hour: local.Hour(), minute: minute}
	}
	return res, nil
}

// page builds and queues the digests of one page of entries with a few workers and returns the entries
// that are handled: queued, or without activity. A notifier error leaves the entry for the next run.
func (d *Digests) page(ctx context.Context, page []affiliate.DigestEntry, from, to, monthFrom time.Time, date string,
	notice func(affiliate.DigestCounts) affiliate.Notice) ([]affiliate.DigestEntry, DigestResult, error) {
	out := make([]digestOutcome, len(page))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(digestWorkers, len(page)) {
		wg.Go(func() {
			for i := range next {
				out[i] = d.one(ctx, page[i].UserID, from, to, monthFrom, date, notice)
			}
		})
	}
	for i := range page {
		next <- i
	}
	close(next)
	wg.Wait()

	var (
		handled []affiliate.DigestEntry
		res     DigestResult
		errs    []error
	)
	for i, o := range out {
		switch {
		case o.err != nil:
			errs = append(errs, o.err)
		case !o.handled:
			res.Failed++
		case o.queued:
			res.Queued++
		default:
			res.Idle++
		}
		if o.handled {
			handled = append(handled, page[i])
		}
	}
	return handled, res, errors.Join(errs...)
}

// digestOutcome is what became of one due user: handled (queued, or nothing to report), or not (the
// notifier failed: tried again next run); err is a store error, which stops the run.
type digestOutcome struct {
	handled bool
	queued  bool
	err     error
}

// one builds and queues one user's digest.
func (d *Digests) one(ctx context.Context, userID int64, from, to, monthFrom time.Time, date string,
	notice func(affiliate.DigestCounts) affiliate.Notice) (o digestOutcome) {
	c, err := d.st.AffiliateDigest(ctx, userID, from, to, monthFrom)
	if err != nil {
		o.err = err
		return o
	}
	if !c.Active() {
		o.handled = true
		return o
	}
	n := notice(c)
	n.ID = affiliate.DigestKey(userID, date)
	err = d.n.Notify(ctx, userID, n)
	switch {
	case err == nil:
		o.handled, o.queued = true, true
	case errors.Is(err, affiliate.ErrUserNotFound):
		o.handled = true // gone since the schedule was read
	default:
		zerolog.Ctx(ctx).Warn().Err(err).Int64("user_id", userID).Msg("digest not queued")
	}
	return o
}

// digestNotice returns the builder of the digest notices of a zone at now. Keys: digest.today (from
// noon, the day so far) and digest.yesterday (before noon, the previous day).
func digestNotice(now time.Time, loc *time.Location) func(affiliate.DigestCounts) affiliate.Notice {
	from, _, today := affiliate.DigestPeriod(now, loc)
	key := "digest.yesterday"
	if today {
		key = "digest.today"
	}
	day := affiliate.CalendarDay(from)
	return func(c affiliate.DigestCounts) affiliate.Notice {
		best := c.Best.Name
		if best == "" {
			best = "—"
		}
		return affiliate.Notice{Key: key, Kind: "digest", Args: []any{
			day,
			c.Day.Clicks, c.Day.UniqueClicks,
			c.Day.Orders, affiliate.ConversionRate(c.Day),
			c.Day.GMV,
			c.Day.CommissionPending, c.Day.CommissionSettled, c.Day.CommissionReversed,
			best, c.Best.Counts.Commission(), c.Best.Counts.Clicks,
			c.Month.Clicks, c.Month.Orders, c.Month.GMV, c.Month.CommissionPending, c.Month.CommissionSettled,
		}}
	}
}

// DigestNow is RunAll for the /digestnow command: queued, idle and failed counts.
func (d *Digests) DigestNow(ctx context.Context) (queued, idle, failed int, err error) {
	r, err := d.RunAll(ctx)
	zerolog.Ctx(ctx).Info().Int("queued", r.Queued).Int("idle", r.Idle).Int("failed", r.Failed).Msg("digests on demand")
	return r.Queued, r.Idle, r.Failed, err
}

package affiliate

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// DigestNoon is the local minute from which a daily digest covers the current day so far; a digest sent
// before it covers the previous day (PRODUCT.md §5).
const DigestNoon = 12 * 60

// MinutesPerDay bounds a digest minute: 0 ≤ DigestMinute < MinutesPerDay, or -1 for off.
const MinutesPerDay = 24 * 60

// DigestPeriod returns what a digest sent at now in loc covers: before DigestNoon the whole previous
// local day [its start, today's start), from DigestNoon on the current day so far [today's start, now).
// today says which of the two it is.
func DigestPeriod(now time.Time, loc *time.Location) (from, to time.Time, today bool) {
	start, _ := LocalDay(now, loc)
	if LocalMinute(now, loc) >= DigestNoon {
		return start, now, true
	}
	from, _ = LocalDay(start.Add(-time.Nanosecond), loc)
	return from, start, false
}

// MonthStart returns the first instant of the calendar month of loc that contains t.
func MonthStart(t time.Time, loc *time.Location) time.Time {
	y, m, _ := t.In(loc).Date()
	return dayStart(y, m, 1, loc)
}

// LocalMinute is the wall-clock time of t in loc in minutes after midnight.
func LocalMinute(t time.Time, loc *time.Location) int {
	h, m, _ := t.In(loc).Clock()
	return h*60 + m
}

// LocalDate is the calendar date (DateLayout) of t in loc.
func LocalDate(t time.Time, loc *time.Location) string { return t.In(loc).Format(DateLayout) }

// DigestKey is the outbox idempotency key of a user's digest of a local date (the date it is sent on):
// at most one digest per user per local date.
func DigestKey(userID int64, date string) string { return fmt.Sprintf("digest:%d:%s", userID, date) }

// DigestEntry is one user's place in the digest schedule of a time zone: the local minute of their
// digest and the local date whose digest was last handled (queued, or found with nothing to report);
// "" for none yet. Minute and UserID also serve as the keyset cursor of the schedule.
type DigestEntry struct {
	Minute  int
	UserID  int64
	Handled string
}

// DigestCounts are what a digest is built from, all read from aggregates: the period's counts, the
// month to date (from the month's start to the period's end) and the best product of the period. Best
// is zero when the period has no activity, and the month is then not read.
type DigestCounts struct {
	Day   Counts
	Month Counts
	Best  BestProduct
}

// Active reports whether the period had anything to tell: a click or an order.
func (d DigestCounts) Active() bool { return d.Day.Clicks > 0 || d.Day.Orders > 0 }

// BestProduct is an affiliate's best product of a period, with the counts of their link to it.
type BestProduct struct {
	ProductID uint64
	Name      string
	Rate      BasisPoints
	Counts    Counts
}

// Commission is the commission a period earned, not counting what was reversed: estimated plus
// settled.
func (c Counts) Commission() Rupiah { return c.CommissionPending + c.CommissionSettled }

// BetterProduct orders candidates for an affiliate's best product: more commission first, then more
// clicks, then the smaller product id. It returns a negative number when a is better than b.
func BetterProduct(a, b BestProduct) int {
	if c := cmp.Compare(b.Counts.Commission(), a.Counts.Commission()); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Counts.Clicks, a.Counts.Clicks); c != 0 {
		return c
	}
	return cmp.Compare(a.ProductID, b.ProductID)
}

// ConversionRate is orders per click in basis points (orders × 10,000 / clicks, rounded down); 0 without
// clicks.
func ConversionRate(c Counts) BasisPoints {
	if c.Clicks <= 0 {
		return 0
	}
	return BasisPoints(min(c.Orders*10000/c.Clicks, math.MaxInt32))
}

// CalendarDay is a notice argument naming a local day with its weekday ("Senin, 30 November"); the
// renderer shows it in the recipient's zone.
type CalendarDay time.Time

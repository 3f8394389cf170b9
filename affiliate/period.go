package affiliate

import "time"

// DateLayout is how a calendar date is written in the APIs and in reports: YYYY-MM-DD.
const DateLayout = time.DateOnly

// Periods are runs of whole calendar days of one location, given as the half-open range of instants
// [from, to): from is the first day's start and to the start of the day after the last. Both are in the
// location, so formatting from gives the first date. Days are counted on the calendar, never as 24-hour
// steps, so a daylight-saving change inside a period moves neither end.

// LocalDay returns the calendar day of loc that contains t.
func LocalDay(t time.Time, loc *time.Location) (from, to time.Time) {
	return LastDays(t, loc, 1)
}

// LastDays returns the n calendar days of loc that end with the day containing now (so n = 1 is today).
// An n below 1 counts as 1.
func LastDays(now time.Time, loc *time.Location, n int) (from, to time.Time) {
	y, m, d := now.In(loc).Date()
	return dayStart(y, m, d-max(n, 1)+1, loc), dayStart(y, m, d+1, loc)
}

// ParseDays reads a period given by its first and last dates (DateLayout, in loc, both inclusive), as the
// seller API takes it. An empty last date is today; an empty first date makes the period defaultDays
// long. A period longer than maxDays, a first date after the last and a malformed date are EInvalid
// errors with the reasons range_too_long, from_after_to, bad_from_date and bad_to_date.
func ParseDays(first, last string, now time.Time, loc *time.Location, defaultDays, maxDays int) (from, to time.Time, err error) {
	ly, lm, ld := now.In(loc).Date()
	if last != "" {
		t, err := time.Parse(DateLayout, last)
		if err != nil {
			return from, to, Errorf(EInvalid, "bad_to_date")
		}
		ly, lm, ld = t.Date()
	}
	fy, fm, fd := ly, lm, ld-max(defaultDays, 1)+1
	if first != "" {
		t, err := time.Parse(DateLayout, first)
		if err != nil {
			return from, to, Errorf(EInvalid, "bad_from_date")
		}
		fy, fm, fd = t.Date()
	}
	days := civilDay(ly, lm, ld) - civilDay(fy, fm, fd) + 1
	switch {
	case days < 1:
		return from, to, Errorf(EInvalid, "from_after_to")
	case days > maxDays:
		return from, to, Errorf(EInvalid, "range_too_long")
	}
	return dayStart(fy, fm, fd, loc), dayStart(ly, lm, ld+1, loc), nil
}

// LastDate returns the date (DateLayout) of the last day of a period that ends at to.
func LastDate(to time.Time, loc *time.Location) string {
	// The instant just before to belongs to the last day even where that day's end is not a midnight.
	return to.Add(-time.Nanosecond).In(loc).Format(DateLayout)
}

// dayStart is the first instant of a calendar day of loc: its midnight, or where a daylight-saving change
// skips midnight the instant the clock jumps, or where the clock turns back over midnight the first of
// the two midnights. The day may be out of range (d = 0, 32): time.Date normalises it.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := civilDay(y, m, d)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if dateOf(t) < want {
		// time.Date resolved a skipped midnight to the evening before: the day begins with the next zone.
		_, end := t.ZoneBounds()
		return end
	}
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		// The instant before this zone began is already the same day: that day began under the
		// previous offset.
		if before := start.Add(-time.Nanosecond).In(loc); dateOf(before) == want {
			_, offset := before.Zone()
			return time.Unix(int64(want)*86400-int64(offset), 0).In(loc)
		}
	}
	return t
}

// dateOf is civilDay of t's date in t's location.
func dateOf(t time.Time) int {
	y, m, d := t.Date()
	return civilDay(y, m, d)
}

// civilDay numbers calendar days, one apart whatever the zone: the days since the Unix epoch of the date
// in UTC, which has no daylight saving.
func civilDay(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

package affiliate

import "time"

// DayCounts are the counts of one local calendar day; Day is its first instant in the location.
type DayCounts struct {
	Day time.Time
	Counts
}

// DailyCounts groups hourly counts into the n calendar days of loc that end with the day containing now
// (see LastDays), oldest first, with an entry for every day, zero when nothing happened. An hour belongs
// to the day its start falls in; in a zone whose offset is not whole hours an hour straddling midnight
// counts for the day it began in. Hours outside the days are left out.
func DailyCounts(hours []HourCounts, now time.Time, loc *time.Location, n int) []DayCounts {
	n = max(n, 1)
	y, m, d := now.In(loc).Date()
	first := civilDay(y, m, d-n+1)
	out := make([]DayCounts, n)
	for i := range out {
		out[i].Day = dayStart(y, m, d-n+1+i, loc)
	}
	for _, h := range hours {
		i := dateOf(h.Hour.In(loc)) - first
		if i < 0 || i >= n {
			continue
		}
		out[i].Counts.Add(h.Counts)
	}
	return out
}

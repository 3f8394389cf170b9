package affiliate

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no zone %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLocalDay(t *testing.T) {
	tests := []struct {
		name, zone string
		at         string
		from, to   string // UTC instants
	}{
		{"Jakarta, after local midnight", "Asia/Jakarta", "2024-03-10T20:00:00Z", "2024-03-10T17:00:00Z", "2024-03-11T17:00:00Z"},
		{"Jakarta, at local midnight", "Asia/Jakarta", "2024-03-10T17:00:00Z", "2024-03-10T17:00:00Z", "2024-03-11T17:00:00Z"},
		{"Makassar, last second of the day", "Asia/Makassar", "2024-03-10T15:59:59Z", "2024-03-09T16:00:00Z", "2024-03-10T16:00:00Z"},
		{"Makassar, next day", "Asia/Makassar", "2024-03-10T16:00:00Z", "2024-03-10T16:00:00Z", "2024-03-11T16:00:00Z"},
		{"Jayapura, new year", "Asia/Jayapura", "2024-12-31T15:00:00Z", "2024-12-31T15:00:00Z", "2025-01-01T15:00:00Z"},
		{"Berlin, 23-hour day", "Europe/Berlin", "2024-03-31T12:00:00Z", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"Berlin, 25-hour day", "Europe/Berlin", "2024-10-27T12:00:00Z", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
		{"Sao Paulo, midnight skipped", "America/Sao_Paulo", "2018-11-04T12:00:00Z", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"},
		{"Sao Paulo, the evening before", "America/Sao_Paulo", "2018-11-04T02:30:00Z", "2018-11-03T03:00:00Z", "2018-11-04T03:00:00Z"},
		{"Havana, midnight twice", "America/Havana", "2023-11-05T12:00:00Z", "2023-11-05T04:00:00Z", "2023-11-06T05:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			from, to := LocalDay(utc(tt.at), loc)
			if !from.Equal(utc(tt.from)) || !to.Equal(utc(tt.to)) {
				t.Errorf("LocalDay(%s) = %v, %v; want %s, %s", tt.at, from.UTC(), to.UTC(), tt.from, tt.to)
			}
			if from.Location() != loc || to.Location() != loc {
				t.Errorf("not in %s: %v, %v", loc, from, to)
			}
		})
	}
}

func TestLastDays(t *testing.T) {
	tests := []struct {
		name, zone string
		now        string
		n          int
		from, to   string
	}{
		{"30 days in Jakarta", "Asia/Jakarta", "2024-03-10T20:00:00Z", 30, "2024-02-10T17:00:00Z", "2024-03-11T17:00:00Z"},
		{"one day is today", "Asia/Jayapura", "2024-03-10T20:00:00Z", 1, "2024-03-10T15:00:00Z", "2024-03-11T15:00:00Z"},
		{"zero days is today", "Asia/Makassar", "2024-03-10T20:00:00Z", 0, "2024-03-10T16:00:00Z", "2024-03-11T16:00:00Z"},
		{"leap day inside", "Asia/Makassar", "2024-03-01T01:00:00Z", 2, "2024-02-28T16:00:00Z", "2024-03-01T16:00:00Z"},
		{"30 days over a clock change", "Europe/Berlin", "2024-04-10T10:00:00Z", 30, "2024-03-11T23:00:00Z", "2024-04-10T22:00:00Z"},
		{"from a skipped midnight", "America/Sao_Paulo", "2018-11-05T12:00:00Z", 2, "2018-11-04T03:00:00Z", "2018-11-06T02:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			from, to := LastDays(utc(tt.now), loc, tt.n)
			if !from.Equal(utc(tt.from)) || !to.Equal(utc(tt.to)) {
				t.Errorf("LastDays(%s, %d) = %v, %v; want %s, %s", tt.now, tt.n, from.UTC(), to.UTC(), tt.from, tt.to)
			}
		})
	}
}

// TestDaysTileTheCalendar walks years of days in zones with and without daylight saving: every day starts
// where the one before ended, on its own date, and every instant falls in exactly one day.
func TestDaysTileTheCalendar(t *testing.T) {
	for _, zone := range []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Europe/Berlin",
		"America/Sao_Paulo", "America/Havana", "America/Santiago", "Australia/Lord_Howe"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustZone(t, zone)
			from, to := LocalDay(time.Date(2016, 1, 1, 12, 0, 0, 0, time.UTC), loc)
			for range 365 * 9 {
				nextFrom, nextTo := LocalDay(to, loc)
				if !nextFrom.Equal(to) {
					t.Fatalf("the day after [%v, %v) starts at %v", from, to, nextFrom)
				}
				if h := to.Sub(from); h < 22*time.Hour || h > 26*time.Hour {
					t.Fatalf("day [%v, %v) lasts %v", from, to, h)
				}
				if f, tt := LocalDay(to.Add(-time.Nanosecond), loc); !f.Equal(from) || !tt.Equal(to) {
					t.Fatalf("the last instant of [%v, %v) is in [%v, %v)", from, to, f, tt)
				}
				if y, m, d := from.Date(); from.Hour() > 1 || LastDate(to, loc) != time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(DateLayout) {
					t.Fatalf("day [%v, %v) is dated %s", from, to, LastDate(to, loc))
				}
				from, to = nextFrom, nextTo
			}
		})
	}
}

func TestParseDays(t *testing.T) {
	jkt := mustZone(t, "Asia/Jakarta")
	now := time.Date(2024, 3, 10, 20, 0, 0, 0, time.UTC) // 11 March 03:00 in Jakarta
	tests := []struct {
		first, last       string
		wantFirst, wantTo string // dates of the first and the last day
		reason            string
	}{
		{"", "", "2024-02-11", "2024-03-11", ""},
		{"2024-03-01", "2024-03-05", "2024-03-01", "2024-03-05", ""},
		{"2024-03-05", "2024-03-05", "2024-03-05", "2024-03-05", ""},
		{"", "2024-01-30", "2024-01-01", "2024-01-30", ""},
		{"2023-01-01", "2024-01-01", "2023-01-01", "2024-01-01", ""},
		{"2023-01-01", "2024-01-02", "", "", "range_too_long"},
		{"2024-03-06", "2024-03-05", "", "", "from_after_to"},
		{"2024-3-6", "", "", "", "bad_from_date"},
		{"", "yesterday", "", "", "bad_to_date"},
		{"2024-02-30", "", "", "", "bad_from_date"},
	}
	for _, tt := range tests {
		from, to, err := ParseDays(tt.first, tt.last, now, jkt, 30, 366)
		if tt.reason != "" {
			if ErrorReason(err) != tt.reason || ErrorCode(err) != EInvalid {
				t.Errorf("(%q,%q): error %v, want %s", tt.first, tt.last, err, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("(%q,%q): %v", tt.first, tt.last, err)
			continue
		}
		if from.Format(DateLayout) != tt.wantFirst || LastDate(to, jkt) != tt.wantTo || from.Location() != jkt ||
			from.Hour() != 0 || to.In(jkt).Hour() != 0 {
			t.Errorf("(%q,%q) = %v, %v; want %s to %s", tt.first, tt.last, from, to, tt.wantFirst, tt.wantTo)
		}
	}
}

func TestParseDaysAcrossClockChanges(t *testing.T) {
	tests := []struct {
		zone, first, last string
		from, to          string
		reason            string
	}{
		{"America/Sao_Paulo", "2018-11-04", "2018-11-04", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z", ""},
		{"America/Sao_Paulo", "2018-11-03", "2018-11-03", "2018-11-03T03:00:00Z", "2018-11-04T03:00:00Z", ""},
		{"Europe/Berlin", "2023-10-01", "2024-09-30", "2023-09-30T22:00:00Z", "2024-09-30T22:00:00Z", ""},
		{"Europe/Berlin", "2023-10-01", "2024-10-01", "", "", "range_too_long"},
		{"Asia/Jayapura", "2024-02-29", "2024-02-29", "2024-02-28T15:00:00Z", "2024-02-29T15:00:00Z", ""},
	}
	for _, tt := range tests {
		loc := mustZone(t, tt.zone)
		from, to, err := ParseDays(tt.first, tt.last, time.Now(), loc, 30, 366)
		if tt.reason != "" {
			if ErrorReason(err) != tt.reason {
				t.Errorf("%s (%s, %s): error %v, want %s", tt.zone, tt.first, tt.last, err, tt.reason)
			}
			continue
		}
		if err != nil || !from.Equal(utc(tt.from)) || !to.Equal(utc(tt.to)) {
			t.Errorf("%s (%s, %s) = %v, %v, %v; want %s, %s", tt.zone, tt.first, tt.last, from.UTC(), to.UTC(), err, tt.from, tt.to)
		}
		if err == nil && (from.Format(DateLayout) != tt.first || LastDate(to, loc) != tt.last) {
			t.Errorf("%s: dated %s to %s, want %s to %s", tt.zone, from.Format(DateLayout), LastDate(to, loc), tt.first, tt.last)
		}
	}
}

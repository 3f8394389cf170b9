package affiliate

import (
	"testing"
	"time"
)

func TestDailyCountsByLocalDay(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	at := func(h int) time.Time { return time.Date(2026, 11, 29, h, 0, 0, 0, time.UTC) }
	hour := func(h int, clicks int64, commission Rupiah) HourCounts {
		return HourCounts{Hour: at(h), Counts: Counts{Clicks: clicks, OrderCounts: OrderCounts{Orders: 1, CommissionPending: commission}}}
	}
	// 16:00 UTC is 23:00 WIB (UTC+7), 00:00 WITA (UTC+8) and 01:00 WIT (UTC+9) the next day.
	hours := []HourCounts{hour(15, 1, 100), hour(16, 2, 200), hour(17, 4, 400)}
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC) // 30 November in all three zones
	for _, tc := range []struct {
		zone               string
		clicks29, clicks30 int64
		commission30       Rupiah
	}{
		{"Asia/Jakarta", 3, 4, 400},  // 22:00 and 23:00 on the 29th, 00:00 on the 30th
		{"Asia/Makassar", 1, 6, 600}, // 23:00 on the 29th, 00:00 and 01:00 on the 30th
		{"Asia/Jayapura", 0, 7, 700}, // 00:00, 01:00, 02:00 on the 30th
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc := zone(tc.zone)
			days := DailyCounts(hours, now, loc, 2)
			if len(days) != 2 {
				t.Fatalf("%d days, want 2", len(days))
			}
			if got := days[0].Day; !got.Equal(time.Date(2026, 11, 29, 0, 0, 0, 0, loc)) {
				t.Errorf("first day starts %v", got)
			}
			if days[0].Clicks != tc.clicks29 || days[1].Clicks != tc.clicks30 {
				t.Errorf("clicks %d, %d; want %d, %d", days[0].Clicks, days[1].Clicks, tc.clicks29, tc.clicks30)
			}
			if days[1].CommissionPending != tc.commission30 {
				t.Errorf("commission on the 30th %d, want %d", days[1].CommissionPending, tc.commission30)
			}
		})
	}
	if got := DailyCounts(nil, now, time.UTC, 30); len(got) != 30 || got[29].Clicks != 0 {
		t.Errorf("an empty series is %d days", len(got))
	}
	// Hours before the first day and after today are left out.
	if got := DailyCounts([]HourCounts{hour(0, 5, 0)}, now.AddDate(0, 0, 5), time.UTC, 1); got[0].Clicks != 0 {
		t.Errorf("an hour outside the days counted: %+v", got)
	}
}

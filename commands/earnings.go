package commands

import (
	"context"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/i18n"
)

// ---- an affiliate's earnings ----

// earningsPeriod is a named period of /earnings in the caller's zone.
type earningsPeriod struct {
	key      string // earnings_period.<key>
	from, to time.Time
}

// earningsPeriods resolves the argument of /earnings: today, yesterday, 7d, month, or both today and
// the month to date when empty. ok is false for anything else.
func earningsPeriods(arg string, now time.Time, loc *time.Location) ([]earningsPeriod, bool) {
	today := func() earningsPeriod {
		from, to := affiliate.LocalDay(now, loc)
		return earningsPeriod{"today", from, to}
	}
	month := func() earningsPeriod {
		from, to := affiliate.LastDays(now, loc, now.In(loc).Day())
		return earningsPeriod{"month", from, to}
	}
	switch strings.ToLower(strings.TrimSpace(arg)) {
	case "":
		return []earningsPeriod{today(), month()}, true
	case "today", "hariini":
		return []earningsPeriod{today()}, true
	case "yesterday", "kemarin":
		start, _ := affiliate.LocalDay(now, loc)
		from, to := affiliate.LocalDay(start.Add(-time.Nanosecond), loc)
		return []earningsPeriod{{"yesterday", from, to}}, true
	case "7d":
		from, to := affiliate.LastDays(now, loc, 7)
		return []earningsPeriod{{"7d", from, to}}, true
	case "month", "bulan":
		return []earningsPeriod{month()}, true
	}
	return nil, false
}

// earnings shows the caller's clicks, orders and commission over local-day periods, with a button for
// the 30-day chart.
func (h *Handler) earnings(ctx context.Context, c *Call) error {
	loc := c.Location()
	periods, ok := earningsPeriods(c.Args, h.cfg.Now(), loc)
	if !ok {
		return c.ReplyKey(ctx, "earnings_usage")
	}
	var b strings.Builder
	b.WriteString(c.T("earnings_head"))
	for _, p := range periods {
		n, err := h.deps.Earnings.AffiliateCounts(ctx, c.User.ID, p.from.UTC(), p.to.UTC())
		if err != nil {
			return err
		}
		first, last := p.from.In(loc), p.to.Add(-time.Nanosecond).In(loc)
		// A single day (today, yesterday) is labelled with its date; a span with its first and last day.
		dates := []any{i18n.Date(c.Lang, first)}
		if p.key != "today" && p.key != "yesterday" {
			dates = append(dates, i18n.Date(c.Lang, last))
		}
		label := c.T("earnings_period."+p.key, dates...)
		b.WriteString("\n\n" + c.T("earnings_section", label, n.Clicks, n.UniqueClicks, n.Orders, i18n.Money(n.GMV),
			i18n.Money(n.Refunded), i18n.Money(n.CommissionPending), i18n.Money(n.CommissionSettled),
			i18n.Money(n.CommissionReversed)))
	}
	kb := bot.Keyboard{{bot.Data(c.T("earnings_chart_button", chartDays), "chart:earnings")}}
	return c.Reply(ctx, b.String(), kb)
}

// chartButton sends the caller's earnings chart of the last chartDays local days as a photo.
func (h *Handler) chartButton(ctx context.Context, c *Call, _ string) error {
	loc := c.Location()
	now := h.cfg.Now()
	from, to := affiliate.LastDays(now, loc, chartDays)
	hours, err := h.deps.Earnings.AffiliateHours(ctx, c.User.ID, from.UTC(), to.UTC())
	if err != nil {
		return err
	}
	days := affiliate.DailyCounts(hours, now, loc, chartDays)
	png, err := earningsChart(c.Lang, days)
	if err != nil {
		return err
	}
	var total affiliate.Counts
	for _, d := range days {
		total.Add(d.Counts)
	}
	_ = c.Toast(ctx, c.T("chart_sending"), false)
	_, err = h.deps.Files.SendFile(ctx, c.Chat.ID, bot.Upload{Kind: bot.UploadPhoto, Name: "keranjang-earnings.png", Data: png,
		Caption: c.T("chart_caption", chartDays, total.Clicks, i18n.Money(netCommission(total.OrderCounts)))})
	return err
}

// Earnings reads an affiliate's counts over all their links.
type Earnings interface {
	AffiliateCounts(ctx context.Context, affiliateID int64, from, to time.Time) (affiliate.Counts, error)
	AffiliateHours(ctx context.Context, affiliateID int64, from, to time.Time) ([]affiliate.HourCounts, error)
}

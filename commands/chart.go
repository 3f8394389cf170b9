package commands

import (
	"fmt"
	"math"

	"github.com/go-analyze/charts"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/i18n"
)

// chartDays is how many local days the earnings chart covers.
const chartDays = 30

// earningsChart draws an affiliate's days as a PNG: clicks (left axis) and commission (right axis: pending
// plus settled less reversed, by the day the order came in) per local day.
func earningsChart(lang affiliate.Lang, days []affiliate.DayCounts) ([]byte, error) {
	clicks := make([]float64, len(days))
	commission := make([]float64, len(days))
	labels := make([]string, len(days))
	for i, d := range days {
		clicks[i] = float64(d.Clicks)
		commission[i] = float64(netCommission(d.OrderCounts))
		labels[i] = d.Day.Format("2/1")
	}
	opt := charts.NewLineChartOptionWithData([][]float64{clicks, commission})
	opt.Title.Text = i18n.T(lang, "chart_title", len(days))
	opt.XAxis = charts.XAxisOption{Labels: labels, LabelCount: 6}
	opt.Legend = charts.LegendOption{
		SeriesNames: []string{i18n.T(lang, "chart_clicks"), i18n.T(lang, "chart_commission")},
		Offset:      charts.OffsetRight,
	}
	opt.SeriesList[1].YAxisIndex = 1
	// Clicks are whole numbers: a scale of five whole steps keeps every tick an integer.
	var top float64
	for _, v := range clicks {
		top = max(top, v)
	}
	step := max(1, math.Ceil(top/5))
	zero, clickMax := 0.0, step*5
	opt.YAxis[0].Min, opt.YAxis[0].Max, opt.YAxis[0].LabelCount = &zero, &clickMax, 6
	opt.YAxis[0].ValueFormatter = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	opt.YAxis = append(opt.YAxis, opt.YAxis[0])
	opt.YAxis[1].Max = nil
	opt.YAxis[1].ValueFormatter = func(v float64) string { return i18n.Money(affiliate.Rupiah(math.Round(v))) }
	opt.YAxis[0].Theme = opt.Theme.WithYAxisSeriesColor(0)
	opt.YAxis[1].Theme = opt.Theme.WithYAxisSeriesColor(1)
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: 900, Height: 500})
	if err := p.LineChart(opt); err != nil {
		return nil, fmt.Errorf("earnings chart: %w", err)
	}
	png, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("earnings chart: %w", err)
	}
	return png, nil
}

// netCommission is what orders earn as things stand: pending and settled commission less what refunds
// reversed (the sum of Order.Net over the orders).
func netCommission(c affiliate.OrderCounts) affiliate.Rupiah {
	return c.CommissionPending + c.CommissionSettled - c.CommissionReversed
}

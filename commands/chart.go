package commands

import (
	"fmt"

	"github.com/go-analyze/charts"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/i18n"
)

// chartDays is how many local days the earnings chart covers.
const chartDays = 30

// earningsChart draws an affiliate's days as a PNG: clicks (left axis) and commission earned (right
// axis, pending plus settled, by the day the order came in) per local day.
func earningsChart(lang affiliate.Lang, days []affiliate.DayCounts) ([]byte, error) {
	clicks := make([]float64, len(days))
	commission := make([]float64, len(days))
	labels := make([]string, len(days))
	for i, d := range days {
		clicks[i] = float64(d.Clicks)
		commission[i] = float64(d.CommissionPending + d.CommissionSettled)
		labels[i] = d.Day.Format("2/1")
	}
	opt := charts.NewLineChartOptionWithData([][]float64{clicks, commission})
	opt.Title.Text = i18n.T(lang, "chart_title", len(days))
	opt.XAxis = charts.XAxisOption{Labels: labels, LabelCount: 10}
	opt.Legend = charts.LegendOption{
		SeriesNames: []string{i18n.T(lang, "chart_clicks"), i18n.T(lang, "chart_commission")},
		Offset:      charts.OffsetRight,
	}
	opt.SeriesList[1].YAxisIndex = 1
	zero := 0.0
	opt.YAxis[0].Min = &zero
	opt.YAxis[0].ValueFormatter = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	opt.YAxis = append(opt.YAxis, opt.YAxis[0])
	opt.YAxis[1].ValueFormatter = func(v float64) string { return i18n.Money(affiliate.Rupiah(v)) }
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

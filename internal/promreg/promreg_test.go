package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRegisterTwiceContinuesTheSeries builds a counter twice on one registry, as a second leadership term
// does, and checks that the second build updates the first one's series.
func TestRegisterTwiceContinuesTheSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "things_total", Help: "Things."}
	a := Register(reg, prometheus.NewCounter(opts))
	a.Inc()
	b := Register(reg, prometheus.NewCounter(opts))
	b.Inc()
	if got := testutil.ToFloat64(a); got != 2 {
		t.Fatalf("things_total = %v after two builds, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "things_total"); err != nil || n != 1 {
		t.Fatalf("series %d, %v; want 1", n, err)
	}
}

// TestRegisterClashPanics keeps a real mistake loud: the same name with other labels.
func TestRegisterClashPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "X."}))
	defer func() {
		if recover() == nil {
			t.Fatal("a clashing registration must panic")
		}
	}()
	Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "X."}, []string{"kind"}))
}

package track

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Registry is where the server registers its metrics and what /metrics serves. *prometheus.Registry
// satisfies it (prometheus.DefaultRegisterer is one).
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Redirect results, the values of the "result" label of keranjang_redirects_total.
const (
	resultTracked = "tracked"
	resultBot     = "bot"
	resultOrphan  = "orphan"
)

// metrics are the server's own Prometheus metrics. Hot-path children are resolved once here so that a
// request only touches atomic counters, never the label map and its lock.
type metrics struct {
	redirects      *prometheus.CounterVec
	tracked        prometheus.Counter
	bots           prometheus.Counter
	orphans        prometheus.Counter
	dropped        prometheus.Counter
	batchSize      prometheus.Histogram
	flushSeconds   prometheus.Histogram
	flushFailures  prometheus.Counter
	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_redirects_total",
			Help: "Basket-link visits by result: tracked (a click), bot (redirected, kept as a bot visit) or orphan (unknown code, 404).",
		}, []string{"result"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_clicks_dropped_total",
			Help: "Clicks and bot visits not recorded because the click buffer was full.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keranjang_click_batch_size",
			Help:    "Clicks written per RecordClicks call.",
			Buckets: []float64{1, 10, 50, 100, 250, 500, 1000, 2500, 5000},
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keranjang_click_flush_seconds",
			Help:    "Time to write one batch of clicks to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_click_flush_failures_total",
			Help: "Click batches lost because the store failed twice.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keranjang_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	m.tracked = m.redirects.WithLabelValues(resultTracked)
	m.bots = m.redirects.WithLabelValues(resultBot)
	m.orphans = m.redirects.WithLabelValues(resultOrphan)
	reg.MustRegister(m.redirects, m.dropped, m.batchSize, m.flushSeconds, m.flushFailures, m.requests, m.requestSeconds)
	return m
}

// routeMetrics are one route's request counters and latency histogram. The statuses the route is known
// to answer are resolved in advance (so their series exist at zero); any other is created when it first
// happens, so no series stands for a route and status that never occur together.
type routeMetrics struct {
	route   string
	vec     *prometheus.CounterVec
	common  map[int]prometheus.Counter
	other   sync.Map // status → prometheus.Counter
	latency prometheus.Observer
}

func (m *metrics) route(route string, codes ...int) *routeMetrics {
	rm := &routeMetrics{route: route, vec: m.requests, common: make(map[int]prometheus.Counter, len(codes)),
		latency: m.requestSeconds.WithLabelValues(route)}
	for _, c := range codes {
		rm.common[c] = m.requests.WithLabelValues(route, strconv.Itoa(c))
	}
	return rm
}

func (rm *routeMetrics) observe(status int, seconds float64) {
	c, ok := rm.common[status]
	if !ok {
		v, found := rm.other.Load(status)
		if !found {
			v, _ = rm.other.LoadOrStore(status, rm.vec.WithLabelValues(rm.route, strconv.Itoa(status)))
		}
		c = v.(prometheus.Counter)
	}
	c.Inc()
	rm.latency.Observe(seconds)
}

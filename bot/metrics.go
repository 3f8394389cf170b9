package bot

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the bot's Prometheus collectors.
type metrics struct {
	updates  *prometheus.CounterVec   // by update type
	latency  *prometheus.HistogramVec // handler latency by update type
	errors   *prometheus.CounterVec   // handler errors and panics by kind
	apiCalls *prometheus.CounterVec   // Bot API calls by method and result
	limited  prometheus.Counter       // updates dropped by the inbound rate limit
	// duplicates counts updates another delivery had already brought (Guard.Seen).
	duplicates prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_updates_total", Help: "Telegram updates handled, by type.",
		}, []string{"type"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keranjang_update_duration_seconds", Help: "Time to handle one update, by type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_update_errors_total", Help: "Update handling failures, by kind (error, panic, undecodable, guard).",
		}, []string{"kind"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_bot_api_calls_total", Help: "Bot API calls, by method and result (ok, HTTP status, or network).",
		}, []string{"method", "result"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_updates_rate_limited_total", Help: "Updates ignored because the sender went over the inbound rate limit.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keranjang_updates_duplicate_total", Help: "Updates not handled because they had been taken already (a second delivery).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.updates, m.latency, m.errors, m.apiCalls, m.limited, m.duplicates)
	}
	return m
}

// countingTransport records every Bot API call by method and result.
type countingTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
	if !knownMethodName(method) {
		method = "other"
	}
	resp, err := t.next.RoundTrip(req)
	result := "network"
	if err == nil {
		result = "ok"
		if resp.StatusCode != http.StatusOK {
			result = strconv.Itoa(resp.StatusCode)
		}
	}
	t.m.apiCalls.WithLabelValues(method, result).Inc()
	return resp, err
}

// knownMethodName keeps the label set small: Bot API method names are short camelCase words.
func knownMethodName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

package track

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// MetricsServer serves GET /metrics (Prometheus text format) on an address of its own, kept apart from
// the public listener so that the numbers of the business are not readable by anyone holding a basket
// link. Every other path answers 404.
type MetricsServer struct {
	addr string
	log  zerolog.Logger
	http *http.Server

	mu       sync.Mutex
	listener net.Listener
}

// NewMetricsServer builds a server for the metrics gathered by reg, to listen on addr (":0" picks a free
// port; see Addr).
func NewMetricsServer(addr string, reg prometheus.Gatherer, log zerolog.Logger) *MetricsServer {
	log = log.With().Str("component", "metrics").Logger()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: promLogger{log}}))
	return &MetricsServer{addr: addr, log: log, http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          newStdLogger(log),
	}}
}

// Start listens and serves in the background; it returns once the listener is open.
func (m *MetricsServer) Start(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", m.addr, err)
	}
	m.mu.Lock()
	m.listener = l
	m.mu.Unlock()
	m.log.Info().Str("addr", l.Addr().String()).Msg("metrics listening")
	go func() {
		if err := m.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error().Err(err).Msg("metrics server stopped")
		}
	}()
	return nil
}

// Addr is the address the server listens on (the real port after ":0"), or the configured one before
// Start.
func (m *MetricsServer) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listener != nil {
		return m.listener.Addr().String()
	}
	return m.addr
}

// Shutdown stops the server, waiting for scrapes in flight until ctx ends.
func (m *MetricsServer) Shutdown(ctx context.Context) error {
	if err := m.http.Shutdown(ctx); err != nil {
		_ = m.http.Close()
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}

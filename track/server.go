// Package track is Keranjang's HTTP server: basket-link redirects (GET /r/{code}) with a batched click
// writer, the seller and admin APIs, health and readiness checks and, in webhook mode, the Telegram
// webhook endpoint; MetricsServer serves the Prometheus metrics on an address of their own. It speaks in affiliate types and consumes the store through the
// small interfaces below.
package track

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// ClickStore is what the redirect path needs: link targets, batched click writes, orphan counts and the
// salt for visitor hashes.
type ClickStore interface {
	Target(ctx context.Context, code string) (affiliate.Target, error)
	RecordClicks(ctx context.Context, clicks []affiliate.Click) ([]affiliate.Click, error)
	AddOrphans(ctx context.Context, n int64) error
	VisitorSalt() []byte
}

// ReportStore is what the seller APIs read.
type ReportStore interface {
	SellerByAPIKey(ctx context.Context, key string) (int64, error)
	GetLink(ctx context.Context, code string) (affiliate.Link, error)
	GetProduct(ctx context.Context, id uint64) (affiliate.Product, error)
	GetUser(ctx context.Context, id int64) (affiliate.User, error)
	LinkCounts(ctx context.Context, code string, from, to time.Time) (affiliate.Counts, error)
	AffiliateReport(ctx context.Context, sellerID int64, productID uint64, from, to time.Time) ([]affiliate.ReportRow, error)
}

// OrderStore is what the conversions API needs: the seller's key to check a signature (never creating
// one) and the durable recording of an order.
type OrderStore interface {
	APIKeyOf(ctx context.Context, sellerID int64) (key string, ok bool, err error)
	RecordOrder(ctx context.Context, r affiliate.OrderReport) (affiliate.Order, bool, error)
}

// OrderNotifier tells an affiliate about an order on their link (the program's one notification seam).
type OrderNotifier interface {
	Notify(ctx context.Context, userID int64, n affiliate.Notice) error
}

// AdminStore is what readiness and the admin routes need.
type AdminStore interface {
	Ping(ctx context.Context) error
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// Store is everything the server uses; *store.Store satisfies it.
type Store interface {
	ClickStore
	ReportStore
	OrderStore
	AdminStore
}

// Defaults for zero Config fields.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultBufferSize    = 1 << 16
	// MaxBodyBytes is the largest request body accepted; larger ones get 413.
	MaxBodyBytes = 1 << 20
)

// Config configures a Server. Zero values get defaults where one is given.
type Config struct {
	// Addr is the listen address for Start, for example ":8080"; ":0" picks a free port (see Addr).
	Addr string
	// PublicURL is the base of basket links as users see them (informational; redirects need no host).
	PublicURL string
	// TrustedProxies are the networks whose X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
	// AdminToken is the bearer token of the admin routes; empty turns them off. It is a secret and never
	// logged.
	AdminToken string
	// BackupExt ends the file name GET /admin/backup suggests: ".db" for a bbolt copy (the default),
	// ".dump.gz" for the portable dump of a PostgreSQL database.
	BackupExt string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger is the parent logger; the server logs with component=track.
	Logger zerolog.Logger
	// Registry receives the server's metrics (default: a new registry). MetricsServer serves them.
	Registry Registry
	// FlushInterval is the longest time a click waits in memory before it is written (default 100ms, which
	// is also the maximum).
	FlushInterval time.Duration
	// BufferSize is the capacity of the click buffer; clicks beyond it are dropped and counted (default 65536).
	BufferSize int
	// Ready reports whether the rest of the program is ready (for example the bot has started); nil
	// means always ready. /readyz also pings the store.
	Ready func() error
	// Webhook, when not nil, is mounted at POST /telegram/webhook. It checks its own secret token.
	Webhook http.Handler
	// DefaultLocation is the time zone of report days for sellers without one (default Asia/Jakarta, or UTC
	// when the zone database is missing).
	DefaultLocation *time.Location
	// Notifier, when not nil, tells affiliates about orders the conversions API changed: queued in the
	// durable outbox after the order is stored, before the answer; a failure to queue is logged and never
	// fails the request.
	Notifier OrderNotifier
	// Alerts, when not nil and AdminToken is set, serves POST /api/v1/alerts and GET /api/v1/alerts/{id}.
	Alerts AlertService
}

// Server is the HTTP server. Create it with New, run it with Start or Serve, stop it with Shutdown (which
// also writes every buffered click).
type Server struct {
	cfg     Config
	store   Store
	log     zerolog.Logger
	now     func() time.Time
	m       *metrics
	buf     *clickBuffer
	visitor *visitorHasher
	targets sync.Map // link code → *locationTemplate
	handler http.Handler
	http    *http.Server

	mu       sync.Mutex
	listener net.Listener
}

// New builds a server on st. It starts the click writer at once, so a Server must always be stopped with
// Shutdown, even one only used through Handler.
func New(cfg Config, st Store) *Server {
	botMatcher() // build the bot matcher now, so that no visitor waits for it
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.FlushInterval <= 0 || cfg.FlushInterval > DefaultFlushInterval {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.DefaultLocation == nil {
		loc, err := time.LoadLocation("Asia/Jakarta")
		if err != nil {
			loc = time.UTC
		}
		cfg.DefaultLocation = loc
	}
	s := &Server{
		cfg:     cfg,
		store:   st,
		log:     cfg.Logger.With().Str("component", "track").Logger(),
		now:     cfg.Now,
		m:       newMetrics(cfg.Registry),
		visitor: newVisitorHasher(st.VisitorSalt()),
	}
	s.buf = newClickBuffer(st, cfg.BufferSize, cfg.FlushInterval, s.m, s.log)
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          newStdLogger(s.log),
	}
	return s
}

// routes is the one route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Each route lists the statuses it answers in normal operation; their series exist from the start
	// (at zero). Any other status a route gives is counted from its first occurrence.
	handle := func(pattern string, h http.HandlerFunc, codes ...int) {
		if !strings.HasPrefix(pattern, "GET /r/") {
			h = withRequestLogger(s.log, h)
		}
		mux.Handle(pattern, s.instrument(pattern, h, codes...))
	}
	handle("GET /r/{code}", s.handleRedirect, 302, 404) // GET patterns also match HEAD
	handle("GET /r/", s.handleRedirectOther, 404)       // deeper paths under /r/: an orphan visit, not a JSON 404
	handle("GET /healthz", s.handleHealthz, 200)
	handle("GET /readyz", s.handleReadyz, 200, 503)
	handle("GET /api/v1/links/{code}/stats", s.handleLinkStats, 200, 400, 401, 404)
	handle("GET /api/v1/affiliates", s.handleAffiliateReport, 200, 400, 401)
	handle("POST /api/v1/conversions", s.handleConversion, 200, 400, 401, 404, 409, 413, 422)
	handle("GET /admin/backup", s.handleBackup, 200, 401)
	handle("POST /api/v1/alerts", s.handleCreateAlert, 202, 400, 401, 404, 413)
	handle("GET /api/v1/alerts/{id}", s.handleGetAlert, 200, 401, 404)
	if s.cfg.Webhook != nil {
		handle("POST /telegram/webhook", s.cfg.Webhook.ServeHTTP, 200, 401)
	}
	handle("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, s.log, errRouteNotFound) }, 404)
	return s.requestID(s.recoverer(s.limitBody(mux)))
}

// Handler returns the server's whole handler chain (for tests and benchmarks that skip the network).
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on Config.Addr and serves in the background. It returns once the listener is open, so
// Addr reports the real address; serving errors are logged.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.setListener(l)
	go func() {
		if err := s.Serve(l); err != nil {
			s.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	return nil
}

// Serve serves HTTP on l until Shutdown; it returns nil after a graceful shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.setListener(l)
	s.log.Info().Str("addr", l.Addr().String()).Msg("http server listening")
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) setListener(l net.Listener) {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
}

// Addr returns the address the server listens on, with the real port after listening on ":0", or
// Config.Addr before it listens.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return s.listener.Addr().String()
	}
	return s.cfg.Addr
}

// Shutdown stops accepting requests, waits for the ones in flight (cutting off any still running one
// second before ctx's deadline), then writes every buffered click and orphan count to the store. It
// returns an error when requests had to be cut off or the clicks could not be written in time.
func (s *Server) Shutdown(ctx context.Context) error {
	// Requests in flight may use the budget but a reserve for writing the clicks; any still running then
	// (a long backup download, say) are cut off.
	hctx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(ctx, d.Add(-flushReserve))
		defer cancel()
	}
	herr := s.http.Shutdown(hctx)
	if herr != nil {
		_ = s.http.Close()
	}
	berr := s.buf.close(ctx.Done())
	if herr != nil {
		return herr
	}
	if berr != nil {
		return ctx.Err()
	}
	return nil
}

// flushReserve is the part of a shutdown budget kept for writing the buffered clicks.
const flushReserve = time.Second

// Recorded returns how many clicks and bot visits the store has accepted since New.
func (s *Server) Recorded() int64 { return s.buf.recorded.Load() }

// Dropped returns how many clicks and bot visits were dropped because the buffer was full.
func (s *Server) Dropped() int64 { return s.buf.dropped.Load() }

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			s.log.Debug().Err(err).Msg("not ready")
			writeError(w, s.log, errNotReady)
			return
		}
	}
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.Warn().Err(err).Msg("store not ready")
		writeError(w, s.log, errNotReady)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

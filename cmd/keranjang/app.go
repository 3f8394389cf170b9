package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/cluster"
	"github.com/keranjang/keranjang/commands"
	"github.com/keranjang/keranjang/i18n"
	"github.com/keranjang/keranjang/scheduler"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/contract"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/track"
)

// ShutdownTimeout is the budget of an ordered shutdown.
const ShutdownTimeout = 10 * time.Second

// shutdownReserve is the part of the shutdown budget kept from the bot's handlers for the steps after
// them; the bot may take one more second after its deadline to cancel handlers stuck in Bot API calls.
const shutdownReserve = 2 * time.Second

// Options are the seams tests and the demo use; production passes the zero value.
type Options struct {
	Now         func() time.Time // clock (time.Now)
	BotWorkers  int              // update workers (16)
	PollTimeout time.Duration    // long-poll timeout (30s)
	RateBurst   int              // inbound updates a user may burst (10)
	// NoGroupCommit gives every order write its own fsync (store.Options.NoGroupCommit): for measuring
	// what group commit saves, never for production.
	NoGroupCommit bool
	// OutboxBackoff is the outbox's first retry wait after a 5xx or network error (2s).
	OutboxBackoff time.Duration
	// ProgressEvery is how often an admin's alert progress message may be edited (3s).
	ProgressEvery time.Duration
	// FeedClient reads the policy feeds (scheduler.NewFeedClient).
	FeedClient *http.Client
	// Cluster are the timing knobs of the cluster on PostgreSQL (cluster.Options: retry and health
	// intervals); its Logger and Metrics are the app's. serve reads them from KERANJANG_CLUSTER_*.
	Cluster cluster.Options
	// OutboxPoll is the longest the outbox worker waits for a wake-up before it looks for due messages
	// anyway: bot.OutboxConfig.Poll (1s) with the embedded database, clusterOutboxPoll with PostgreSQL,
	// where the store's notifications wake the leader's worker.
	OutboxPoll time.Duration
}

// clusterOutboxPoll is the outbox worker's fallback poll on PostgreSQL.
const clusterOutboxPoll = 3 * time.Second

// App is the running system: store, bot, HTTP server and scheduler, wired together.
type App struct {
	cfg   Config
	log   zerolog.Logger
	store contract.Store
	bot   *bot.Bot
	cmds  *commands.Handler
	http  *track.Server
	mets  *track.MetricsServer // nil when KERANJANG_METRICS_ADDR is empty
	// sched is the leader's work, the scheduler and the outbox worker, in terms (see leadership): its
	// RunNow and Trigger reach the scheduler of the current term.
	sched         *leadership
	cluster       *clustered // nil with the embedded database
	leaderMetrics *cluster.Metrics
	reg           *prometheus.Registry
}

// Start opens the store, starts the HTTP server, connects the bot and starts the scheduler. On error
// everything started so far is stopped again.
func Start(ctx context.Context, cfg Config, log zerolog.Logger, opt Options) (_ *App, err error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry(), sched: &leadership{log: log}}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfoGauge(readBuildInfo()))
	a.leaderMetrics = cluster.NewMetrics(a.reg)
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
			defer cancel()
			_ = a.Shutdown(sctx)
		}
	}()

	a.store, err = openStore(ctx, cfg, log, store.Options{Now: opt.Now, ShopHosts: cfg.ShopHosts,
		AttributionWindow: cfg.AttributionWindow, NoGroupCommit: opt.NoGroupCommit})
	if err != nil {
		return nil, err
	}
	guard, err := a.joinCluster(ctx, cfg, opt)
	if err != nil {
		return nil, err
	}

	a.bot, err = bot.New(bot.Config{
		Token: cfg.BotToken, APIURL: cfg.BotAPIURL, WebhookURL: cfg.WebhookURL, WebhookSecret: cfg.WebhookSecret,
		Workers: opt.BotWorkers, PollTimeout: opt.PollTimeout, RateBurst: opt.RateBurst, Logger: log, Registry: a.reg, Now: opt.Now,
		TooFast: func(code string) string { return i18n.T(affiliate.LangFromCode(code), "too_fast") },
		Guard:   guard,
	}, nil)
	if err != nil {
		return nil, err
	}
	notifier := commands.NewOutboxNotifier(a.store, a.store, a.sched.Wake, cfg.TimeZone)
	digests := scheduler.NewDigests(a.store, notifier, cfg.TimeZone, opt.Now)
	queue := commands.NewOutboxQueue(a.store, a.sched.Wake, cfg.TimeZone)
	// The commands and the HTTP server trigger the alert fan-out through a.sched, which reaches the
	// scheduler of whichever term leads; the terms begin last.
	a.sched.newTerm = a.termBuilder(cfg, opt, scheduler.Jobs{
		Visitors: a.store, Clicks: a.store, Reminders: a.store, Notifier: notifier, Digests: digests, Outbox: a.store,
		AttributionWindow: cfg.AttributionWindow, Now: opt.Now,
		Alerts: a.store, Queue: queue, Feeds: cfg.PolicyFeeds, FeedStore: a.store, FeedClient: opt.FeedClient,
	})
	alerts := scheduler.NewAlertSender(a.store, a.sched)
	deps := commandDeps(a.store, a.bot, notifier)
	deps.Digests, deps.Queue, deps.Alerts = digests, queue, alerts
	a.cmds = commands.New(deps, commands.Config{
		AdminIDs: cfg.AdminIDs, AutoApprove: cfg.SellerApproval == "auto", PublicURL: cfg.PublicURL,
		DefaultZone: cfg.TimeZone, AttributionWindow: cfg.AttributionWindow, ShopHosts: cfg.ShopHosts,
		Now: opt.Now, Logger: log, ProgressEvery: opt.ProgressEvery,
	})
	a.bot.SetHandler(a.cmds)

	trackCfg := track.Config{
		Addr: cfg.HTTPAddr, PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies,
		AdminToken: cfg.AdminToken.Reveal(), BackupExt: backupExt(cfg.DB), Now: opt.Now, Logger: log, Registry: a.reg,
		Ready: a.bot.Ready, DefaultLocation: cfg.TimeZone, Notifier: notifier,
		Alerts: alertService{AlertSender: alerts, Store: a.store},
	}
	if cfg.WebhookURL != "" {
		trackCfg.Webhook = a.bot.WebhookHandler()
	}
	a.http = track.New(trackCfg, a.store)
	if err := a.http.Start(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_HTTP_ADDR"), err)
	}
	if cfg.MetricsAddr != "" {
		a.mets = track.NewMetricsServer(cfg.MetricsAddr, a.reg, log)
		if err := a.mets.Start(ctx); err != nil {
			a.mets = nil
			return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_METRICS_ADDR"), err)
		}
	}

	if err := a.bot.Start(ctx); err != nil {
		if tokenRefused(err) {
			return nil, fmt.Errorf("%s: Telegram refused the token (401); check it against @BotFather: %w",
				cfg.name("KERANJANG_BOT_TOKEN"), err)
		}
		return nil, err
	}
	if err := a.startLeading(ctx); err != nil {
		return nil, err
	}
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.cmds.InstallMenus(mctx); err != nil {
		log.Warn().Err(err).Msg("could not set the command menus")
	}
	log.Info().Str("http_addr", a.http.Addr()).Str("bot", a.bot.Username()).Msg("ready")
	return a, nil
}

// termBuilder makes the scheduler, with every job, and the outbox worker of one leadership term.
func (a *App) termBuilder(cfg Config, opt Options, jobs scheduler.Jobs) func() (*term, error) {
	outCfg := bot.OutboxConfig{Rate: float64(cfg.SendRate), Backoff: opt.OutboxBackoff, Poll: opt.OutboxPoll,
		Logger: a.log, Registry: a.reg, Now: opt.Now}
	if outCfg.Poll <= 0 && a.cluster != nil {
		outCfg.Poll = clusterOutboxPoll
	}
	return func() (*term, error) {
		s := scheduler.New(cfg.TimeZone, a.log, a.reg)
		if err := s.AddJobs(jobs); err != nil {
			return nil, err
		}
		return &term{sched: s, out: bot.NewOutbox(a.store, a.bot, outCfg)}, nil
	}
}

// commandDeps wires the one store and the one bot into every concern of the commands.
func commandDeps(st contract.Store, b *bot.Bot, n commands.Notifier) commands.Deps {
	return commands.Deps{
		Accounts: st, Flows: st, Applications: st, Catalogue: st, Links: st, Reports: st, Keys: st, Feedback: st,
		Orders: st, Earnings: st, Messenger: b, Files: b, Downloads: b, Menus: b, Profile: b, Errors: b, Notifier: n,
		AlertStore: st, Broadcasts: st, Stats: st,
	}
}

// alertService is the admin alerts API: alerts sent through the scheduler's fan-out, read from the store.
type alertService struct {
	*scheduler.AlertSender
	contract.Store
}

// HTTPAddr is the address the HTTP server listens on.
func (a *App) HTTPAddr() string { return a.http.Addr() }

// MetricsAddr is the address /metrics is served on, or "" when it is off.
func (a *App) MetricsAddr() string {
	if a.mets == nil {
		return ""
	}
	return a.mets.Addr()
}

// openStore opens the database KERANJANG_DB names: PostgreSQL for a postgres:// URL, otherwise a bbolt
// file.
func openStore(ctx context.Context, cfg Config, log zerolog.Logger, opt store.Options) (contract.Store, error) {
	if isPostgresURL(cfg.DB) {
		opt.Timeout = pgStatementTimeout
		st, err := postgres.Open(ctx, cfg.DB, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_DB"), err)
		}
		return st, nil
	}
	if fi, err := os.Stat(cfg.DB); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		log.Warn().Str("variable", "KERANJANG_DB").Str("db", cfg.DB).
			Msg("KERANJANG_DB is an empty file: a new, empty database is created in it")
	}
	st, err := store.Open(cfg.DB, opt)
	if err != nil {
		return nil, dbError(cfg.name("KERANJANG_DB"), err)
	}
	return st, nil
}

// pgStatementTimeout bounds each store method's statements on PostgreSQL, so that a database that stops
// answering fails a request instead of holding it.
const pgStatementTimeout = 15 * time.Second

// backupExt is the file name ending of what Backup writes: a bbolt file, or PostgreSQL's portable dump.
func backupExt(db string) string {
	if isPostgresURL(db) {
		return ".dump.gz"
	}
	return ".db"
}

// isPostgresURL reports whether KERANJANG_DB names a PostgreSQL database rather than a bbolt file.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// dbError says what to do about a database that would not open; name is how to call KERANJANG_DB.
func dbError(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrTruncated):
		return fmt.Errorf("%s: %w; restore the file from a backup (a copy made by `keranjang backup` or "+
			"GET /admin/backup): stop keranjang, replace the file with the copy, start keranjang again", name, err)
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("%s: %w; stop the other process first, or point KERANJANG_DB at another file", name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// tokenRefused reports whether the bot's start failed because Telegram refused the token (401 or 404 on
// getMe). The bot package says so in its error text; cmd does not import the Telegram client to ask.
func tokenRefused(err error) bool { return errors.Is(err, bot.ErrTokenRefused) }

// buildInfoGauge is keranjang_build_info{version,revision,go_version} 1.
func buildInfoGauge(b buildInfo) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "keranjang_build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "go_version"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return g
}

// Shutdown stops in order: stop the outbox worker (no new send; the one in flight finishes and is
// recorded), stop taking updates and finish handlers, stop the admins' alert progress messages, stop the
// scheduler (a fan-out it was running goes on after the next start), leave the cluster (another
// instance leads at once; the chat and poller locks are freed), stop HTTP and write every buffered
// click, stop the metrics listener, close the database. Each step runs even when an earlier one failed.
// What the outbox still holds is sent after the next start, or by the next leader.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if a.sched != nil {
		errs = append(errs, a.sched.stopOutbox(ctx))
	}
	if a.bot != nil {
		// Handlers may use the budget but a reserve: after them the clicks must still be written and the
		// database closed.
		bctx, cancel := ctx, context.CancelFunc(func() {})
		if d, ok := ctx.Deadline(); ok {
			bctx, cancel = context.WithDeadline(ctx, d.Add(-shutdownReserve))
		}
		errs = append(errs, a.bot.Stop(bctx))
		cancel()
	}
	if a.cmds != nil {
		errs = append(errs, a.cmds.Close(ctx))
	}
	if a.sched != nil {
		errs = append(errs, a.sched.end(ctx, false))
	}
	if a.cluster != nil {
		errs = append(errs, a.cluster.leave(ctx))
	}
	if a.http != nil {
		errs = append(errs, a.http.Shutdown(ctx))
	}
	if a.mets != nil {
		errs = append(errs, a.mets.Shutdown(ctx))
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}

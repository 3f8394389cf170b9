// Package scheduler runs Keranjang's periodic jobs on robfig/cron in the configured time zone. Every job
// runs with a timeout, its panics recovered and logged, and never overlaps itself.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/promreg"
)

// Job is one unit of scheduled work.
type Job func(ctx context.Context) error

// Scheduler wraps a cron runner.
type Scheduler struct {
	cron    *cron.Cron
	log     zerolog.Logger
	base    context.Context
	cancel  context.CancelFunc
	runs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	success *prometheus.GaugeVec
	names   *sync.Map // cron.EntryID → job name, for cron's own log lines

	mu   sync.Mutex
	jobs map[string]*entry
	// triggered tracks the runs Trigger started, so that Stop waits for them.
	triggered sync.WaitGroup
}

// entry is a named job with its timeout and overlap guard, shared by cron and RunNow.
type entry struct {
	name    string
	timeout time.Duration
	job     Job
	running atomic.Bool
	// again asks for one more run once the current one ends (Trigger).
	again atomic.Bool
}

// ErrUnknownJob is returned by RunNow for a name no job was added under.
var ErrUnknownJob = errors.New("scheduler: unknown job")

// ErrRunning is returned by RunNow when the job is already running.
var ErrRunning = errors.New("scheduler: job already running")

// New builds a scheduler whose specs are read in loc (never the machine's local zone).
func New(loc *time.Location, log zerolog.Logger, reg prometheus.Registerer) *Scheduler {
	base, cancel := context.WithCancel(context.Background())
	log = log.With().Str("component", "scheduler").Logger()
	names := new(sync.Map)
	s := &Scheduler{
		cron:   cron.New(cron.WithLocation(loc), cron.WithLogger(cronLogger{log: log, names: names})),
		log:    log,
		names:  names,
		base:   base,
		cancel: cancel,
		jobs:   map[string]*entry{},
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_job_runs_total", Help: "Scheduled job runs, by job and result (ok, error, panic, skipped).",
		}, []string{"job", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keranjang_job_duration_seconds", Help: "Scheduled job duration, by job.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"job"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "keranjang_job_last_success_timestamp_seconds",
			Help: "Unix time of each job's last successful run (alert when it falls behind).",
		}, []string{"job"}),
	}
	if reg != nil {
		// A scheduler built again on the same registry (a new leadership term) goes on with the series.
		s.runs = promreg.Register(reg, s.runs)
		s.latency = promreg.Register(reg, s.latency)
		s.success = promreg.Register(reg, s.success)
	}
	return s
}

// Add schedules job under name with a cron spec (five fields, or descriptors such as "@every 1h"); each
// run gets at most timeout. The name labels the job's log lines (job=…) and metrics, and lets callers
// run each job on demand with RunNow(name). Names are unique.
func (s *Scheduler) Add(name, spec string, timeout time.Duration, job Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("scheduler: job %s added twice", name)
	}
	e := &entry{name: name, timeout: timeout, job: job}
	id, err := s.cron.AddJob(spec, s.cronJob(e))
	if err != nil {
		return fmt.Errorf("scheduler: job %s: %w", name, err)
	}
	s.names.Store(id, name)
	s.jobs[name] = e
	return nil
}

// RunNow runs the named job at once, with the same guard rails as a scheduled run, and returns its
// error: ErrUnknownJob, ErrRunning when a run is still going (scheduled or not), or the job's own.
// ctx can end the run early; the job's timeout still applies.
func (s *Scheduler) RunNow(ctx context.Context, name string) error {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownJob, name)
	}
	if !e.running.CompareAndSwap(false, true) {
		s.runs.WithLabelValues(name, "skipped").Inc()
		return fmt.Errorf("%w: %s", ErrRunning, name)
	}
	defer s.finish(e)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel) // Stop ends on-demand runs too
	defer stop()
	return s.run(ctx, name, e.timeout, e.job, s.log.With().Str("job", name).Logger())
}

// Trigger runs the named job soon in the background, with the same guard rails as a scheduled run. When a
// run of it is going, one more run follows that one, so that work added just now (a new alert) is never
// left to the next scheduled run. Unknown names are ignored. Stop cancels and waits for triggered runs.
func (s *Scheduler) Trigger(name string) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return
	}
	e.again.Store(true)
	s.triggered.Add(1)
	go func() {
		defer s.triggered.Done()
		s.drive(e)
	}()
}

// drive runs e while runs are asked for (e.again) and no other run of e is going; a run that is going
// sees the request when it ends (see finish).
func (s *Scheduler) drive(e *entry) {
	log := s.log.With().Str("job", e.name).Logger()
	for s.base.Err() == nil {
		if !e.running.CompareAndSwap(false, true) {
			return
		}
		for e.again.Swap(false) && s.base.Err() == nil {
			_ = s.run(s.base, e.name, e.timeout, e.job, log)
		}
		e.running.Store(false)
		if !e.again.Load() {
			return
		}
	}
}

// finish ends a scheduled or on-demand run of e and starts the run a Trigger asked for meanwhile.
func (s *Scheduler) finish(e *entry) {
	e.running.Store(false)
	if e.again.Load() && s.base.Err() == nil {
		s.triggered.Add(1)
		go func() {
			defer s.triggered.Done()
			s.drive(e)
		}()
	}
}

// cronJob is a scheduled run of e: it skips while a run of e is still going.
func (s *Scheduler) cronJob(e *entry) cron.Job {
	log := s.log.With().Str("job", e.name).Logger()
	return cron.FuncJob(func() {
		if !e.running.CompareAndSwap(false, true) {
			s.runs.WithLabelValues(e.name, "skipped").Inc()
			log.Warn().Msg("previous run still going; skipped")
			return
		}
		defer s.finish(e)
		_ = s.run(s.base, e.name, e.timeout, e.job, log)
	})
}

// Run runs a job once now with the guard rails except the overlap check; RunNow is the way to run an added
// job on demand.
func (s *Scheduler) Run(name string, timeout time.Duration, job Job, log zerolog.Logger) {
	_ = s.run(s.base, name, timeout, job, log)
}

// run is one run of a job: a timeout, panic recovery, logging and metrics. It returns the job's error,
// or an error for a panic.
func (s *Scheduler) run(parent context.Context, name string, timeout time.Duration, job Job, log zerolog.Logger) (err error) {
	start := time.Now()
	result := "ok"
	defer func() {
		if p := recover(); p != nil {
			result = "panic"
			err = fmt.Errorf("scheduler: job %s panicked: %v", name, p)
			log.Error().Interface("panic", p).Stack().Msg("job panicked")
		}
		s.runs.WithLabelValues(name, result).Inc()
		s.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	if err := job(log.WithContext(ctx)); err != nil {
		result = "error"
		log.Error().Err(err).Msg("job failed")
		return err
	}
	s.success.WithLabelValues(name).SetToCurrentTime()
	log.Debug().Float64("took_ms", float64(time.Since(start).Microseconds())/1000).Msg("job done")
	return nil
}

// Start starts the cron runner.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops scheduling, waits for scheduled runs (cancelling their contexts once ctx ends), then cancels
// and waits for triggered ones: the jobs that Trigger starts are resumable by design.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	var err error
	select {
	case <-done.Done():
	case <-ctx.Done():
		err = fmt.Errorf("scheduler: stop: %w", ctx.Err())
	}
	s.cancel()
	waited := make(chan struct{})
	go func() {
		s.triggered.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("scheduler: stop: %w", ctx.Err())
		}
	}
	return err
}

// cronLogger routes cron's own messages into zerolog, naming the job of the cron entry they are about.
type cronLogger struct {
	log   zerolog.Logger
	names *sync.Map
}

func (l cronLogger) Info(msg string, kv ...any) {
	l.withJob(l.log.Debug(), kv).Fields(kv).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.withJob(l.log.Error().Err(err), kv).Fields(kv).Msg("cron: " + msg)
}

// withJob adds the job field when kv names a cron entry ("entry", id).
func (l cronLogger) withJob(e *zerolog.Event, kv []any) *zerolog.Event {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, _ := kv[i].(string); k == "entry" {
			if id, ok := kv[i+1].(cron.EntryID); ok {
				if name, ok := l.names.Load(id); ok {
					return e.Str("job", name.(string))
				}
			}
		}
	}
	return e
}

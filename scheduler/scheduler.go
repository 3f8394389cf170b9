// Package scheduler runs Keranjang's periodic jobs on robfig/cron in the configured time zone. Every job
// runs with a timeout, its panics recovered and logged, and never overlaps itself.
package scheduler

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
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
}

// New builds a scheduler whose specs are read in loc (never the machine's local zone).
func New(loc *time.Location, log zerolog.Logger, reg prometheus.Registerer) *Scheduler {
	base, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		cron:   cron.New(cron.WithLocation(loc), cron.WithLogger(cronLogger{log})),
		log:    log.With().Str("component", "scheduler").Logger(),
		base:   base,
		cancel: cancel,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keranjang_job_runs_total", Help: "Scheduled job runs, by job and result (ok, error, panic, skipped).",
		}, []string{"job", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keranjang_job_duration_seconds", Help: "Scheduled job duration, by job.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(s.runs, s.latency)
	}
	return s
}

// Add schedules job under name with a cron spec (five fields, or descriptors such as "@every 1h"); each
// run gets at most timeout.
func (s *Scheduler) Add(name, spec string, timeout time.Duration, job Job) error {
	_, err := s.cron.AddJob(spec, s.wrap(name, timeout, job))
	if err != nil {
		return fmt.Errorf("scheduler: job %s: %w", name, err)
	}
	return nil
}

// wrap adds the guard rails: no overlap (a run still going makes the next one skip), a timeout, panic
// recovery that always releases the overlap guard, logging and metrics.
func (s *Scheduler) wrap(name string, timeout time.Duration, job Job) cron.Job {
	var running atomic.Bool
	log := s.log.With().Str("job", name).Logger()
	return cron.FuncJob(func() {
		if !running.CompareAndSwap(false, true) {
			s.runs.WithLabelValues(name, "skipped").Inc()
			log.Warn().Msg("previous run still going; skipped")
			return
		}
		defer running.Store(false)
		s.Run(name, timeout, job, log)
	})
}

// Run runs a job once now with the same guard rails (used by cron and by "run now" commands).
func (s *Scheduler) Run(name string, timeout time.Duration, job Job, log zerolog.Logger) {
	start := time.Now()
	result := "ok"
	defer func() {
		if p := recover(); p != nil {
			result = "panic"
			log.Error().Interface("panic", p).Stack().Msg("job panicked")
		}
		s.runs.WithLabelValues(name, result).Inc()
		s.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}()
	ctx, cancel := context.WithTimeout(s.base, timeout)
	defer cancel()
	if err := job(log.WithContext(ctx)); err != nil {
		result = "error"
		log.Error().Err(err).Msg("job failed")
		return
	}
	log.Debug().Dur("took", time.Since(start)).Msg("job done")
}

// Start starts the cron runner.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops scheduling, cancels running jobs' contexts once ctx ends, and waits for them.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	select {
	case <-done.Done():
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		return fmt.Errorf("scheduler: stop: %w", ctx.Err())
	}
}

// cronLogger routes cron's own messages into zerolog.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug().Fields(kv).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}

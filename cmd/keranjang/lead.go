package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/cluster"
	"github.com/keranjang/keranjang/scheduler"
)

// term is what an instance runs while it leads: the scheduler (every job, the policy feeds included) and
// the outbox worker. Each term gets new ones (their metrics go on across terms), so that nothing of a
// term that was cut short leaks into the next.
type term struct {
	sched *scheduler.Scheduler
	out   *bot.Outbox
}

// start runs the term's outbox worker and scheduler, and its alert fan-out at once: a fan-out that the
// previous leader (or a restart) interrupted goes on without waiting for its next minute.
func (t *term) start(ctx context.Context) {
	t.out.Start(ctx)
	t.sched.Start()
	t.sched.Trigger(scheduler.JobFanOutAlerts)
}

// stop stops the outbox worker (the send in flight finishes), then the scheduler. A graceful stop lets
// the running jobs finish until ctx ends; abort, for a leader that lost its lock and may have a
// successor already, cancels them at once and then waits for them.
func (t *term) stop(ctx context.Context, abort bool) error {
	err := t.out.Stop(ctx)
	if abort {
		now, cancel := context.WithCancel(ctx)
		cancel()
		_ = t.sched.Stop(now) // stops the clock and cancels every run; the next Stop waits for them
	}
	return errors.Join(err, t.sched.Stop(ctx))
}

// errClosing is begin's answer once Shutdown has begun.
var errClosing = errors.New("shutting down")

// termStopTimeout bounds the end of a term the elector ends (a lost lead); Shutdown ends the last term
// within its own budget.
const termStopTimeout = 5 * time.Second

// leadership runs the leader's work in terms and routes to it what the rest of the program asks of the
// scheduler and the outbox worker, wherever they run. With the embedded database the one process always
// leads: Start begins one term and Shutdown ends it. With PostgreSQL, cluster.Elector calls Lead for
// each term this instance wins, and what is asked while another instance leads goes to that instance
// through the database (the store's Enqueue notifies the leader's outbox worker itself).
type leadership struct {
	log     zerolog.Logger
	newTerm func() (*term, error)
	// ask asks the leader elsewhere to run a job (cluster.NotifyJob); nil when this process always leads.
	ask func(ctx context.Context, job string) error

	mu     sync.Mutex
	cur    *term // nil while another instance leads, or before Start and after Shutdown
	closed bool  // Shutdown has begun: no new term
}

var _ cluster.Leader = (*leadership)(nil)

// begin starts a term.
func (l *leadership) begin(ctx context.Context) error {
	t, err := l.newTerm()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosing
	}
	l.cur = t
	t.start(ctx)
	return nil
}

// end stops the current term, if any; see term.stop for abort.
func (l *leadership) end(ctx context.Context, abort bool) error {
	l.mu.Lock()
	t := l.cur
	l.cur = nil
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.stop(ctx, abort)
}

// Lead runs one term until ctx ends (cluster.Leader).
func (l *leadership) Lead(ctx context.Context) {
	if err := l.begin(ctx); err != nil {
		if !errors.Is(err, errClosing) {
			l.log.Error().Err(err).Msg("the leader's work could not start; stepping down")
		}
		return
	}
	<-ctx.Done()
	abort := errors.Is(context.Cause(ctx), cluster.ErrLeadershipLost)
	sctx, cancel := context.WithTimeout(context.Background(), termStopTimeout)
	defer cancel()
	if err := l.end(sctx, abort); err != nil {
		l.log.Warn().Err(err).Msg("the leader's work did not stop in time")
	}
}

// OnOutbox wakes the term's outbox worker: another instance queued a message (cluster.Leader).
func (l *leadership) OnOutbox() { l.Wake() }

// OnJob runs job now on the term's scheduler: another instance asked for it (cluster.Leader).
func (l *leadership) OnJob(job string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil {
		l.cur.sched.Trigger(job)
	}
}

// Wake tells the outbox worker that messages were queued, when this instance leads. Otherwise there is
// nothing to do here: the leader's worker is woken by the store's notification, or by its next poll.
func (l *leadership) Wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil {
		l.cur.out.Wake()
	}
}

// Trigger runs a job soon on the leader's scheduler: here when this instance leads, otherwise through
// the database (scheduler.Triggerer). When no instance leads, the next leader's term starts with the
// alert fan-out, and every job has its schedule too.
func (l *leadership) Trigger(job string) {
	l.mu.Lock()
	if l.cur != nil {
		l.cur.sched.Trigger(job)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	if l.ask == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.ask(ctx, job); err != nil {
		l.log.Warn().Err(err).Str("job", job).Msg("could not ask the leader to run the job now; it runs on its schedule")
	}
}

// errNotLeading is RunNow's answer on an instance that does not lead.
var errNotLeading = errors.New("this instance does not lead: the scheduler runs on the leader")

// RunNow runs job at once on this instance's scheduler and returns its error (scheduler.RunNow); it
// fails when another instance leads.
func (l *leadership) RunNow(ctx context.Context, job string) error {
	l.mu.Lock()
	t := l.cur
	l.mu.Unlock()
	if t == nil {
		return fmt.Errorf("run %s: %w", job, errNotLeading)
	}
	return t.sched.RunNow(ctx, job)
}

// stopOutbox forbids new terms and stops the current term's outbox worker: the first step of Shutdown.
func (l *leadership) stopOutbox(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	t := l.cur
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.out.Stop(ctx)
}

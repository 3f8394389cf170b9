package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/syncbuf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

func TestJobsRecoverAndKeepRunning(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(time.UTC, zerolog.Nop(), reg)
	var panics, oks atomic.Int32
	// The cron spec is far away: runs come only from RunNow, never from the clock.
	if err := s.Add("boom", "@every 1000h", time.Second, func(context.Context) error {
		panics.Add(1)
		panic("boom")
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("fine", "@every 1000h", time.Second, func(context.Context) error { oks.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Stop(context.Background())
	for range 2 {
		if err := s.RunNow(t.Context(), "boom"); err == nil {
			t.Fatal("a panicking run must report an error")
		}
	}
	if err := s.RunNow(t.Context(), "fine"); err != nil {
		t.Fatal(err)
	}
	if panics.Load() != 2 || oks.Load() != 1 {
		t.Fatalf("a panicking job must run again after its panic: %d panics, %d oks", panics.Load(), oks.Load())
	}
	if got := testutil.ToFloat64(s.runs.WithLabelValues("boom", "panic")); got != 2 {
		t.Errorf("panic runs metric = %v", got)
	}
	if got := testutil.ToFloat64(s.runs.WithLabelValues("fine", "ok")); got != 1 {
		t.Errorf("ok runs metric = %v", got)
	}
	if err := s.RunNow(t.Context(), "nope"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job: %v", err)
	}
	if err := s.Add("fine", "@every 1h", time.Second, func(context.Context) error { return nil }); err == nil {
		t.Error("a second job with the same name must be refused")
	}
}

func TestRunReportsErrorsAndTimeout(t *testing.T) {
	s := New(time.UTC, zerolog.Nop(), nil)
	s.Run("err", time.Second, func(context.Context) error { return errors.New("x") }, zerolog.Nop())
	if got := testutil.ToFloat64(s.runs.WithLabelValues("err", "error")); got != 1 {
		t.Errorf("error runs = %v", got)
	}
	var sawDeadline atomic.Bool
	s.Run("slow", 10*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		sawDeadline.Store(errors.Is(ctx.Err(), context.DeadlineExceeded))
		return ctx.Err()
	}, zerolog.Nop())
	if !sawDeadline.Load() {
		t.Error("job context must carry the timeout")
	}
}

func TestOverlapSkipped(t *testing.T) {
	s := New(time.UTC, zerolog.Nop(), nil)
	release := make(chan struct{})
	var runs atomic.Int32
	e := &entry{name: "long", timeout: time.Minute, job: func(ctx context.Context) error {
		runs.Add(1)
		<-release
		return nil
	}}
	s.jobs[e.name] = e
	j := s.cronJob(e)
	go j.Run()
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	j.Run() // returns at once: the first run still holds the guard
	if err := s.RunNow(t.Context(), "long"); !errors.Is(err, ErrRunning) {
		t.Errorf("RunNow during a run: %v", err)
	}
	close(release)
	if runs.Load() != 1 {
		t.Fatalf("overlapping run was not skipped: %d runs", runs.Load())
	}
	if got := testutil.ToFloat64(s.runs.WithLabelValues("long", "skipped")); got != 2 {
		t.Errorf("skipped = %v", got)
	}
}

func TestBadSpec(t *testing.T) {
	s := New(time.UTC, zerolog.Nop(), nil)
	if err := s.Add("bad", "not a spec", time.Second, func(context.Context) error { return nil }); err == nil {
		t.Fatal("a bad spec must be refused")
	}
}

func TestLastSuccessTimestamp(t *testing.T) {
	s := New(time.UTC, zerolog.Nop(), prometheus.NewRegistry())
	s.Run("bad", time.Second, func(context.Context) error { return errors.New("x") }, zerolog.Nop())
	if got := testutil.ToFloat64(s.success.WithLabelValues("bad")); got != 0 {
		t.Errorf("a failed run set the last success to %v", got)
	}
	before := float64(time.Now().Unix())
	s.Run("good", time.Second, func(context.Context) error { return nil }, zerolog.Nop())
	if got := testutil.ToFloat64(s.success.WithLabelValues("good")); got < before {
		t.Errorf("last success = %v, want at least %v", got, before)
	}
}

// TestLogLinesNameTheJob checks that the wrapper's and cron's own log lines carry the job field, and that
// durations say their unit.
func TestLogLinesNameTheJob(t *testing.T) {
	var buf syncbuf.Buffer
	s := New(time.UTC, zerolog.New(&buf).Level(zerolog.DebugLevel), nil)
	var ran atomic.Int32
	if err := s.Add("tick", "@every 1s", time.Second, func(context.Context) error { ran.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	s.Start()
	deadline := time.Now().Add(10 * time.Second)
	for ran.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var cronLines, jobLines int
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(line, `"entry"`) {
			cronLines++
			if !strings.Contains(line, `"job":"tick"`) {
				t.Errorf("cron line without the job: %s", line)
			}
		}
		if strings.Contains(line, "job done") {
			jobLines++
			if !strings.Contains(line, `"job":"tick"`) || !strings.Contains(line, `"took_ms"`) {
				t.Errorf("job line without job or took_ms: %s", line)
			}
		}
	}
	if cronLines == 0 || jobLines == 0 {
		t.Fatalf("no cron or job lines:\n%s", buf.String())
	}
}

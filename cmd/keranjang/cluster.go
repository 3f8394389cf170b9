package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/cluster"
	"github.com/keranjang/keranjang/store/postgres"
)

// clustered is this instance's part in a cluster of instances sharing one PostgreSQL database: the
// election of the leader, the claim on how updates come (one poller, or webhook instances) and the bot's
// guard. Each field is nil when not (yet) made.
type clustered struct {
	elector *cluster.Elector
	updates *cluster.UpdatesLock
	guard   *cluster.Guard
	stop    context.CancelFunc
	done    chan struct{}
}

// joinCluster prepares the cluster side of an instance on PostgreSQL (nothing for an embedded
// database): it claims the updates (joinUpdates), opens the bot's guard and builds the elector, which
// startLeading runs. It returns the guard for the bot (nil without a cluster).
func (a *App) joinCluster(ctx context.Context, cfg Config, opt Options) (bot.Guard, error) {
	pg, ok := a.store.(*postgres.Store)
	if !ok {
		return nil, nil
	}
	copt := opt.Cluster
	copt.Logger, copt.Metrics = a.log, a.leaderMetrics
	c := &clustered{}
	a.cluster = c
	var err error
	if c.updates, err = joinUpdates(ctx, cfg, copt); err != nil {
		return nil, err
	}
	workers := opt.BotWorkers
	if workers <= 0 {
		workers = defaultBotWorkers
	}
	g, err := cluster.NewGuard(ctx, cfg.DB, botID(cfg.BotToken.Reveal()), workers+2, copt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_DB"), err)
	}
	c.guard = g
	if c.elector, err = cluster.NewElector(cfg.DB, copt); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_DB"), err)
	}
	a.sched.ask = func(ctx context.Context, job string) error { return cluster.NotifyJob(ctx, pg.Pool(), job) }
	return g, nil
}

// joinUpdates claims this instance's way of receiving updates: long polling only when no other instance
// polls and none runs in webhook mode; webhook mode only when no instance polls. A refusal says what to
// do about it, at once.
func joinUpdates(ctx context.Context, cfg Config, copt cluster.Options) (*cluster.UpdatesLock, error) {
	db, hook, secret := cfg.name("KERANJANG_DB"), cfg.name("KERANJANG_WEBHOOK_URL"), cfg.name("KERANJANG_WEBHOOK_SECRET")
	if cfg.WebhookURL != "" {
		l, err := cluster.LockWebhook(ctx, cfg.DB, copt)
		if errors.Is(err, cluster.ErrPollerRunning) {
			return nil, fmt.Errorf("%s: %w: stop it, or set %s and %s on it too", db, err, hook, secret)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", db, err)
		}
		return l, nil
	}
	l, err := cluster.LockPoller(ctx, cfg.DB, copt)
	switch {
	case errors.Is(err, cluster.ErrPollerRunning):
		return nil, fmt.Errorf("%s: %w: stop the other instance, or run every instance in webhook mode (set %s and %s)",
			db, err, hook, secret)
	case errors.Is(err, cluster.ErrWebhookRunning):
		return nil, fmt.Errorf("%s: %w: long polling would delete their webhook; set %s and %s on this instance too",
			db, err, hook, secret)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", db, err)
	}
	return l, nil
}

// defaultBotWorkers is bot.Config.Workers' default: the most chats one instance holds at once.
const defaultBotWorkers = 16

// botID is the bot's id: the number before the colon of its token (0 if the token has none; update
// ids are then told apart by nothing else, which is all one bot needs).
func botID(token string) int64 {
	id, _, _ := strings.Cut(token, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// startLeading begins the leader's work: at once in a single process, which always leads; in a cluster
// by running the elector, which begins a term whenever this instance wins.
func (a *App) startLeading(ctx context.Context) error {
	if a.cluster == nil {
		if err := a.sched.begin(ctx); err != nil {
			return err
		}
		a.leaderMetrics.Elected()
		return nil
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cluster.stop, a.cluster.done = cancel, make(chan struct{})
	go func() {
		defer close(a.cluster.done)
		a.cluster.elector.Run(rctx, a.sched)
	}()
	return nil
}

// leave ends this instance's part in the cluster: it stops the elector, which frees the leader lock for
// another instance at once, then closes the guard (after the bot's handlers: it waits for the chats
// they hold) and frees the update mode lock.
func (c *clustered) leave(ctx context.Context) error {
	var errs []error
	if c.stop != nil {
		c.stop()
		select {
		case <-c.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("leave the election: %w", ctx.Err()))
		}
	}
	if c.guard != nil {
		closed := make(chan struct{})
		go func() { c.guard.Close(); close(closed) }()
		select {
		case <-closed:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("close the chat locks: %w", ctx.Err()))
		}
	}
	if c.updates != nil {
		errs = append(errs, c.updates.Close())
	}
	return errors.Join(errs...)
}

// clusterFromEnv reads the cluster's timing knobs, which the multi-instance tests shorten; production
// leaves them unset (see docs/CLUSTER.md). Each is a Go duration.
func clusterFromEnv(lookupEnv lookupFunc, opt *Options) error {
	for _, k := range []struct {
		env string
		dst *time.Duration
	}{
		{"KERANJANG_CLUSTER_RETRY_INTERVAL", &opt.Cluster.RetryEvery},
		{"KERANJANG_CLUSTER_HEALTH_INTERVAL", &opt.Cluster.HealthEvery},
		{"KERANJANG_CLUSTER_OUTBOX_POLL", &opt.OutboxPoll},
	} {
		v, ok := lookupEnv(k.env)
		if !ok || v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration (for example 200ms)", k.env, v)
		}
		*k.dst = d
	}
	if opt.Cluster.HealthEvery > 10*time.Second {
		// The health query's timeout is the same: their sum must stay under 20s (cluster.Options).
		return fmt.Errorf("KERANJANG_CLUSTER_HEALTH_INTERVAL: %v is too long: at most 10s", opt.Cluster.HealthEvery)
	}
	return nil
}

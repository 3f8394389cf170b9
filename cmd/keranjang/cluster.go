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
// election of the leader, the poller lock (long polling only) and the bot's guard. Each field is nil
// when not (yet) made.
type clustered struct {
	elector *cluster.Elector
	poll    *cluster.PollLock
	guard   *cluster.Guard
	stop    context.CancelFunc
	done    chan struct{}
}

// joinCluster prepares the cluster side of an instance on PostgreSQL (nothing for an embedded
// database): in polling mode it takes the poller lock, refusing to start when another instance polls;
// it opens the bot's guard and builds the elector, which run starts. It returns the guard for the bot
// (nil without a cluster).
func (a *App) joinCluster(ctx context.Context, cfg Config, opt Options) (bot.Guard, error) {
	pg, ok := a.store.(*postgres.Store)
	if !ok {
		return nil, nil
	}
	copt := opt.Cluster
	copt.Logger, copt.Metrics = a.log, a.leaderMetrics
	c := &clustered{}
	a.cluster = c
	if cfg.WebhookURL == "" {
		p, err := cluster.LockPoller(ctx, cfg.DB, copt)
		if errors.Is(err, cluster.ErrPollerRunning) {
			return nil, fmt.Errorf("%s: %w: stop the other instance, or run every instance in webhook mode "+
				"(set %s and %s)", cfg.name("KERANJANG_DB"), err, cfg.name("KERANJANG_WEBHOOK_URL"),
				cfg.name("KERANJANG_WEBHOOK_SECRET"))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.name("KERANJANG_DB"), err)
		}
		c.poll = p
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
// they hold) and frees the poller lock.
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
	if c.poll != nil {
		errs = append(errs, c.poll.Close())
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
	return nil
}

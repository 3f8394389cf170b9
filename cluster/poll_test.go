package cluster

import (
	"errors"
	"testing"
	"time"
)

// TestPollLock: a second poller on the same database is refused at once, and so is a webhook instance;
// once the first closes, another may poll. A poller whose session dies takes the lock again on a new
// connection.
func TestPollLock(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	first, err := LockPoller(t.Context(), u, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	if _, err := LockPoller(t.Context(), u, testOpts()); !errors.Is(err, ErrPollerRunning) {
		t.Fatalf("second poller: %v, want ErrPollerRunning", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the refusal took %v", took)
	}
	// Another schema (another deployment) has a poller lock of its own.
	other, err := LockPoller(t.Context(), schemaURL(t), testOpts())
	if err != nil {
		t.Fatalf("poller of another schema: %v", err)
	}
	_ = other.Close()

	pid := holder(t, pool, pollerLock)
	terminate(t, pool, pid)
	eventually(t, "the poller to take its lock again", func() bool {
		g, _ := lockPIDs(t, pool, pollerLock)
		return len(g) == 1 && g[0] != pid
	})
	if _, err := LockPoller(t.Context(), u, testOpts()); !errors.Is(err, ErrPollerRunning) {
		t.Fatalf("second poller after the first reconnected: %v, want ErrPollerRunning", err)
	}

	if _, err := LockWebhook(t.Context(), u, testOpts()); !errors.Is(err, ErrPollerRunning) {
		t.Fatalf("webhook instance beside a poller: %v, want ErrPollerRunning", err)
	}

	_ = first.Close()
	second, err := LockPoller(t.Context(), u, testOpts())
	if err != nil {
		t.Fatalf("poller after the first closed: %v", err)
	}
	_ = second.Close()
}

// TestWebhookInstancesExcludeAPoller: any number of webhook instances share the database; a poller is
// refused while one of them runs, and may start once they are gone.
func TestWebhookInstancesExcludeAPoller(t *testing.T) {
	u := schemaURL(t)
	a, err := LockWebhook(t.Context(), u, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	b, err := LockWebhook(t.Context(), u, testOpts())
	if err != nil {
		t.Fatalf("second webhook instance: %v", err)
	}
	if _, err := LockPoller(t.Context(), u, testOpts()); !errors.Is(err, ErrWebhookRunning) {
		t.Fatalf("poller beside webhook instances: %v, want ErrWebhookRunning", err)
	}
	_ = a.Close()
	if _, err := LockPoller(t.Context(), u, testOpts()); !errors.Is(err, ErrWebhookRunning) {
		t.Fatalf("poller beside one webhook instance: %v, want ErrWebhookRunning", err)
	}
	_ = b.Close()
	p, err := LockPoller(t.Context(), u, testOpts())
	if err != nil {
		t.Fatalf("poller once the webhook instances stopped: %v", err)
	}
	_ = p.Close()
}

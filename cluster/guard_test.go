package cluster

import (
	"context"
	"sync"
	"testing"
	"time"
)

func newGuard(t *testing.T, u string, opt Options) *Guard {
	t.Helper()
	g, err := NewGuard(t.Context(), u, 123456, 4, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// TestSeenOnceAcrossInstances has two guards (two instances) mark the same update ids at the same time,
// from many goroutines: exactly one of the two takes each id. Another bot's ids are its own.
func TestSeenOnceAcrossInstances(t *testing.T) {
	u := schemaURL(t)
	a, b := newGuard(t, u, testOpts()), newGuard(t, u, testOpts())
	const n = 200
	var mu sync.Mutex
	taken := map[int64]int{}
	var wg sync.WaitGroup
	for _, g := range []*Guard{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := int64(1); id <= n; id++ {
				seen, err := g.Seen(t.Context(), id)
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					mu.Lock()
					taken[id]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for id := int64(1); id <= n; id++ {
		if taken[id] != 1 {
			t.Fatalf("update %d taken %d times, want once", id, taken[id])
		}
	}
	other, err := NewGuard(t.Context(), u, 654321, 2, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if seen, err := other.Seen(t.Context(), 1); err != nil || seen {
		t.Fatalf("another bot's update 1: seen %v, %v; want new", seen, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Seen(ctx, 999); err == nil {
		t.Fatal("Seen with a cancelled context succeeded")
	}
}

// TestSeenPrunesOldIDs: ids older than DedupFor are forgotten by the next prune, newer ones kept.
func TestSeenPrunesOldIDs(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	if _, err := pool.Exec(t.Context(), `INSERT INTO telegram_updates (bot_id, update_id, seen_at)
		VALUES (123456, 1, now() - interval '25 hours'), (123456, 2, now() - interval '23 hours')`); err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, u, testOpts())
	if seen, err := g.Seen(t.Context(), 3); err != nil || seen { // the first Seen of a guard prunes
		t.Fatalf("update 3: %v, %v", seen, err)
	}
	var left []int64
	rows, err := pool.Query(t.Context(), `SELECT update_id FROM telegram_updates ORDER BY update_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		left = append(left, id)
	}
	if rows.Close(); len(left) != 2 || left[0] != 2 || left[1] != 3 {
		t.Fatalf("ids left %v, want [2 3]: the one older than a day pruned", left)
	}
	if seen, _ := g.Seen(t.Context(), 2); !seen {
		t.Fatal("update 2, seen 23 hours ago, was forgotten")
	}
}

// TestChatLock: a chat held by one guard makes another wait (while other chats stay free), passes to the
// waiter on unlock, and is freed when its holder's session dies. A wait cut short by its context leaves
// nothing behind.
func TestChatLock(t *testing.T) {
	u := schemaURL(t)
	pool := newPool(t, u)
	a, b := newGuard(t, u, testOpts()), newGuard(t, u, testOpts())
	const chat = "/chat/-1001234567890"

	unlockA, err := a.LockChat(t.Context(), -1001234567890)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		unlock, err := b.LockChat(t.Context(), -1001234567890)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- unlock
	}()
	eventually(t, "b to wait for the chat", func() bool { _, w := lockPIDs(t, pool, chat); return len(w) == 1 })
	nothing(t, got, "b took a chat a holds")
	unlockOther, err := b.LockChat(t.Context(), 42) // another chat is free
	if err != nil {
		t.Fatal(err)
	}
	unlockOther()

	unlockA()
	unlockB := receive(t, got, "b to take the chat a freed")
	if unlockB == nil {
		t.FailNow()
	}

	// b's session dies while it holds the chat: the chat is free for a.
	terminate(t, pool, holder(t, pool, chat))
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	unlockA, err = a.LockChat(ctx, -1001234567890)
	if err != nil {
		t.Fatalf("the chat of a dead session stayed locked: %v", err)
	}
	unlockB() // its connection is gone: closed, not returned to the pool

	// A wait that times out fails and holds nothing afterwards.
	short, cancelShort := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancelShort()
	if _, err := b.LockChat(short, -1001234567890); err == nil {
		t.Fatal("LockChat of a held chat succeeded before its context ended")
	}
	unlockA()
	eventually(t, "the chat to be free", func() bool { g, w := lockPIDs(t, pool, chat); return len(g)+len(w) == 0 })
	unlockB, err = b.LockChat(t.Context(), -1001234567890)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	if n := b.pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still taken from b's pool", n)
	}
}

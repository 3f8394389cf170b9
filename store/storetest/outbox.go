package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

func msg(key string, user int64) affiliate.OutboxMessage {
	return affiliate.OutboxMessage{Key: key, Kind: "notice", UserID: user, ChatID: user, Text: "hi " + key}
}

func enqueue(t testing.TB, f *fixture, msgs ...affiliate.OutboxMessage) int {
	t.Helper()
	n, err := f.s.Enqueue(t.Context(), msgs)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return n
}

func due(t testing.TB, f *fixture) []affiliate.OutboxMessage {
	t.Helper()
	ms, err := f.s.DueMessages(t.Context(), f.clock.Now(), 1000)
	if err != nil {
		t.Fatalf("due: %v", err)
	}
	return ms
}

func outboxStats(t testing.TB, f *fixture) affiliate.OutboxStats {
	t.Helper()
	st, err := f.s.OutboxStats(t.Context())
	if err != nil {
		t.Fatalf("outbox stats: %v", err)
	}
	return st
}

func testOutboxEnqueueOnce(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 20, "Ani")
	if n := enqueue(t, f, msg("a", 20), msg("b", 20), msg("a", 20)); n != 2 {
		t.Fatalf("queued %d, want 2 (a repeated key in one call queues once)", n)
	}
	if n := enqueue(t, f, msg("a", 20), msg("c", 20)); n != 1 {
		t.Fatalf("queued %d, want 1 (a key already in the outbox is skipped)", n)
	}
	ms := due(t, f)
	if len(ms) != 3 || ms[0].Key != "a" || ms[1].Key != "b" || ms[2].Key != "c" {
		t.Fatalf("due %+v", ms)
	}
	for _, m := range ms {
		if m.ID == 0 || m.Status != affiliate.OutboxQueued || !m.NextAt.Equal(f.clock.Now()) || m.CreatedAt.IsZero() {
			t.Fatalf("stored message %+v", m)
		}
	}
	// A sent message's key is refused too.
	if err := f.s.MarkSent(t.Context(), ms[0].ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if n := enqueue(t, f, msg("a", 20)); n != 0 {
		t.Fatalf("a sent key was queued again")
	}
	if st := outboxStats(t, f); st != (affiliate.OutboxStats{Queued: 2, Sent: 1}) {
		t.Fatalf("stats %+v", st)
	}
	for _, bad := range []affiliate.OutboxMessage{{ChatID: 1, Text: "x"}, {Key: "k", Text: "x"}, {Key: "k", ChatID: 1}} {
		if _, err := f.s.Enqueue(t.Context(), []affiliate.OutboxMessage{bad}); affiliate.ErrorCode(err) != affiliate.EInvalid {
			t.Fatalf("enqueue %+v: %v, want invalid", bad, err)
		}
	}
	if st, _ := f.s.Stats(t.Context()); st.Outbox != 2 {
		t.Fatalf("Stats.Outbox %d, want 2", st.Outbox)
	}
}

func testOutboxLifecycle(t *testing.T, open Open) {
	f := newFixture(t, open)
	now := f.clock.Now()
	later := msg("later", 20)
	later.NextAt = now.Add(time.Hour)
	enqueue(t, f, msg("a", 20), msg("b", 21), later)
	ms := due(t, f)
	if len(ms) != 2 {
		t.Fatalf("due %d, want 2 (one is for later)", len(ms))
	}
	a, b := ms[0], ms[1]
	if next, ok, err := f.s.NextDue(t.Context()); err != nil || !ok || !next.Equal(now) {
		t.Fatalf("next due %v %v %v", next, ok, err)
	}
	if err := f.s.MarkRetry(t.Context(), a.ID, 1, now.Add(2*time.Hour), "502 bad gateway"); err != nil {
		t.Fatal(err)
	}
	if ms := due(t, f); len(ms) != 1 || ms[0].ID != b.ID {
		t.Fatalf("due after retry: %+v", ms)
	}
	if err := f.s.MarkFailed(t.Context(), b.ID, "400 chat not found"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	ms = due(t, f)
	if len(ms) != 2 || ms[0].Key != "later" || ms[1].ID != a.ID || ms[1].Attempts != 1 || ms[1].LastError != "502 bad gateway" {
		t.Fatalf("due in order of NextAt: %+v", ms)
	}
	if ms, _ := f.s.DueMessages(t.Context(), f.clock.Now(), 1); len(ms) != 1 || ms[0].Key != "later" {
		t.Fatalf("limit 1: %+v", ms)
	}
	sentAt := f.clock.Now()
	if err := f.s.MarkSent(t.Context(), a.ID, sentAt); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkSent(t.Context(), a.ID, sentAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.GetOutboxMessage(t.Context(), a.ID)
	if err != nil || got.Status != affiliate.OutboxSent || !got.SentAt.Equal(sentAt) {
		t.Fatalf("sent message %+v %v", got, err)
	}
	// Retry and failure leave a finished message alone.
	if err := f.s.MarkRetry(t.Context(), a.ID, 5, sentAt, "x"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkFailed(t.Context(), a.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.GetOutboxMessage(t.Context(), a.ID); got.Status != affiliate.OutboxSent {
		t.Fatalf("finished message changed: %+v", got)
	}
	if st := outboxStats(t, f); st != (affiliate.OutboxStats{Queued: 1, Sent: 1, Failed: 1}) {
		t.Fatalf("stats %+v", st)
	}
	if err := f.s.MarkSent(t.Context(), 9999, sentAt); affiliate.ErrorCode(err) != affiliate.ENotFound {
		t.Fatalf("unknown id: %v", err)
	}
	if next, ok, err := f.s.NextDue(t.Context()); err != nil || !ok || !next.Equal(now.Add(time.Hour)) {
		t.Fatalf("next due %v %v %v", next, ok, err)
	}
}

func testOutboxReachable(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 20, "Ani")
	f.user(t, 21, "Budi")
	enqueue(t, f, msg("a1", 20), msg("a2", 20), msg("b1", 21))
	dropped, err := f.s.SetReachable(t.Context(), 20, false)
	if err != nil || dropped != 2 {
		t.Fatalf("set unreachable: %d %v", dropped, err)
	}
	if u, _ := f.s.GetUser(t.Context(), 20); u.Reachable {
		t.Fatalf("user still reachable")
	}
	if ms := due(t, f); len(ms) != 1 || ms[0].Key != "b1" {
		t.Fatalf("due %+v", ms)
	}
	// Queued for an unreachable user: dropped at once, key taken.
	if n := enqueue(t, f, msg("a3", 20)); n != 0 {
		t.Fatalf("queued %d for an unreachable user", n)
	}
	if st := outboxStats(t, f); st != (affiliate.OutboxStats{Queued: 1, Dropped: 3}) {
		t.Fatalf("stats %+v", st)
	}
	if dropped, err := f.s.SetReachable(t.Context(), 20, true); err != nil || dropped != 0 {
		t.Fatalf("set reachable: %d %v", dropped, err)
	}
	if u, _ := f.s.GetUser(t.Context(), 20); !u.Reachable {
		t.Fatalf("user not reachable again")
	}
	if n := enqueue(t, f, msg("a3", 20), msg("a4", 20)); n != 1 {
		t.Fatalf("queued %d, want 1 (a3's key stays taken)", n)
	}
	// A user who is not stored: their messages are dropped all the same.
	enqueue(t, f, msg("x", 77))
	if dropped, err := f.s.SetReachable(t.Context(), 77, false); err != nil || dropped != 1 {
		t.Fatalf("unknown user: %d %v", dropped, err)
	}
}

func testOutboxMigrateChat(t *testing.T, open Open) {
	f := newFixture(t, open)
	g := affiliate.OutboxMessage{Key: "g1", ChatID: -100, Group: true, Text: "group"}
	g2 := g
	g2.Key = "g2"
	enqueue(t, f, g, g2, msg("a", 20))
	if err := f.s.MigrateChat(t.Context(), -100, -1001234); err != nil {
		t.Fatal(err)
	}
	ms := due(t, f)
	if len(ms) != 3 || ms[0].ChatID != -1001234 || ms[1].ChatID != -1001234 || ms[2].ChatID != 20 {
		t.Fatalf("after migration: %+v", ms)
	}
}

func testOutboxAlertCounts(t *testing.T, open Open) {
	f := newFixture(t, open)
	for id := int64(1); id <= 5; id++ {
		f.user(t, id, "U")
	}
	var ms []affiliate.OutboxMessage
	for id := int64(1); id <= 5; id++ {
		m := msg(fmt.Sprintf("alert:9:%d", id), id)
		m.Kind, m.AlertID = "alert", 9
		ms = append(ms, m)
	}
	enqueue(t, f, ms...)
	if err := f.s.AddAlertSkipped(t.Context(), 9, 2); err != nil {
		t.Fatal(err)
	}
	check := func(want affiliate.AlertCounts) {
		t.Helper()
		if got, err := f.s.AlertCounts(t.Context(), 9); err != nil || got != want {
			t.Fatalf("alert counts %+v %v, want %+v", got, err, want)
		}
	}
	check(affiliate.AlertCounts{Queued: 5, Skipped: 2})
	queued := due(t, f)
	if err := f.s.MarkSent(t.Context(), queued[0].ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkSent(t.Context(), queued[1].ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkFailed(t.Context(), queued[2].ID, "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetReachable(t.Context(), queued[3].UserID, false); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkRetry(t.Context(), queued[4].ID, 1, f.clock.Now().Add(time.Minute), "502"); err != nil {
		t.Fatal(err)
	}
	check(affiliate.AlertCounts{Queued: 1, Delivered: 2, Failed: 1, Unreachable: 1, Skipped: 2})
	if got, err := f.s.AlertCounts(t.Context(), 10); err != nil || got != (affiliate.AlertCounts{}) {
		t.Fatalf("an alert with no messages: %+v %v", got, err)
	}
}

func testOutboxPrune(t *testing.T, open Open) {
	f := newFixture(t, open)
	enqueue(t, f, msg("old", 20), msg("failed", 20), msg("recent", 20), msg("queued", 20))
	ms := due(t, f)
	if err := f.s.MarkSent(t.Context(), ms[0].ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MarkFailed(t.Context(), ms[1].ID, "x"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(40 * 24 * time.Hour)
	if err := f.s.MarkSent(t.Context(), ms[2].ID, f.clock.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A limit later than now keeps what finished within the key retention.
	n, err := f.s.PruneOutbox(t.Context(), f.clock.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d %v, want 2", n, err)
	}
	if _, err := f.s.GetOutboxMessage(t.Context(), ms[0].ID); affiliate.ErrorCode(err) != affiliate.ENotFound {
		t.Fatalf("pruned message still there: %v", err)
	}
	if _, err := f.s.GetOutboxMessage(t.Context(), ms[2].ID); err != nil {
		t.Fatalf("recent message pruned: %v", err)
	}
	if n := enqueue(t, f, msg("old", 20), msg("recent", 20), msg("queued", 20)); n != 1 {
		t.Fatalf("queued %d after pruning, want 1 (only the pruned key is free again)", n)
	}
	if st := outboxStats(t, f); st != (affiliate.OutboxStats{Queued: 2, Sent: 2, Failed: 1}) {
		t.Fatalf("stats %+v (pruning keeps the counters)", st)
	}
	if n, err := f.s.PruneOutbox(t.Context(), f.clock.Now().Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second prune %d %v", n, err)
	}
}

func testOutboxAcrossReopen(t *testing.T, open Open) {
	f := newFixture(t, open)
	enqueue(t, f, msg("a", 20), msg("b", 20))
	ms := due(t, f)
	if err := f.s.MarkSent(t.Context(), ms[0].ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.restart(t)
	if left := due(t, f); len(left) != 1 || left[0].Key != "b" {
		t.Fatalf("due after reopen: %+v", left)
	}
	if n := enqueue(t, f, msg("a", 20), msg("c", 20)); n != 1 {
		t.Fatalf("queued %d after reopen, want 1", n)
	}
	if left := due(t, f); left[1].ID <= ms[1].ID {
		t.Fatalf("ids not increasing across reopen: %+v", left)
	}
}

func testOutboxErasure(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 20, "Ani")
	f.user(t, 21, "Budi")
	enqueue(t, f, msg("a1", 20), msg("a2", 20), msg("b1", 21))
	if err := f.s.DeleteUserData(t.Context(), 20); err != nil {
		t.Fatal(err)
	}
	if ms := due(t, f); len(ms) != 1 || ms[0].Key != "b1" {
		t.Fatalf("an erased user's messages are still due: %+v", ms)
	}
	if st := outboxStats(t, f); st != (affiliate.OutboxStats{Queued: 1, Dropped: 2}) {
		t.Fatalf("stats %+v", st)
	}
}

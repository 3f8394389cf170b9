package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store/postgres"
	"github.com/keranjang/keranjang/store/storetest"
)

// TestOutboxTwoInstances runs two stores on one schema, as two instances of keranjang on one database:
// both queue the same keys at once (in opposite orders), then one marks messages sent, failed or
// retried and queues more while the other marks users unreachable, queues more for them and advances
// an alert's fan-out over the same pages. Afterwards each key is queued once, nobody unreachable has a queued
// message, and the counters (OutboxStats, AlertCounts) equal a recount of the rows.
func TestOutboxTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	clock := storetest.NewClock()
	a, b := open(t, url, clock.Now), open(t, url, clock.Now)
	ctx := t.Context()
	const users, alertID = 200, 7
	for id := int64(1); id <= users; id++ {
		storetest.User(t, a, id, fmt.Sprint("U", id))
	}
	alert, err := a.CreateAlert(ctx, affiliate.Alert{Title: "Aturan", Audience: affiliate.AudienceAll})
	if err != nil {
		t.Fatal(err)
	}

	// Every user gets an alert message and three notices; each instance queues all of them, one in
	// order and the other in reverse, in pages, from two goroutines each.
	var msgs []affiliate.OutboxMessage
	for id := int64(1); id <= users; id++ {
		m := affiliate.OutboxMessage{Key: affiliate.AlertKey(alertID, id), Kind: "alert", AlertID: alertID, UserID: id, ChatID: id, Text: "alert"}
		msgs = append(msgs, m)
		for n := range 3 {
			msgs = append(msgs, affiliate.OutboxMessage{Key: fmt.Sprintf("n:%d:%d", id, n), Kind: "notice", UserID: id, ChatID: id, Text: "notice"})
		}
	}
	reversed := make([]affiliate.OutboxMessage, len(msgs))
	for i, m := range msgs {
		reversed[len(msgs)-1-i] = m
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		queued int
	)
	enqueue := func(s *postgres.Store, ms []affiliate.OutboxMessage) {
		defer wg.Done()
		for len(ms) > 0 {
			page := ms[:min(len(ms), 47)]
			ms = ms[len(page):]
			n, err := s.Enqueue(ctx, page)
			if err != nil {
				t.Errorf("enqueue: %v", err)
				return
			}
			mu.Lock()
			queued += n
			mu.Unlock()
		}
	}
	for _, s := range []*postgres.Store{a, b} {
		wg.Add(2)
		go enqueue(s, msgs)
		go enqueue(s, reversed)
	}
	wg.Wait()
	if queued != len(msgs) {
		t.Fatalf("queued %d in all, want %d (each key once)", queued, len(msgs))
	}
	recount(t, a, alertID)

	due, err := a.DueMessages(ctx, clock.Now(), 10*len(msgs))
	if err != nil || len(due) != len(msgs) {
		t.Fatalf("due %d %v", len(due), err)
	}
	// The worker (on a) finishes every message one way or another while b marks every other user
	// unreachable, queues more for them and fans the alert out over pages both instances try.
	wg.Add(4)
	go func() {
		defer wg.Done()
		for i, m := range due {
			var err error
			switch i % 4 {
			case 0, 1:
				err = a.MarkSent(ctx, m.ID, clock.Now())
			case 2:
				err = a.MarkFailed(ctx, m.ID, "400")
			case 3:
				err = a.MarkRetry(ctx, m.ID, 1, clock.Now().Add(time.Minute), "502")
			}
			if err != nil {
				t.Errorf("mark %d: %v", m.ID, err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for id := int64(1); id <= users; id += 2 {
			if _, err := b.SetReachable(ctx, id, false); err != nil {
				t.Errorf("set unreachable %d: %v", id, err)
			}
			if _, err := b.Enqueue(ctx, []affiliate.OutboxMessage{
				{Key: fmt.Sprintf("late:%d", id), AlertID: alertID, UserID: id, ChatID: id, Text: "late"},
				{Key: fmt.Sprintf("late:%d", id+1), AlertID: alertID, UserID: id + 1, ChatID: id + 1, Text: "late"},
			}); err != nil {
				t.Errorf("enqueue late: %v", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for round := range 5 {
			for id := int64(1); id <= users; id += 10 {
				var ms []affiliate.OutboxMessage
				for u := id; u < id+10; u++ {
					ms = append(ms, affiliate.OutboxMessage{Key: fmt.Sprintf("more:%d:%d", round, u), AlertID: alertID, UserID: u, ChatID: u, Text: "more"})
				}
				if _, err := a.Enqueue(ctx, ms); err != nil {
					t.Errorf("enqueue more: %v", err)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for page := int64(0); page < users; page += 10 {
			for _, s := range []*postgres.Store{b, a} {
				if _, err := s.AdvanceFanout(ctx, alert.ID, page, page+10, 2); err != nil {
					t.Errorf("advance: %v", err)
				}
			}
		}
	}()
	wg.Wait()

	st := recount(t, a, alertID)
	if st.Sent == 0 || st.Failed == 0 || st.Dropped == 0 || st.Queued == 0 {
		t.Fatalf("stats %+v: every status should be reached", st)
	}
	var stranded int
	if err := a.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox o JOIN users u ON u.id = o.user_id
		WHERE o.status = 'queued' AND NOT u.reachable`).Scan(&stranded); err != nil || stranded != 0 {
		t.Fatalf("%d messages queued for unreachable users (%v)", stranded, err)
	}
	if c, err := b.AlertCounts(ctx, alert.ID); err != nil || c.Skipped != 2*users/10 {
		t.Fatalf("alert %d counts %+v %v: each page's skipped users counted once", alert.ID, c, err)
	}
	if p, err := b.AlertProgress(ctx, alert.ID); err != nil || p.Cursor != users {
		t.Fatalf("progress %+v %v", p, err)
	}
}

// recount checks the outbox counters and alert alertID's counts against a count of the rows, and
// returns the counters.
func recount(t *testing.T, s *postgres.Store, alertID uint64) affiliate.OutboxStats {
	t.Helper()
	ctx := t.Context()
	rows, err := s.Pool().Query(ctx, `SELECT status, alert_id, count(*) FROM outbox GROUP BY status, alert_id`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		want  affiliate.OutboxStats
		wantC affiliate.AlertCounts
		st    string
		alert uint64
		n     int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&st, &alert, &n}, func() error {
		var c *int64
		switch affiliate.OutboxStatus(st) {
		case affiliate.OutboxQueued:
			want.Queued, c = want.Queued+n, &wantC.Queued
		case affiliate.OutboxSent:
			want.Sent, c = want.Sent+n, &wantC.Delivered
		case affiliate.OutboxFailed:
			want.Failed, c = want.Failed+n, &wantC.Failed
		case affiliate.OutboxDropped:
			want.Dropped, c = want.Dropped+n, &wantC.Unreachable
		}
		if alert == alertID {
			*c += n
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.OutboxStats(ctx)
	if err != nil || got != want {
		t.Fatalf("outbox stats %+v %v, recount %+v", got, err, want)
	}
	gotC, err := s.AlertCounts(ctx, alertID)
	if err != nil || gotC != wantC {
		t.Fatalf("alert counts %+v %v, recount %+v", gotC, err, wantC)
	}
	if st, err := s.Stats(ctx); err != nil || st.Outbox != want.Queued {
		t.Fatalf("Stats.Outbox %d %v, want %d", st.Outbox, err, want.Queued)
	}
	return got
}

// TestEnqueueNotifies checks that Enqueue wakes a listener on postgres.OutboxChannel when it queues
// something, at commit, and stays silent when it queues nothing (a repeated key, an unreachable user).
func TestEnqueueNotifies(t *testing.T) {
	url := pgtest.URL(t)
	clock := storetest.NewClock()
	s := open(t, url, clock.Now)
	ctx := t.Context()
	storetest.User(t, s, 20, "Ani")
	if _, err := s.SetReachable(ctx, 20, false); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+postgres.OutboxChannel); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// wait reports whether this schema's store notified within d. Channels belong to the database, not to
	// a schema, so notifications of other tests' stores (another payload) are passed over.
	wait := func(d time.Duration) bool {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		for {
			n, err := conn.WaitForNotification(wctx)
			if err != nil {
				return false
			}
			if n.Channel != postgres.OutboxChannel {
				t.Fatalf("notification on %q", n.Channel)
			}
			if n.Payload == schema {
				return true
			}
		}
	}
	if n, err := s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "a", UserID: 21, ChatID: 21, Text: "hi"}}); err != nil || n != 1 {
		t.Fatalf("enqueue %d %v", n, err)
	}
	if !wait(5 * time.Second) {
		t.Fatal("no notification after a message was queued")
	}
	if n, err := s.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "a", UserID: 21, ChatID: 21, Text: "hi"}, {Key: "b", UserID: 20, ChatID: 20, Text: "hi"}}); err != nil || n != 0 {
		t.Fatalf("enqueue %d %v", n, err)
	}
	if wait(300 * time.Millisecond) {
		t.Fatal("a notification though nothing was queued")
	}
}

// TestMigrateChatMovesUsers checks the part of MigrateChat the suite leaves out: the users whose chat
// was migrated get the new chat id, and others keep theirs.
func TestMigrateChatMovesUsers(t *testing.T) {
	url := pgtest.URL(t)
	clock := storetest.NewClock()
	s := open(t, url, clock.Now)
	ctx := t.Context()
	storetest.User(t, s, 20, "Ani")
	storetest.User(t, s, 21, "Budi")
	clock.Advance(time.Hour)
	if err := s.MigrateChat(ctx, 20, -100123); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, 20); err != nil || u.ChatID != -100123 || !u.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("migrated user %+v %v", u, err)
	}
	if u, err := s.GetUser(ctx, 21); err != nil || u.ChatID != 21 {
		t.Fatalf("other user %+v %v", u, err)
	}
}

// TestEnqueueKeepsOrder checks that the messages of one call get ids in the order given (so that
// DueMessages returns messages due at the same time in the order they were queued, as on bbolt),
// although they are inserted in key order.
func TestEnqueueKeepsOrder(t *testing.T) {
	clock := storetest.NewClock()
	s := open(t, pgtest.URL(t), clock.Now)
	keys := []string{"z", "a", "m", "b", "y"}
	var ms []affiliate.OutboxMessage
	for _, k := range keys {
		ms = append(ms, affiliate.OutboxMessage{Key: k, ChatID: 1, Text: k})
	}
	if n, err := s.Enqueue(t.Context(), ms); err != nil || n != len(keys) {
		t.Fatalf("enqueue %d %v", n, err)
	}
	due, err := s.DueMessages(t.Context(), clock.Now(), 10)
	if err != nil || len(due) != len(keys) {
		t.Fatalf("due %+v %v", due, err)
	}
	for i, m := range due {
		if m.Key != keys[i] || (i > 0 && m.ID <= due[i-1].ID) {
			t.Fatalf("due %d is %q (id %d), want %q after id %d", i, m.Key, m.ID, keys[i], due[max(i-1, 0)].ID)
		}
	}
}

// TestFeedsAndBroadcastsTwoInstances has two instances read the same feed and press the same broadcast
// button at once: each new item becomes one alert, and one broadcast begins.
func TestFeedsAndBroadcastsTwoInstances(t *testing.T) {
	url := pgtest.URL(t)
	clock := storetest.NewClock()
	a, b := open(t, url, clock.Now), open(t, url, clock.Now)
	ctx := t.Context()
	const feed = "https://policy.example.com/rss"
	items := func(ids ...int) []affiliate.FeedItem {
		var out []affiliate.FeedItem
		for _, id := range ids {
			out = append(out, affiliate.FeedItem{ID: fmt.Sprint("g:", id), Alert: affiliate.Alert{Title: fmt.Sprint("T", id), Audience: affiliate.AudienceAll}})
		}
		return out
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		begun   int
	)
	read := func(s *postgres.Store, its []affiliate.FeedItem) {
		defer wg.Done()
		as, err := s.RecordFeedItems(ctx, feed, its)
		if err != nil {
			t.Errorf("record feed items: %v", err)
		}
		mu.Lock()
		created += len(as)
		mu.Unlock()
	}
	// Two first reads at once: one of them is the first, and the other finds nothing new.
	wg.Add(2)
	go read(a, items(1, 2))
	go read(b, items(1, 2))
	wg.Wait()
	if created != 0 {
		t.Fatalf("the same first read from two instances created %d alerts", created)
	}
	// Then each read brings two new items (and an old one), read by four readers at once.
	for round := range 5 {
		wg.Add(4)
		for _, s := range []*postgres.Store{a, b, a, b} {
			go read(s, items(round*2+3, 2, round*2+4))
		}
		wg.Wait()
	}
	if created != 10 {
		t.Fatalf("%d alerts from 10 new items read by four readers each", created)
	}
	if p, err := a.PendingAlerts(ctx); err != nil || len(p) != 10 {
		t.Fatalf("pending %d %v", len(p), err)
	}

	now := clock.Now()
	for range 4 {
		wg.Add(2)
		for _, s := range []*postgres.Store{a, b} {
			go func() {
				defer wg.Done()
				_, err := s.BeginBroadcast(ctx, 10, now)
				switch {
				case err == nil:
					mu.Lock()
					begun++
					mu.Unlock()
				case affiliate.ErrorReason(err) != "broadcast_too_soon":
					t.Errorf("begin broadcast: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if begun != 1 {
		t.Fatalf("%d broadcasts begun by eight presses at once", begun)
	}
}

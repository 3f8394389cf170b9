package scheduler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
)

// outboxQueue queues notices as plain outbox messages (the text is the notice's key and arguments);
// failAfter > 0 makes the call after that many succeed fail, before (or, with failLate, after) queueing.
type outboxQueue struct {
	st        *store.Store
	calls     atomic.Int32
	failAfter int32
	failLate  bool
}

var errQueueDown = errors.New("outbox unavailable")

func (q *outboxQueue) QueueNotices(ctx context.Context, users []affiliate.User, notices []affiliate.Notice) (int, error) {
	call := q.calls.Add(1)
	if q.failAfter > 0 && call > q.failAfter && !q.failLate {
		return 0, errQueueDown
	}
	msgs := make([]affiliate.OutboxMessage, len(users))
	for i, u := range users {
		n := notices[i]
		msgs[i] = affiliate.OutboxMessage{Key: n.ID, Kind: n.Kind, AlertID: n.AlertID, UserID: u.ID, ChatID: u.ChatID,
			Text: fmt.Sprint(n.Key, n.Args)}
	}
	queued, err := q.st.Enqueue(ctx, msgs)
	if err == nil && q.failAfter > 0 && call > q.failAfter {
		return 0, errQueueDown // queued, but the caller never hears it
	}
	return queued, err
}

// population registers n users: every 5th a seller, every 7th with alerts off, every 4th blocked the bot.
// It returns the expected counts of an alert to audience a.
func population(t *testing.T, st *store.Store, n int, a affiliate.Audience) affiliate.AlertCounts {
	t.Helper()
	ctx := t.Context()
	var want affiliate.AlertCounts
	for id := int64(1); id <= int64(n); id++ {
		u := affiliate.User{ID: id, ChatID: id, FirstName: "U", Lang: affiliate.LangID, TimeZone: "Asia/Jakarta",
			AlertsOn: id%7 != 0, Reachable: true, Seller: id%5 == 0}
		if _, _, err := st.RegisterUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if id%4 == 0 {
			if _, err := st.SetReachable(ctx, id, false); err != nil {
				t.Fatal(err)
			}
			u.Reachable = false
		}
		switch affiliate.AlertFateOf(&u, a) {
		case affiliate.AlertSkipOff:
			want.Skipped++
		case affiliate.AlertQueue:
			if u.Reachable {
				want.Queued++
			} else {
				want.Unreachable++
			}
		}
	}
	return want
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// alertKeys returns the keys of the queued messages of alert id.
func alertKeys(t *testing.T, st *store.Store, id uint64) map[string]int {
	t.Helper()
	msgs, err := st.DueMessages(t.Context(), time.Now().Add(time.Hour), 100000)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, m := range msgs {
		if m.AlertID == id {
			keys[m.Key]++
			if want := affiliate.AlertKey(id, m.UserID); m.Key != want || m.Kind != "alert" {
				t.Fatalf("message %+v: key %q, want %q and kind alert", m, m.Key, want)
			}
		}
	}
	return keys
}

func TestFanOutCountsEveryUserOnce(t *testing.T) {
	for _, aud := range []affiliate.Audience{affiliate.AudienceAll, affiliate.AudienceAffiliates, affiliate.AudienceSellers} {
		t.Run(string(aud), func(t *testing.T) {
			st := openStore(t)
			want := population(t, st, 95, aud)
			a, err := st.CreateAlert(t.Context(), affiliate.Alert{Title: "Aturan baru", Body: "Isi", Audience: aud})
			if err != nil {
				t.Fatal(err)
			}
			q := &outboxQueue{st: st}
			job := FanOutAlerts(st, q, 10)
			if err := job(t.Context()); err != nil {
				t.Fatal(err)
			}
			got, err := st.AlertCounts(t.Context(), a.ID)
			if err != nil || got != want {
				t.Fatalf("counts %+v %v, want %+v", got, err, want)
			}
			if keys := alertKeys(t, st, a.ID); int64(len(keys)) != want.Queued {
				t.Fatalf("%d queued messages, want %d", len(keys), want.Queued)
			}
			if p, _ := st.PendingAlerts(t.Context()); len(p) != 0 {
				t.Fatalf("still pending: %+v", p)
			}
			// Running the job again finds nothing to do.
			calls := q.calls.Load()
			if err := job(t.Context()); err != nil || q.calls.Load() != calls {
				t.Fatalf("second run: %v, %d calls after %d", err, q.calls.Load(), calls)
			}
		})
	}
}

// A fan-out that stops half-way (the outbox fails, before or after queueing a page, as a crash would)
// goes on from its cursor on the next run, after a restart too, and queues and counts nobody twice.
func TestFanOutResumes(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("failAfterQueueing=%v", late), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.db")
			st, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := population(t, st, 120, affiliate.AudienceAll)
			a, err := st.CreateAlert(t.Context(), affiliate.Alert{Title: "Aturan", Audience: affiliate.AudienceAll})
			if err != nil {
				t.Fatal(err)
			}
			q := &outboxQueue{st: st, failAfter: 3, failLate: late}
			if err := FanOutAlerts(st, q, 10)(t.Context()); !errors.Is(err, errQueueDown) {
				t.Fatalf("first run: %v", err)
			}
			if p, err := st.AlertProgress(t.Context(), a.ID); err != nil || p.Cursor == 0 || p.Cursor >= 120 {
				t.Fatalf("progress after the failure %+v %v", p, err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = openStore2(t, path)
			if err := FanOutAlerts(st, &outboxQueue{st: st}, 10)(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got, err := st.AlertCounts(t.Context(), a.ID); err != nil || got != want {
				t.Fatalf("counts %+v %v, want %+v", got, err, want)
			}
			for k, n := range alertKeys(t, st, a.ID) {
				if n != 1 {
					t.Fatalf("key %s queued %d times", k, n)
				}
			}
		})
	}
}

func openStore2(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// SendAlert stores the alert and the triggered job fans it out without waiting for the schedule.
func TestAlertSenderTriggersFanOut(t *testing.T) {
	st := openStore(t)
	want := population(t, st, 30, affiliate.AudienceAll)
	s := New(time.UTC, zerolog.Nop(), nil)
	if err := s.AddJobs(Jobs{Visitors: &pruned{}, Clicks: &pruned{}, Reminders: st, Notifier: &notices{},
		AttributionWindow: time.Hour, Alerts: st, Queue: &outboxQueue{st: st}}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	sender := NewAlertSender(st, s)
	var ids []uint64
	for i := range 3 {
		a, err := sender.SendAlert(t.Context(), affiliate.Alert{Title: fmt.Sprint("Aturan ", i), Audience: affiliate.AudienceAll})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			a, err := st.GetAlert(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if a.FannedOut {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("alert %d not fanned out", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got, err := st.AlertCounts(t.Context(), id); err != nil || got != want {
			t.Fatalf("alert %d counts %+v %v, want %+v", id, got, err, want)
		}
	}
}

func TestAlertNotice(t *testing.T) {
	n := AlertNotice(affiliate.Alert{ID: 7, Title: "T", Body: "B", URL: "https://x.example.com/a"}, 42)
	if n.ID != "alert:7:42" || n.Kind != "alert" || n.AlertID != 7 || n.Key != "alert_url" || len(n.Args) != 3 {
		t.Fatalf("notice %+v", n)
	}
	if n := AlertNotice(affiliate.Alert{ID: 7, Title: "T"}, 42); n.Key != "alert" || !strings.HasPrefix(n.ID, "alert:7:") {
		t.Fatalf("notice %+v", n)
	}
}

package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keranjang/keranjang/internal/secret"
)

// memGuard is a Guard in memory shared by several bots of one test, as the database is shared by several
// instances. taken gets the chat each time a LockChat call takes it, waiting each time one has to wait
// for another holder, and failed a value each time a call fails.
type memGuard struct {
	mu      sync.Mutex
	seen    map[int64]bool
	chats   map[int64]chan struct{}
	fail    error
	taken   chan int64
	waiting chan int64
	failed  chan struct{}
}

func newMemGuard() *memGuard {
	return &memGuard{seen: map[int64]bool{}, chats: map[int64]chan struct{}{},
		taken: make(chan int64, 16), waiting: make(chan int64, 16), failed: make(chan struct{}, 16)}
}

func (g *memGuard) Seen(_ context.Context, id int64) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return false, g.fail
	}
	was := g.seen[id]
	g.seen[id] = true
	return was, nil
}

func (g *memGuard) LockChat(ctx context.Context, chat int64) (func(), error) {
	for {
		g.mu.Lock()
		if err := g.fail; err != nil {
			g.mu.Unlock()
			g.failed <- struct{}{}
			return nil, err
		}
		held, ok := g.chats[chat]
		if !ok {
			free := make(chan struct{})
			g.chats[chat] = free
			g.mu.Unlock()
			g.taken <- chat
			return func() {
				g.mu.Lock()
				delete(g.chats, chat)
				close(free)
				g.mu.Unlock()
			}, nil
		}
		g.mu.Unlock()
		g.waiting <- chat
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (g *memGuard) setFail(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

// guardedBot starts a bot in webhook mode with guard g and handler h and serves its webhook; it returns
// the webhook URL and the bot's registry.
func guardedBot(t *testing.T, g Guard, h Handler) (string, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	b := newTestBot(t, newFake(t), h, func(c *Config) {
		c.WebhookURL = "https://keranjang.example/telegram"
		c.WebhookSecret = secret.Secret(webhookSecret)
		c.Guard = g
		c.Registry = reg
	})
	if err := b.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(b.WebhookHandler())
	t.Cleanup(srv.Close)
	return srv.URL, reg
}

func deliver(t *testing.T, url string, id int64) {
	t.Helper()
	req, _ := http.NewRequestWithContext(testCtx(t), http.MethodPost, url, strings.NewReader(update(id, 200)))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update %d: status %d", id, resp.StatusCode)
	}
}

func waitUpdate(t *testing.T, got <-chan int64, want int64) {
	t.Helper()
	select {
	case id := <-got:
		if id != want {
			t.Fatalf("handled update %d, want %d", id, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("update %d was not handled", want)
	}
}

// TestGuardHandlesADuplicateOnce delivers one update to two bots sharing a guard, as Telegram may deliver
// it twice to two instances: it is handled once and counted once as a duplicate. A later update of the
// same chat on each bot shows that the duplicate has been dealt with (a chat's updates are in order).
func TestGuardHandlesADuplicateOnce(t *testing.T) {
	g := newMemGuard()
	got := make(chan int64, 16)
	h := HandlerFunc(func(_ context.Context, r *Request) { got <- r.UpdateID })
	urlA, regA := guardedBot(t, g, h)
	urlB, regB := guardedBot(t, g, h)

	deliver(t, urlA, 7)
	deliver(t, urlB, 7)
	waitUpdate(t, got, 7)
	deliver(t, urlA, 8)
	deliver(t, urlB, 9)
	seen := map[int64]int{}
	for range 2 {
		select {
		case id := <-got:
			seen[id]++
		case <-time.After(10 * time.Second):
			t.Fatal("the later updates were not handled")
		}
	}
	if seen[8] != 1 || seen[9] != 1 {
		t.Fatalf("later updates handled %v, want 8 and 9 once each", seen)
	}
	dupA := counterValue(t, regA, "keranjang_updates_duplicate_total")
	dupB := counterValue(t, regB, "keranjang_updates_duplicate_total")
	if dupA+dupB != 1 {
		t.Fatalf("duplicates counted %v + %v, want 1", dupA, dupB)
	}
}

// TestGuardKeepsAChatToOneBot has bot A handle an update of chat 42 and hold it, delivers the chat's
// next update to bot B, and checks that B waits for the chat until A's handler returns.
func TestGuardKeepsAChatToOneBot(t *testing.T) {
	g := newMemGuard()
	got := make(chan int64, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	inChat := 0
	h := HandlerFunc(func(_ context.Context, r *Request) {
		mu.Lock()
		inChat++
		n := inChat
		mu.Unlock()
		if n > 1 {
			t.Errorf("update %d handled while another update of chat 42 was being handled", r.UpdateID)
		}
		if r.UpdateID == 1 {
			<-release
		}
		mu.Lock()
		inChat--
		mu.Unlock()
		got <- r.UpdateID
	})
	urlA, _ := guardedBot(t, g, h)
	urlB, _ := guardedBot(t, g, h)

	deliver(t, urlA, 1)
	// Update 1 holds the chat once A's worker has taken it; B's worker must then wait for it.
	select {
	case <-g.taken:
	case <-time.After(10 * time.Second):
		t.Fatal("bot A never took chat 42")
	}
	deliver(t, urlB, 2)
	select {
	case chat := <-g.waiting:
		if chat != 42 {
			t.Fatalf("waited for chat %d, want 42", chat)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bot B did not wait for the chat A holds")
	}
	select {
	case id := <-got:
		t.Fatalf("update %d handled while update 1 holds the chat", id)
	default:
	}
	close(release)
	waitUpdate(t, got, 1)
	waitUpdate(t, got, 2)
}

// TestGuardFailureSkipsTheUpdate checks that an update the guard cannot clear is not handled but counted
// as a guard error, and that updates are handled again once the guard works.
func TestGuardFailureSkipsTheUpdate(t *testing.T) {
	g := newMemGuard()
	got := make(chan int64, 16)
	url, reg := guardedBot(t, g, HandlerFunc(func(_ context.Context, r *Request) { got <- r.UpdateID }))
	g.setFail(errors.New("database down"))
	deliver(t, url, 3)
	select {
	case <-g.failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the guard was never asked about update 3")
	}
	g.setFail(nil)
	deliver(t, url, 4)
	waitUpdate(t, got, 4) // update 3 never came: the first handled is 4
	if n := counterValue(t, reg, "keranjang_update_errors_total"); n != 1 {
		t.Fatalf("guard errors counted %v, want 1", n)
	}
}

// counterValue is the value of counter name in reg (of its "guard" series when it has labels).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() == "guard" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

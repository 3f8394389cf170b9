package bot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/secret"
)

const webhookSecret = "hook_S3cret"

// startWebhookBot starts the bot in webhook mode against the fake and serves its webhook handler; the
// handler sends each update id it gets to the returned channel.
func startWebhookBot(t *testing.T) (*httptest.Server, <-chan int64) {
	t.Helper()
	f := newFake(t)
	got := make(chan int64, 16)
	h := HandlerFunc(func(_ context.Context, r *Request) { got <- r.UpdateID })
	b := newTestBot(t, f, h, func(c *Config) {
		c.WebhookURL = "https://keranjang.example/telegram"
		c.WebhookSecret = secret.Secret(webhookSecret)
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
	return srv, got
}

// postStreamed posts body without a Content-Length (chunked), written in pieces from another goroutine.
func postStreamed(t *testing.T, url string, body string) (*http.Response, string) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		for rest := body; rest != ""; {
			n := min(len(rest), 64<<10)
			if _, err := io.WriteString(pw, rest[:n]); err != nil {
				return // the server stopped reading
			}
			rest = rest[n:]
		}
		_ = pw.Close()
	}()
	t.Cleanup(func() { _ = pr.Close() })
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.ContentLength != 0 {
		t.Fatalf("request sent with a length of %d, want none (chunked)", req.ContentLength)
	}
	msg, _ := io.ReadAll(resp.Body)
	return resp, string(msg)
}

// update is a valid message update padded with trailing spaces to size bytes.
func update(id int64, size int) string {
	u := `{"update_id":` + itoa(id) + `,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},` +
		`"from":{"id":42,"is_bot":false,"first_name":"Alice"},"text":"hi"}}`
	return u + strings.Repeat(" ", size-len(u))
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestWebhookBodyLimit checks that a body over 1 MiB gets 413 with a JSON error whether or not it has a
// Content-Length, and that one just under the limit is taken.
func TestWebhookBodyLimit(t *testing.T) {
	srv, got := startWebhookBot(t)

	resp, msg := postStreamed(t, srv.URL, update(7, 1<<20+1))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over 1 MiB: status %d %s, want 413", resp.StatusCode, msg)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(msg), &e); err != nil || e.Error == "" {
		t.Errorf("413 body %q is not a JSON error", msg)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(update(8, 2<<20)))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body of 2 MiB with a length: status %d, want 413", resp.StatusCode)
	}

	resp, msg = postStreamed(t, srv.URL, update(9, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chunked body of exactly 1 MiB: status %d %s, want 200", resp.StatusCode, msg)
	}
	select {
	case id := <-got:
		if id != 9 {
			t.Errorf("handled update %d, want 9", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the update under the limit was not handled")
	}
	select {
	case id := <-got:
		t.Errorf("update %d over the limit was handled", id)
	default:
	}

	resp, _ = postStreamed(t, srv.URL, "{not json")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed body: status %d, want 400", resp.StatusCode)
	}
}

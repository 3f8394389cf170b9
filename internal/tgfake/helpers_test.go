package tgfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

var (
	alice = User{ID: 42, FirstName: "Alice", Username: "alice", LanguageCode: "id"}
	bob   = User{ID: 43, FirstName: "Bob", LanguageCode: "en"}
)

// newFake starts a fake that is closed when the test ends.
func newFake(t *testing.T, opts ...Option) *Server {
	t.Helper()
	f := New(opts...)
	t.Cleanup(f.Close)
	return f
}

// newClient builds the real go-telegram client against the fake.
func newClient(t *testing.T, f *Server, opts ...tgbot.Option) *tgbot.Bot {
	t.Helper()
	base := []tgbot.Option{
		tgbot.WithServerURL(f.URL()),
		tgbot.WithHTTPClient(3*time.Second, &http.Client{Timeout: 20 * time.Second}),
		tgbot.WithErrorsHandler(func(error) {}),
		tgbot.WithDefaultHandler(func(context.Context, *tgbot.Bot, *tgmodels.Update) {}),
	}
	b, err := tgbot.New(f.Token(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("tgbot.New: %v", err)
	}
	return b
}

// apiAnswer is the decoded envelope of a raw call.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  map[string]any  `json:"parameters"`
}

// rawCall posts URL-encoded parameters to a method, as a client other than
// go-telegram would.
func rawCall(t *testing.T, f *Server, method string, params map[string]string) apiAnswer {
	t.Helper()
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	resp, err := http.PostForm(f.URL()+"/bot"+f.Token()+"/"+method, form)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: decode %q: %v", method, body, err)
	}
	if !a.OK && a.ErrorCode != resp.StatusCode {
		t.Errorf("%s: error_code %d but HTTP status %d", method, a.ErrorCode, resp.StatusCode)
	}
	return a
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

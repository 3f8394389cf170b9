package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/clocktest"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/contract"
	"github.com/keranjang/keranjang/track"
)

// e2eWait bounds every wait for the bot. It is generous on purpose: the suite must pass on a slow machine
// under -race, and a wait ends as soon as its condition holds.
const e2eWait = 20 * time.Second

// e2e is one running system under test with the helpers the end-to-end tests act through: users send
// messages and press buttons through the fake Bot API, buyers and shops use real HTTP.
type e2e struct {
	sb  *sandbox
	web *http.Client // does not follow redirects

	mu      sync.Mutex
	pressed []string // callback query ids, to check that every one was answered
}

// startE2E starts the real system on a temporary database against a fresh fake Bot API. When the test
// ends it checks that the fake refused none of the bot's calls and that every button pressed was answered
// exactly once, and shuts the app down.
func startE2E(t *testing.T, env map[string]string, opt Options, fakeOpts ...tgfake.Option) *e2e {
	t.Helper()
	if opt.Now == nil {
		opt.Now = morningClock()
	}
	if onPostgres(t) {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["KERANJANG_DB"] = pgtest.URL(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eWait)
	defer cancel()
	sb, err := newSandbox(ctx, t.TempDir(), e2eLogger(t), env, opt, fakeOpts...)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	e := &e2e{sb: sb, web: &http.Client{Timeout: e2eWait,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	e.waitLeading(t)
	t.Cleanup(func() {
		if t.Failed() {
			calls := e.sb.fake.Calls()
			var b strings.Builder
			for _, c := range calls[max(0, len(calls)-60):] {
				fmt.Fprintf(&b, "  %s %s\n", c.Time.Format("15:04:05.000"), c)
			}
			t.Logf("last Bot API calls:\n%s", b.String())
		}
		e.sb.fake.CheckNoRejections(t)
		if !t.Failed() {
			e.checkAllAnswered(t)
		}
		if err := e.sb.close(); err != nil {
			t.Errorf("close sandbox: %v", err)
		}
	})
	return e
}

// e2eLogger is silent unless KERANJANG_E2E_LOG is set to a level (debug, info …): then the app logs to
// the test output, which helps to understand a failure.
func e2eLogger(t *testing.T) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(os.Getenv("KERANJANG_E2E_LOG"))
	if err != nil || os.Getenv("KERANJANG_E2E_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: zerolog.TestWriter{T: t}, TimeFormat: "15:04:05.000"}).
		Level(lvl).With().Timestamp().Logger()
}

// morningClock is the real clock shifted so that the test starts at 10:00 in Jakarta: day-based counts
// ("clicks today") never straddle a local midnight, whenever the suite runs. It still advances.
func morningClock() func() time.Time {
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		return time.Now
	}
	now := time.Now()
	l := now.In(jkt)
	offset := time.Date(l.Year(), l.Month(), l.Day(), 10, 0, 0, 0, jkt).Sub(now)
	return func() time.Time { return time.Now().Add(offset) }
}

// standingClock is a clock that reads 10:00 in Jakarta today and moves only when the test moves it: for
// tests that jump days or weeks ahead without sleeping.
func standingClock() *clocktest.Clock {
	return clocktest.New(morningClock()())
}

func waitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e2eWait)
}

// person is a Telegram user of the tests.
func person(id int64, name, lang string) tgfake.User {
	return tgfake.User{ID: id, FirstName: name, Username: strings.ToLower(name) + "_" + strconv.FormatInt(id, 10), LanguageCode: lang}
}

// say sends text in u's private chat and returns the bot's next message there.
func (e *e2e) say(t *testing.T, u tgfake.User, text string) tgfake.Message {
	t.Helper()
	return e.sayN(t, u, text, 1)[0]
}

// sayN sends text in u's private chat and returns the next n messages the bot sends there.
func (e *e2e) sayN(t *testing.T, u tgfake.User, text string, n int) []tgfake.Message {
	t.Helper()
	return e.sayInN(t, u, tgfake.Chat{}, text, n)
}

// sayInN sends text in chat (the zero Chat is u's private chat) and returns the next n messages there.
func (e *e2e) sayInN(t *testing.T, u tgfake.User, chat tgfake.Chat, text string, n int) []tgfake.Message {
	t.Helper()
	id := chat.ID
	if id == 0 {
		id = u.ID
	}
	before := len(e.sb.fake.Sent(id))
	e.sb.fake.SendText(u, chat, text)
	return e.waitNew(t, id, before, n)
}

// waitNew waits until chat has n messages after the first before, and returns those n.
func (e *e2e) waitNew(t *testing.T, chatID int64, before, n int) []tgfake.Message {
	t.Helper()
	ctx, cancel := waitCtx()
	defer cancel()
	all, err := e.sb.fake.WaitSent(ctx, chatID, before+n)
	if err != nil {
		t.Fatalf("waiting for %d new messages in chat %d: %v\nmessages so far:\n%s", n, chatID, err, dump(all[min(before, len(all)):]))
	}
	return all[before : before+n]
}

// settle waits until the outbox has sent (or given up on) every message queued so far: notices go out
// through the outbox, after the reply to the action that caused them.
func (e *e2e) settle(t *testing.T) {
	t.Helper()
	err := waitUntil("the outbox to empty", func() bool {
		st, err := e.sb.app.store.OutboxStats(context.Background())
		return err == nil && st.Queued == 0
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sent is how many messages the bot has sent to a chat.
func (e *e2e) sent(chatID int64) int { return len(e.sb.fake.Sent(chatID)) }

// press presses the button whose label contains label on message m, waits until the callback query is
// answered and returns that answerCallbackQuery call (its text is the toast).
func (e *e2e) press(t *testing.T, u tgfake.User, m tgfake.Message, label string) tgfake.Call {
	t.Helper()
	b, ok := m.Button(label)
	if !ok {
		t.Fatalf("no button %q on message %q (buttons %v)", label, m.PlainText, m.Buttons())
	}
	return e.pressData(t, u, m, b.CallbackData)
}

// pressData presses a button with the given callback data on m and waits for the answer.
func (e *e2e) pressData(t *testing.T, u tgfake.User, m tgfake.Message, data string) tgfake.Call {
	t.Helper()
	id := e.sb.fake.PressButton(u, m, data)
	return e.waitAnswer(t, id)
}

// waitAnswer waits for the answerCallbackQuery of callback query id.
func (e *e2e) waitAnswer(t *testing.T, id string) tgfake.Call {
	t.Helper()
	e.mu.Lock()
	e.pressed = append(e.pressed, id)
	e.mu.Unlock()
	ctx, cancel := waitCtx()
	defer cancel()
	c, err := e.sb.fake.WaitCall(ctx, "answerCallbackQuery", func(c tgfake.Call) bool {
		return c.Params["callback_query_id"] == id
	})
	if err != nil {
		t.Fatalf("callback query %s never answered: %v", id, err)
	}
	if c.Status != http.StatusOK {
		t.Fatalf("answer to callback query %s failed: %s", id, c)
	}
	return c
}

// checkAllAnswered asserts that every callback query pressed so far was answered exactly once.
func (e *e2e) checkAllAnswered(t *testing.T) {
	t.Helper()
	answers := map[string]int{}
	for _, c := range e.sb.fake.CallsTo("answerCallbackQuery") {
		if c.Status == http.StatusOK {
			answers[c.Params["callback_query_id"]]++
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.pressed {
		if answers[id] != 1 {
			t.Errorf("callback query %s answered %d times, want 1", id, answers[id])
		}
	}
}

// waitEdited waits until message id in chat has been edited at least edits times and returns it.
func (e *e2e) waitEdited(t *testing.T, chatID, msgID int64, edits int) tgfake.Message {
	t.Helper()
	eventually(t, fmt.Sprintf("message %d in chat %d edited %d times", msgID, chatID, edits), func() bool {
		return e.message(t, chatID, msgID).Edits >= edits
	})
	return e.message(t, chatID, msgID)
}

// waitLeading waits until the app leads: at once on bbolt; on PostgreSQL its elector takes the leader
// lock just after Start, and the tests that run jobs by hand (RunNow) need the scheduler of the term.
func (e *e2e) waitLeading(t *testing.T) {
	t.Helper()
	eventually(t, "the app to lead", func() bool { return leads(t, e.sb) })
}

// restart restarts the app on the same database once Telegram (the fake) holds no update the bot has not
// confirmed: an update handled but not yet confirmed would be delivered again after the restart.
func (e *e2e) restart(t *testing.T) {
	t.Helper()
	e.waitConfirmed(t)
	ctx, cancel := waitCtx()
	defer cancel()
	if err := e.sb.restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	e.waitLeading(t)
}

// waitConfirmed waits until the fake's queue of updates is empty: the bot has taken every update and told
// Telegram so (by the offset of its next getUpdates, or by answering the webhook).
func (e *e2e) waitConfirmed(t *testing.T) {
	t.Helper()
	eventually(t, "every update confirmed", func() bool {
		resp, err := http.Post(e.sb.fake.URL()+"/bot"+e.sb.fake.Token()+"/getWebhookInfo", "application/json", nil)
		if err != nil {
			t.Fatalf("getWebhookInfo: %v", err)
		}
		defer resp.Body.Close()
		var info struct {
			Result struct {
				Pending int `json:"pending_update_count"`
			} `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
			t.Fatalf("getWebhookInfo: %v", err)
		}
		return info.Result.Pending == 0
	})
}

// message returns the current state of a message the bot sent.
func (e *e2e) message(t *testing.T, chatID, msgID int64) tgfake.Message {
	t.Helper()
	for _, m := range e.sb.fake.Sent(chatID) {
		if m.ID == msgID {
			return m
		}
	}
	t.Fatalf("no message %d in chat %d", msgID, chatID)
	return tgfake.Message{}
}

// eventually polls cond until it holds or e2eWait passes. It is for state the tests cannot wait on
// directly (the store, the click buffer, metrics); it never asserts how fast anything happened.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dump(ms []tgfake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  [%d %s] %q\n", m.ID, m.Method, m.PlainText)
	}
	return b.String()
}

// mustContain fails unless s contains every one of parts.
func mustContain(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Fatalf("want %q in:\n%s", p, s)
		}
	}
}

// mustNotContain fails if s contains any of parts.
func mustNotContain(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(s, p) {
			t.Fatalf("do not want %q in:\n%s", p, s)
		}
	}
}

// ---- HTTP ----

// visit opens a basket link as a browser (or a crawler) would, from ip when the peer is a trusted proxy.
func (e *e2e) visit(t *testing.T, method, code, ip, ua string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.sb.baseURL()+"/r/"+code, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := e.web.Do(req)
	if err != nil {
		t.Fatalf("%s /r/%s: %v", method, code, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// getJSON calls an API route with a bearer token and decodes a 200 answer into out; it returns the status.
func (e *e2e) getJSON(t *testing.T, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.sb.baseURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.web.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("GET %s: %d answer is not a JSON error: %s", path, resp.StatusCode, body)
		}
	}
	return resp.StatusCode
}

// metric reads the app's /metrics and returns the sum of the samples of name whose labels contain
// labels (written as in the exposition format, `type="message"`; empty matches every sample). A metric not
// exported yet is 0.
func (e *e2e) metric(t *testing.T, name, labels string) float64 {
	t.Helper()
	resp, err := e.web.Get("http://" + e.sb.app.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name || !strings.Contains(lbls, labels) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("metric %s: %v", line, err)
		}
		sum += v
	}
	return sum
}

// handled is how many updates the running app has finished handling, of every type.
func (e *e2e) handled(t *testing.T) float64 {
	t.Helper()
	return e.metric(t, "keranjang_updates_total", "")
}

// waitHandled waits until the running app has finished handling at least n updates. The counter moves
// after a handler has returned, so this is a barrier for updates that make the bot send nothing.
func (e *e2e) waitHandled(t *testing.T, n float64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%v updates handled", n), func() bool { return e.handled(t) >= n })
}

// ---- parsing what the bot said ----

var (
	basketRe = regexp.MustCompile(`/r/([A-Za-z0-9]{8})\b`)
	apiKeyRe = regexp.MustCompile(`\bksk_[A-Za-z0-9]{32}\b`)
)

// basketCode finds the basket-link code in a message.
func basketCode(t *testing.T, m tgfake.Message) string {
	t.Helper()
	sm := basketRe.FindStringSubmatch(m.PlainText)
	if sm == nil {
		t.Fatalf("no basket link in %q", m.PlainText)
	}
	return sm[1]
}

// apiKey finds the API key in the /apikey answer.
func apiKey(t *testing.T, m tgfake.Message) string {
	t.Helper()
	key := apiKeyRe.FindString(m.PlainText)
	if key == "" {
		t.Fatalf("no API key in %q", m.PlainText)
	}
	mustContain(t, m.PlainText, "curl -H 'Authorization: Bearer "+key+"'")
	return key
}

// openStore opens the test's database (of either backend) as the app does.
func (e *e2e) openStore(t *testing.T) (contract.Store, error) {
	t.Helper()
	return openStore(t.Context(), e.sb.cfg, e.sb.log, store.Options{})
}

// forEachBackend runs run as subtest "bbolt", and as subtest "postgres" when KERANJANG_TEST_POSTGRES
// names a server. startE2E reads the backend from the subtest's name, so every test below either runs on
// its own database of that backend.
func forEachBackend(t *testing.T, run func(t *testing.T)) {
	t.Run("bbolt", run)
	if os.Getenv(pgtest.Env) != "" {
		t.Run("postgres", run)
	}
}

// onPostgres reports whether t runs under forEachBackend's "postgres" subtest.
func onPostgres(t *testing.T) bool {
	_, rest, ok := strings.Cut(t.Name(), "/")
	return ok && (rest == "postgres" || strings.HasPrefix(rest, "postgres/"))
}

// withStoppedApp shuts the app down in order, lets fn look at the database, and starts the app again.
func (e *e2e) withStoppedApp(t *testing.T, fn func(st contract.Store)) {
	t.Helper()
	e.waitConfirmed(t)
	if err := e.sb.stopApp(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	st, err := e.openStore(t)
	if err != nil {
		t.Fatalf("open the store after shutdown: %v", err)
	}
	fn(st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := waitCtx()
	defer cancel()
	if e.sb.app, err = Start(ctx, e.sb.cfg, e.sb.log, e.sb.opt); err != nil {
		t.Fatalf("start again: %v", err)
	}
}

// report sends a signed postback as seller with key at the app's clock, requires a 200 and returns the
// order as stored.
func (s *shop) report(t *testing.T, seller int64, key, body string) track.ConversionResult {
	t.Helper()
	status, out := s.post(t, seller, key, body, 0, "")
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/conversions %s: %d %s", body, status, out)
	}
	var r track.ConversionResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("the answer to %s: %v", body, err)
	}
	return r
}

package tgfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default identity of the fake bot.
const (
	DefaultToken       = "123456:TEST-token"
	DefaultBotUsername = "keranjang_bot"
	defaultBotName     = "Keranjang"
)

// Server is a fake Telegram Bot API server. Create it with [New] and stop it
// with [Server.Close]. All methods are safe for concurrent use.
type Server struct {
	hs       *httptest.Server
	token    string
	botID    int64
	username string
	now      func() time.Time
	webhookC *http.Client

	done chan struct{}
	wg   sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	changed   chan struct{} // Closed and replaced on every state change.
	calls     []Call
	onCall    func(Call)
	faults    []*Fault
	chats     map[int64]*chatState
	sent      map[int64][]*Message
	queue     []queuedUpdate
	nextUpd   int64
	allowed   []string
	files     map[string]*storedFile // By file_id.
	paths     map[string]*storedFile // By file_path.
	nextFile  int64
	callbacks map[string]bool // Callback query id → already answered.
	nextCB    int64
	commands  map[string]string // Scope and language → canonical commands JSON.
	webhook   webhookState
	polling   int           // getUpdates calls waiting for an update.
	pollWait  chan struct{} // Closed and replaced when a getUpdates call starts waiting.
	limits    *limiter      // Telegram's flood limits, when WithLimits asked for them.
}

type webhookState struct {
	url         string
	secret      string
	maxConns    int
	lastErrDate int64
	lastErrMsg  string
}

type queuedUpdate struct {
	id   int64
	kind string
	raw  json.RawMessage
}

type chatState struct {
	obj       map[string]any // The Chat object as Telegram serializes it.
	username  string
	nextMsgID int64
	userMsgs  map[int64]bool     // Messages users sent, still present.
	botMsgs   map[int64]*Message // Messages the bot sent, current version.
}

type storedFile struct {
	id       string
	uniqueID string
	path     string
	name     string
	mime     string
	data     []byte
}

// Option configures a [Server].
type Option func(*Server)

// WithBotUsername sets the username getMe reports (without "@").
func WithBotUsername(name string) Option {
	return func(s *Server) { s.username = strings.TrimPrefix(name, "@") }
}

// WithToken replaces the bot token the server accepts.
func WithToken(token string) Option {
	return func(s *Server) { s.token = token }
}

// WithClock sets the clock used for message dates and call times.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithWebhookClient sets the HTTP client used to deliver webhook updates.
// The default has a 10-second timeout.
func WithWebhookClient(c *http.Client) Option {
	return func(s *Server) { s.webhookC = c }
}

// New starts a fake Bot API server on a random port of 127.0.0.1.
func New(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		username:  DefaultBotUsername,
		now:       time.Now,
		webhookC:  &http.Client{Timeout: 10 * time.Second},
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
		pollWait:  make(chan struct{}),
		chats:     map[int64]*chatState{},
		sent:      map[int64][]*Message{},
		nextUpd:   100000,
		files:     map[string]*storedFile{},
		paths:     map[string]*storedFile{},
		callbacks: map[string]bool{},
		commands:  map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	if id, err := strconv.ParseInt(strings.SplitN(s.token, ":", 2)[0], 10, 64); err == nil {
		s.botID = id
	} else {
		s.botID = 123456
	}
	spec() // Fail early on a broken embedded spec.
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.serveHTTP)
	s.hs = httptest.NewServer(mux)
	s.wg.Add(1)
	go s.deliverWebhooks()
	return s
}

// URL returns the base URL to pass to tgbot.WithServerURL.
func (s *Server) URL() string { return s.hs.URL }

// Token returns the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// BotUsername returns the bot's username, without "@".
func (s *Server) BotUsername() string { return s.username }

// BotID returns the bot's user id (the number before the colon of the token).
func (s *Server) BotID() int64 { return s.botID }

// Close ends pending long polls, stops webhook delivery and shuts the server
// down. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.notifyLocked()
	s.mu.Unlock()
	s.hs.Close()
	s.wg.Wait()
}

// notifyLocked wakes every waiter. The caller holds s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiError is an error answer in Telegram's envelope.
type apiError struct {
	code        int
	description string
	retryAfter  int
	migrateTo   int64
	rawBody     string
	injected    bool
}

func badRequest(format string, args ...any) *apiError {
	d := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(d, "Bad Request: ") {
		d = "Bad Request: " + d
	}
	return &apiError{code: http.StatusBadRequest, description: d}
}

func (e *apiError) body() []byte {
	if e.rawBody != "" {
		return []byte(e.rawBody)
	}
	env := map[string]any{"ok": false, "error_code": e.code, "description": e.description}
	params := map[string]any{}
	if e.retryAfter > 0 {
		params["retry_after"] = e.retryAfter
	}
	if e.migrateTo != 0 {
		params["migrate_to_chat_id"] = e.migrateTo
	}
	if len(params) > 0 {
		env["parameters"] = params
	}
	b, _ := json.Marshal(env)
	return b
}

func marshalNoEscape(v any) []byte {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return []byte(strings.TrimSpace(sb.String()))
}

// request is one parsed Bot API call.
type request struct {
	method string
	params map[string]string
	files  map[string]UploadedFile
	ctx    context.Context
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	call := Call{Time: s.now()}
	var (
		result any
		aerr   *apiError
	)
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, _ := strings.Cut(rest, "/")
	call.Method = method
	switch {
	case !ok || method == "":
		aerr = &apiError{code: http.StatusNotFound, description: "Not Found"}
	case token != s.token:
		aerr = &apiError{code: http.StatusUnauthorized, description: "Unauthorized"}
	default:
		params, files, err := parseRequest(r)
		call.Params, call.Files = params, files
		if err != nil {
			aerr = badRequest("%v", err)
			break
		}
		canonical, known := spec().lower[strings.ToLower(method)]
		if !known {
			aerr = &apiError{code: http.StatusNotFound, description: "Not Found"}
			break
		}
		call.Method = canonical
		result, aerr = s.dispatch(&request{method: canonical, params: params, files: files, ctx: r.Context()})
	}
	var body []byte
	if aerr != nil {
		call.Status = aerr.code
		call.Reason = aerr.description
		call.Injected = aerr.injected
		call.Rejected = !aerr.injected
		body = aerr.body()
	} else {
		call.Status = http.StatusOK
		body = marshalNoEscape(map[string]any{"ok": true, "result": result})
	}
	call.Response = body
	if call.Params == nil {
		call.Params = map[string]string{}
	}
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(call.Status)
	_, _ = w.Write(body)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	hook := s.onCall
	s.notifyLocked()
	s.mu.Unlock()
	if hook != nil {
		hook(c)
	}
}

// parseRequest merges the query string with a multipart, URL-encoded or JSON
// body into string parameters and uploaded files.
func parseRequest(r *http.Request) (map[string]string, map[string]UploadedFile, error) {
	params := map[string]string{}
	files := map[string]UploadedFile{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			if errors.Is(err, io.EOF) {
				break // A multipart body without parts: no parameters.
			}
			return params, files, fmt.Errorf("can't parse multipart body: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
		for k, fhs := range r.MultipartForm.File {
			if len(fhs) == 0 {
				continue
			}
			fh := fhs[0]
			f, err := fh.Open()
			if err != nil {
				return params, files, fmt.Errorf("can't read file %q: %w", k, err)
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return params, files, fmt.Errorf("can't read file %q: %w", k, err)
			}
			files[k] = UploadedFile{Field: k, Filename: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return params, files, fmt.Errorf("can't parse form body: %w", err)
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
	case "application/json":
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return params, files, fmt.Errorf("can't read body: %w", err)
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			break
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return params, files, fmt.Errorf("can't parse JSON body: %w", err)
		}
		for k, raw := range m {
			var str string
			switch {
			case string(raw) == "null":
				continue
			case json.Unmarshal(raw, &str) == nil:
				params[k] = str
			default:
				params[k] = string(raw)
			}
		}
	case "":
	default:
		return params, files, fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return params, files, nil
}

// dispatch validates a call against the spec and Telegram's limits, applies
// injected faults and then runs the method.
func (s *Server) dispatch(req *request) (any, *apiError) {
	if aerr := validate(req); aerr != nil {
		return nil, aerr
	}
	if aerr := s.takeFault(req); aerr != nil {
		return nil, aerr
	}
	if req.method == "getUpdates" {
		return s.getUpdates(req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	if aerr := s.checkChatLocked(req); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkLimitsLocked(req, time.Now()); aerr != nil {
		return nil, aerr
	}
	if h, ok := handlers[req.method]; ok {
		return h(s, req)
	}
	return true, nil
}

// validate applies the stateless checks: parameters against the spec, and
// texts, captions, parse modes and keyboards against Telegram's limits.
func validate(req *request) *apiError {
	sp := spec()
	m := sp.Methods[req.method]
	attached := map[string]bool{}
	for _, v := range req.params {
		for rest := v; ; {
			_, after, ok := strings.Cut(rest, "attach://")
			if !ok {
				break
			}
			end := strings.IndexAny(after, "\"' ,}]")
			if end < 0 {
				end = len(after)
			}
			attached[after[:end]] = true
			rest = after
		}
	}
	var names []string
	for k := range req.params {
		names = append(names, k)
	}
	for k := range req.files {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if _, ok := m.field(k); !ok && !attached[k] {
			return badRequest("unknown parameter %q for method %s", k, req.method)
		}
	}
	for _, f := range m.Fields {
		v, hasParam := req.params[f.Name]
		_, hasFile := req.files[f.Name]
		if hasFile {
			if !slices.Contains(f.Types, "InputFile") {
				return badRequest("parameter %q of %s can't be a file", f.Name, req.method)
			}
			continue
		}
		if !hasParam || v == "" {
			// setWebhook with an empty url removes the webhook.
			emptyOK := hasParam && req.method == "setWebhook" && f.Name == "url"
			if f.Required && !emptyOK {
				return missing(req.method, f.Name)
			}
			continue
		}
		if err := sp.checkParam(f.Name, v, f.Types); err != nil {
			return &apiError{code: http.StatusBadRequest, description: err.Error()}
		}
	}
	return checkContent(req)
}

func missing(method, name string) *apiError {
	switch name {
	case "text":
		if method == "sendMessage" || method == "editMessageText" {
			return badRequest("message text is empty")
		}
	case "chat_id":
		return badRequest("chat_id is empty")
	case "callback_query_id":
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	return badRequest("parameter %q is required for method %s", name, method)
}

// checkContent applies the limits on texts, captions and parse modes.
func checkContent(req *request) *apiError {
	p := req.params
	mode := p["parse_mode"]
	switch mode {
	case "", "HTML", "MarkdownV2", "Markdown":
	default:
		if strings.EqualFold(mode, "html") {
			mode = "HTML"
			break
		}
		return badRequest("unsupported parse_mode %q", mode)
	}
	plain := func(s string) (string, *apiError) {
		if mode != "HTML" {
			return s, nil
		}
		text, _, err := parseHTML(s)
		if err != nil {
			return "", &apiError{code: http.StatusBadRequest, description: err.Error()}
		}
		return text, nil
	}
	if req.method == "sendMessage" || req.method == "editMessageText" {
		text, aerr := plain(p["text"])
		if aerr != nil {
			return aerr
		}
		text = trimText(text)
		if text == "" {
			return badRequest("message text is empty")
		}
		if n := utf16Len(text); n > 4096 {
			return badRequest("message is too long (%d UTF-16 units, at most 4096)", n)
		}
	}
	if c, ok := p["caption"]; ok && c != "" {
		text, aerr := plain(c)
		if aerr != nil {
			return aerr
		}
		if n := utf16Len(trimText(text)); n > 1024 {
			return badRequest("message caption is too long (%d UTF-16 units, at most 1024)", n)
		}
	}
	if req.method == "answerCallbackQuery" && utf16Len(p["text"]) > 200 {
		return badRequest("MESSAGE_TOO_LONG (callback answer text over 200 characters)")
	}
	return nil
}

// checkChatLocked answers "chat not found" for a chat_id the fake never saw.
func (s *Server) checkChatLocked(req *request) *apiError {
	v, ok := req.params["chat_id"]
	if !ok || v == "" {
		return nil
	}
	if _, ok := s.chatLocked(v); !ok {
		return badRequest("chat not found")
	}
	return nil
}

// chatLocked resolves a chat_id parameter (a number or "@username").
func (s *Server) chatLocked(v string) (*chatState, bool) {
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		c, ok := s.chats[id]
		return c, ok
	}
	if name, ok := strings.CutPrefix(v, "@"); ok {
		for _, c := range s.chats {
			if c.username != "" && strings.EqualFold(c.username, name) {
				return c, true
			}
		}
	}
	return nil, false
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, path, _ := strings.Cut(rest, "/")
	if token != s.token {
		http.Error(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	f, ok := s.paths[path]
	s.mu.Unlock()
	if !ok {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	if f.mime != "" {
		w.Header().Set("Content-Type", f.mime)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

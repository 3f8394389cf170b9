package tgfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Call is one request the bot made, as the fake understood it.
type Call struct {
	// Method is the Bot API method, in the spec's spelling when known.
	Method string
	// Params holds every non-file parameter as sent (objects as JSON text).
	Params map[string]string
	// Files holds the uploaded multipart files by form field name.
	Files map[string]UploadedFile
	// Time is when the call arrived.
	Time time.Time
	// Status is the HTTP status of the answer.
	Status int
	// Rejected is true when the fake refused the call the way Telegram
	// would (a strictness failure). Injected faults are not rejections.
	Rejected bool
	// Injected is true when the answer came from a scripted [Fault].
	Injected bool
	// Reason is the error description sent back, empty on success.
	Reason string
	// Response is the JSON body sent back.
	Response json.RawMessage
}

// UploadedFile is a file sent in a multipart request.
type UploadedFile struct {
	Field       string
	Filename    string
	ContentType string
	Data        []byte
}

// ChatID returns the call's chat_id parameter as a number, or 0.
func (c Call) ChatID() int64 {
	id, _ := strconv.ParseInt(c.Params["chat_id"], 10, 64)
	return id
}

// String summarises the call for logs and failure messages.
func (c Call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d", c.Method, c.Status)
	if c.Reason != "" {
		fmt.Fprintf(&b, " %q", c.Reason)
	}
	if id := c.Params["chat_id"]; id != "" {
		fmt.Fprintf(&b, " chat_id=%s", id)
	}
	if t := c.Params["text"]; t != "" {
		if len(t) > 60 {
			t = t[:60] + "…"
		}
		fmt.Fprintf(&b, " text=%q", t)
	}
	return b.String()
}

// Message is a message the bot sent, in its current state: edits are applied
// and deletion is flagged rather than forgotten.
type Message struct {
	ID     int64
	ChatID int64
	// Method is the method that sent it: sendMessage, sendPhoto or sendDocument.
	Method string
	// Text is the text or caption exactly as sent, markup included.
	Text string
	// PlainText is Text after parse_mode processing (tags removed, entities
	// decoded); equal to Text without a parse mode.
	PlainText string
	ParseMode string
	Entities  []Entity
	// Keyboard is the inline keyboard, row by row; nil without one.
	Keyboard [][]Button
	// ReplyMarkup is the reply_markup JSON as sent, empty without one.
	ReplyMarkup string
	// Media is the photo or document, nil for text messages.
	Media   *Media
	Date    time.Time
	Edits   int
	Deleted bool
}

// Button is one inline keyboard button.
type Button struct {
	Text         string
	CallbackData string
	URL          string
}

// Media is a photo or document the bot sent.
type Media struct {
	// Kind is "photo" or "document".
	Kind     string
	FileID   string
	FileName string
	MIMEType string
	// URL is set when the bot passed an HTTP URL instead of a file.
	URL string
	// Data is the file content when the fake knows it (uploads and known
	// file ids).
	Data []byte
}

// Button returns the first button whose text contains label.
func (m Message) Button(label string) (Button, bool) {
	for _, row := range m.Keyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b, true
			}
		}
	}
	return Button{}, false
}

// Buttons returns all buttons row after row.
func (m Message) Buttons() []Button {
	var all []Button
	for _, row := range m.Keyboard {
		all = append(all, row...)
	}
	return all
}

func (m *Message) clone() Message {
	c := *m
	c.Entities = append([]Entity(nil), m.Entities...)
	if m.Keyboard != nil {
		c.Keyboard = make([][]Button, len(m.Keyboard))
		for i, row := range m.Keyboard {
			c.Keyboard[i] = append([]Button(nil), row...)
		}
	}
	if m.Media != nil {
		md := *m.Media
		c.Media = &md
	}
	return c
}

// Calls returns every recorded call in arrival order. The maps and byte
// slices inside are shared with the recorder and must not be modified.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the recorded calls of one method (case-insensitive).
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// Rejected returns the calls refused for breaking Telegram's rules. Injected
// faults are not included. End-to-end tests assert it is empty.
func (s *Server) Rejected() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Rejected {
			out = append(out, c)
		}
	}
	return out
}

// TB is the part of testing.TB that [Server.CheckNoRejections] uses.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// CheckNoRejections reports every rejected call as a test error.
func (s *Server) CheckNoRejections(t TB) {
	t.Helper()
	for _, c := range s.Rejected() {
		t.Errorf("tgfake rejected %s", c)
	}
}

// Reset forgets recorded calls, sent messages and pending faults. Chats,
// files, queued updates, commands and the webhook stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.sent = map[int64][]*Message{}
	s.faults = nil
	s.notifyLocked()
}

// OnCall registers a hook run after every call is recorded, outside the
// server's lock; nil removes it. It suits a live transcript.
func (s *Server) OnCall(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = f
}

// Sent returns the messages the bot sent to a chat, oldest first, in their
// current state (deleted ones included, flagged).
func (s *Server) Sent(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentLocked(chatID)
}

func (s *Server) sentLocked(chatID int64) []Message {
	out := make([]Message, 0, len(s.sent[chatID]))
	for _, m := range s.sent[chatID] {
		out = append(out, m.clone())
	}
	return out
}

// LastSent returns the newest message the bot sent to a chat.
func (s *Server) LastSent(chatID int64) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.sent[chatID]
	if len(list) == 0 {
		return Message{}, false
	}
	return list[len(list)-1].clone(), true
}

// WaitSent waits until the bot has sent at least n messages to the chat and
// returns them all, or returns an error when ctx ends first.
func (s *Server) WaitSent(ctx context.Context, chatID int64, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.sent[chatID]) >= n {
			out := s.sentLocked(chatID)
			s.mu.Unlock()
			return out, nil
		}
		have, ch := len(s.sent[chatID]), s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Sent(chatID), fmt.Errorf("tgfake: chat %d has %d of %d messages: %w", chatID, have, n, ctx.Err())
		}
	}
}

// WaitCall waits for a recorded call of method (any method when empty) for
// which pred returns true (pred may be nil), looking at calls already
// recorded too, and returns the first one.
func (s *Server) WaitCall(ctx context.Context, method string, pred func(Call) bool) (Call, error) {
	seen := 0
	for {
		s.mu.Lock()
		if seen > len(s.calls) {
			seen = 0 // Reset ran.
		}
		for ; seen < len(s.calls); seen++ {
			c := s.calls[seen]
			if (method == "" || strings.EqualFold(c.Method, method)) && (pred == nil || pred(c)) {
				s.mu.Unlock()
				return c, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Call{}, fmt.Errorf("tgfake: no %s call matched: %w", method, ctx.Err())
		}
	}
}

// Fault scripts a failure: the next matching calls get this answer instead
// of being executed. Faults only replace calls that pass validation, and
// they are not counted as rejections.
type Fault struct {
	// Method limits the fault to one method (case-insensitive); empty
	// matches every method except getUpdates.
	Method string
	// ChatID limits the fault to calls with this chat_id; 0 matches any.
	ChatID int64
	// Code is the error code: 400, 403, 429, 500, 502, …
	Code int
	// Description overrides the default description for Code.
	Description string
	// RetryAfter is sent as parameters.retry_after (429 defaults to 1).
	RetryAfter int
	// MigrateToChatID is sent as parameters.migrate_to_chat_id; with Code
	// 400 the default description is the supergroup-upgrade one.
	MigrateToChatID int64
	// RawBody, when set, is sent verbatim instead of the JSON envelope, as a
	// proxy's HTML error page would be.
	RawBody string
	// Times is how many matching calls fail: 0 means once, a negative
	// number means until [Server.ClearFaults].
	Times int

	used int
}

// Inject adds a scripted fault.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailNext makes the next call of method fail with f (f.Method is ignored).
func (s *Server) FailNext(method string, f Fault) {
	f.Method = method
	f.Times = 1
	s.Inject(f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(req *request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	chat, _ := strconv.ParseInt(req.params["chat_id"], 10, 64)
	for i, f := range s.faults {
		if f.Method == "" && req.method == "getUpdates" {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, req.method) {
			continue
		}
		if f.ChatID != 0 && f.ChatID != chat {
			continue
		}
		f.used++
		if f.Times > 0 && f.used >= f.Times {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f.apiError()
	}
	return nil
}

func (f *Fault) apiError() *apiError {
	e := &apiError{code: f.Code, description: f.Description, retryAfter: f.RetryAfter,
		migrateTo: f.MigrateToChatID, rawBody: f.RawBody, injected: true}
	if e.code == 0 {
		e.code = http.StatusInternalServerError
	}
	if e.code == http.StatusTooManyRequests && e.retryAfter == 0 {
		e.retryAfter = 1
	}
	if e.description == "" {
		switch {
		case e.code == http.StatusTooManyRequests:
			e.description = fmt.Sprintf("Too Many Requests: retry after %d", e.retryAfter)
		case e.code == http.StatusForbidden:
			e.description = "Forbidden: bot was blocked by the user"
		case e.code == http.StatusBadRequest && e.migrateTo != 0:
			e.description = "Bad Request: group chat was upgraded to a supergroup chat"
		case e.code == http.StatusBadRequest:
			e.description = "Bad Request"
		case e.code == http.StatusBadGateway:
			e.description = "Bad Gateway"
		default:
			e.description = http.StatusText(e.code)
		}
	}
	return e
}

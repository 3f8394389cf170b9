package tgfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type handlerFunc func(*Server, *request) (any, *apiError)

// handlers are the methods with behaviour; every other method of the spec
// answers true once validated. getUpdates is handled outside the lock.
var handlers = map[string]handlerFunc{
	"getMe":                  (*Server).getMe,
	"sendMessage":            (*Server).sendMessage,
	"sendPhoto":              (*Server).sendMedia,
	"sendDocument":           (*Server).sendMedia,
	"editMessageText":        (*Server).editMessage,
	"editMessageCaption":     (*Server).editMessage,
	"editMessageReplyMarkup": (*Server).editMessage,
	"deleteMessage":          (*Server).deleteMessage,
	"answerCallbackQuery":    (*Server).answerCallbackQuery,
	"setMyCommands":          (*Server).setMyCommands,
	"getMyCommands":          (*Server).getMyCommands,
	"deleteMyCommands":       (*Server).deleteMyCommands,
	"getFile":                (*Server).getFile,
	"sendChatAction":         (*Server).sendChatAction,
	"setWebhook":             (*Server).setWebhook,
	"deleteWebhook":          (*Server).deleteWebhook,
	"getWebhookInfo":         (*Server).getWebhookInfo,
}

func (s *Server) botUser() map[string]any {
	return map[string]any{"id": s.botID, "is_bot": true, "first_name": defaultBotName, "username": s.username}
}

func (s *Server) getMe(*request) (any, *apiError) {
	u := s.botUser()
	u["can_join_groups"] = true
	u["can_read_all_group_messages"] = false
	u["supports_inline_queries"] = false
	return u, nil
}

// parseMarkup decodes a validated reply_markup into its JSON value and, for
// an inline keyboard, its buttons.
func parseMarkup(raw string) (any, [][]Button) {
	if raw == "" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, nil
	}
	var mk struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
			URL          string `json:"url"`
		} `json:"inline_keyboard"`
	}
	if json.Unmarshal([]byte(raw), &mk) != nil || mk.InlineKeyboard == nil {
		return v, nil
	}
	rows := make([][]Button, 0, len(mk.InlineKeyboard))
	for _, r := range mk.InlineKeyboard {
		row := make([]Button, 0, len(r))
		for _, b := range r {
			row = append(row, Button{Text: b.Text, CallbackData: b.CallbackData, URL: b.URL})
		}
		rows = append(rows, row)
	}
	return v, rows
}

// formatted returns the plain text and entities of text under parse_mode.
func formatted(text, mode string) (string, []Entity) {
	if strings.EqualFold(mode, "HTML") {
		if plain, ents, err := parseHTML(text); err == nil {
			return plain, ents
		}
	}
	return text, nil
}

// messageJSON renders a bot message as Telegram returns it.
func (s *Server) messageJSON(c *chatState, m *Message) map[string]any {
	obj := map[string]any{
		"message_id": m.ID,
		"from":       s.botUser(),
		"chat":       c.obj,
		"date":       m.Date.Unix(),
	}
	textKey, entKey := "text", "entities"
	if m.Media != nil {
		textKey, entKey = "caption", "caption_entities"
		switch m.Media.Kind {
		case "photo":
			obj["photo"] = []any{map[string]any{"file_id": m.Media.FileID, "file_unique_id": uniqueID(m.Media.FileID),
				"width": 320, "height": 320, "file_size": len(m.Media.Data)}}
		default:
			obj["document"] = map[string]any{"file_id": m.Media.FileID, "file_unique_id": uniqueID(m.Media.FileID),
				"file_name": m.Media.FileName, "mime_type": m.Media.MIMEType, "file_size": len(m.Media.Data)}
		}
	}
	if m.PlainText != "" {
		obj[textKey] = m.PlainText
	}
	if len(m.Entities) > 0 {
		obj[entKey] = m.Entities
	}
	if m.ReplyMarkup != "" {
		if v, _ := parseMarkup(m.ReplyMarkup); v != nil {
			obj["reply_markup"] = v
		}
	}
	if m.Edits > 0 {
		obj["edit_date"] = s.now().Unix()
	}
	return obj
}

func uniqueID(fileID string) string {
	return "U" + strings.TrimPrefix(fileID, "F")
}

// checkReplyLocked enforces that reply_parameters name an existing message.
func checkReplyLocked(c *chatState, raw string) *apiError {
	if raw == "" {
		return nil
	}
	var rp struct {
		MessageID                int64 `json:"message_id"`
		ChatID                   any   `json:"chat_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if json.Unmarshal([]byte(raw), &rp) != nil || rp.ChatID != nil || rp.AllowSendingWithoutReply {
		return nil
	}
	if c.userMsgs[rp.MessageID] || c.botMsgs[rp.MessageID] != nil {
		return nil
	}
	return badRequest("message to be replied not found")
}

func (s *Server) newBotMessageLocked(c *chatState, req *request, textParam string) *Message {
	c.nextMsgID++
	text := req.params[textParam]
	plain, ents := formatted(text, req.params["parse_mode"])
	_, kb := parseMarkup(req.params["reply_markup"])
	id, _ := c.obj["id"].(int64)
	m := &Message{ID: c.nextMsgID, ChatID: id, Method: req.method, Text: text, PlainText: plain,
		ParseMode: req.params["parse_mode"], Entities: ents, Keyboard: kb,
		ReplyMarkup: req.params["reply_markup"], Date: s.now()}
	c.botMsgs[m.ID] = m
	s.sent[id] = append(s.sent[id], m)
	return m
}

func (s *Server) sendMessage(req *request) (any, *apiError) {
	c, _ := s.chatLocked(req.params["chat_id"])
	if aerr := checkReplyLocked(c, req.params["reply_parameters"]); aerr != nil {
		return nil, aerr
	}
	m := s.newBotMessageLocked(c, req, "text")
	return s.messageJSON(c, m), nil
}

func (s *Server) sendMedia(req *request) (any, *apiError) {
	kind := "photo"
	if req.method == "sendDocument" {
		kind = "document"
	}
	c, _ := s.chatLocked(req.params["chat_id"])
	if aerr := checkReplyLocked(c, req.params["reply_parameters"]); aerr != nil {
		return nil, aerr
	}
	media := &Media{Kind: kind}
	up, isUpload := req.files[kind]
	ref := req.params[kind]
	if name, ok := strings.CutPrefix(ref, "attach://"); ok {
		up, isUpload = req.files[name]
		if !isUpload {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
	}
	switch {
	case isUpload:
		if len(up.Data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		mimeType := up.ContentType
		if mimeType == "" || mimeType == "application/octet-stream" {
			mimeType = http.DetectContentType(up.Data)
		}
		f := s.storeFileLocked(kind+"s", up.Filename, mimeType, up.Data)
		media.FileID, media.FileName, media.MIMEType, media.Data = f.id, up.Filename, mimeType, up.Data
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		if _, err := url.Parse(ref); err != nil {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		media.URL, media.FileID = ref, s.nextFileIDLocked()
		media.FileName = path.Base(ref)
	default:
		f, ok := s.files[ref]
		if !ok {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		media.FileID, media.FileName, media.MIMEType, media.Data = f.id, f.name, f.mime, f.data
	}
	m := s.newBotMessageLocked(c, req, "caption")
	m.Media = media
	return s.messageJSON(c, m), nil
}

func (s *Server) nextFileIDLocked() string {
	s.nextFile++
	return fmt.Sprintf("F%08d-tgfake", s.nextFile)
}

func (s *Server) storeFileLocked(dir, name, mimeType string, data []byte) *storedFile {
	id := s.nextFileIDLocked()
	ext := path.Ext(name)
	if ext == "" && dir == "photos" {
		ext = ".jpg"
	}
	f := &storedFile{id: id, uniqueID: uniqueID(id), path: fmt.Sprintf("%s/file_%d%s", dir, s.nextFile, ext),
		name: name, mime: mimeType, data: append([]byte(nil), data...)}
	s.files[id] = f
	s.paths[f.path] = f
	return f
}

// editMessage implements editMessageText, editMessageCaption and
// editMessageReplyMarkup, including Telegram's "message is not modified".
func (s *Server) editMessage(req *request) (any, *apiError) {
	p := req.params
	if p["inline_message_id"] != "" {
		return true, nil
	}
	if p["chat_id"] == "" {
		return nil, badRequest("chat_id is empty")
	}
	if p["message_id"] == "" {
		return nil, badRequest("message identifier is not specified")
	}
	c, _ := s.chatLocked(p["chat_id"])
	id, _ := strconv.ParseInt(p["message_id"], 10, 64)
	m := c.botMsgs[id]
	if m == nil {
		if c.userMsgs[id] {
			return nil, badRequest("message can't be edited")
		}
		return nil, badRequest("message to edit not found")
	}
	text, plain, ents := m.Text, m.PlainText, m.Entities
	switch req.method {
	case "editMessageText":
		if m.Media != nil {
			return nil, badRequest("there is no text in the message to edit")
		}
		text = p["text"]
		plain, ents = formatted(text, p["parse_mode"])
	case "editMessageCaption":
		if m.Media == nil {
			return nil, badRequest("there is no caption in the message to edit")
		}
		text = p["caption"]
		plain, ents = formatted(text, p["parse_mode"])
	}
	// Like Telegram, an edit without reply_markup removes the inline keyboard.
	markup := p["reply_markup"]
	oldEnts, _ := json.Marshal(m.Entities)
	newEnts, _ := json.Marshal(ents)
	if plain == m.PlainText && bytes.Equal(oldEnts, newEnts) && canonicalJSON(markup) == canonicalJSON(m.ReplyMarkup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	m.Text, m.PlainText, m.Entities = text, plain, ents
	if req.method != "editMessageReplyMarkup" {
		m.ParseMode = p["parse_mode"]
	}
	m.ReplyMarkup = markup
	_, m.Keyboard = parseMarkup(markup)
	m.Edits++
	return s.messageJSON(c, m), nil
}

func (s *Server) deleteMessage(req *request) (any, *apiError) {
	c, _ := s.chatLocked(req.params["chat_id"])
	id, _ := strconv.ParseInt(req.params["message_id"], 10, 64)
	if m := c.botMsgs[id]; m != nil {
		m.Deleted = true
		delete(c.botMsgs, id)
		return true, nil
	}
	if c.userMsgs[id] {
		delete(c.userMsgs, id)
		return true, nil
	}
	return nil, badRequest("message to delete not found")
}

func (s *Server) answerCallbackQuery(req *request) (any, *apiError) {
	id := req.params["callback_query_id"]
	answered, known := s.callbacks[id]
	if !known || answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	s.callbacks[id] = true
	return true, nil
}

// commandsKey identifies a command list by scope and language.
func commandsKey(p map[string]string) string {
	scope := canonicalJSON(p["scope"])
	if scope == `{"type":"default"}` {
		scope = ""
	}
	return scope + "|" + p["language_code"]
}

func (s *Server) setMyCommands(req *request) (any, *apiError) {
	var cmds []map[string]any
	if err := json.Unmarshal([]byte(req.params["commands"]), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands: %d, at most 100", len(cmds))
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		name, _ := c["command"].(string)
		if seen[name] {
			return nil, badRequest("BOT_COMMAND_INVALID (duplicate command %q)", name)
		}
		seen[name] = true
	}
	s.commands[commandsKey(req.params)] = canonicalJSON(req.params["commands"])
	return true, nil
}

func (s *Server) getMyCommands(req *request) (any, *apiError) {
	raw, ok := s.commands[commandsKey(req.params)]
	if !ok {
		return []any{}, nil
	}
	return json.RawMessage(raw), nil
}

func (s *Server) deleteMyCommands(req *request) (any, *apiError) {
	delete(s.commands, commandsKey(req.params))
	return true, nil
}

func (s *Server) getFile(req *request) (any, *apiError) {
	f, ok := s.files[req.params["file_id"]]
	if !ok {
		return nil, badRequest("invalid file_id")
	}
	return map[string]any{"file_id": f.id, "file_unique_id": f.uniqueID, "file_size": len(f.data), "file_path": f.path}, nil
}

var chatActions = []string{"typing", "upload_photo", "record_video", "upload_video", "record_voice",
	"upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}

func (s *Server) sendChatAction(req *request) (any, *apiError) {
	if !slices.Contains(chatActions, req.params["action"]) {
		return nil, badRequest("wrong parameter action in request")
	}
	return true, nil
}

var secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// defaultExcluded are the update kinds Telegram leaves out unless asked.
var defaultExcluded = []string{"chat_member", "message_reaction", "message_reaction_count"}

func (s *Server) setAllowedLocked(raw string) *apiError {
	if raw == "" {
		return nil
	}
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return badRequest("can't parse allowed updates")
	}
	s.allowed = list
	return nil
}

func (s *Server) setWebhook(req *request) (any, *apiError) {
	p := req.params
	if p["url"] == "" {
		return s.deleteWebhook(req)
	}
	u, err := url.Parse(p["url"])
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badRequest("bad webhook: invalid webhook URL specified")
	}
	if sec, ok := p["secret_token"]; ok && sec != "" && !secretRe.MatchString(sec) {
		return nil, badRequest("bad webhook: secret token contains unallowed characters")
	}
	if aerr := s.setAllowedLocked(p["allowed_updates"]); aerr != nil {
		return nil, aerr
	}
	if p["drop_pending_updates"] == "true" {
		s.queue = nil
	}
	maxConns, _ := strconv.Atoi(p["max_connections"])
	if maxConns == 0 {
		maxConns = 40
	}
	s.webhook = webhookState{url: p["url"], secret: p["secret_token"], maxConns: maxConns}
	return true, nil
}

func (s *Server) deleteWebhook(req *request) (any, *apiError) {
	s.webhook = webhookState{}
	if req.params["drop_pending_updates"] == "true" {
		s.queue = nil
	}
	return true, nil
}

func (s *Server) getWebhookInfo(*request) (any, *apiError) {
	info := map[string]any{"url": s.webhook.url, "has_custom_certificate": false, "pending_update_count": len(s.queue)}
	if s.webhook.url != "" {
		info["max_connections"] = s.webhook.maxConns
		if s.webhook.lastErrDate != 0 {
			info["last_error_date"] = s.webhook.lastErrDate
			info["last_error_message"] = s.webhook.lastErrMsg
		}
		if s.allowed != nil {
			info["allowed_updates"] = s.allowed
		}
	}
	return info, nil
}

// getUpdates long-polls the update queue without holding the lock.
func (s *Server) getUpdates(req *request) (any, *apiError) {
	p := req.params
	offset, _ := strconv.ParseInt(p["offset"], 10, 64)
	limit, _ := strconv.Atoi(p["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p["timeout"])
	if timeout < 0 {
		timeout = 0
	}
	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()
	expired := timeout == 0
	s.mu.Lock()
	if s.webhook.url != "" {
		s.mu.Unlock()
		return nil, &apiError{code: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if aerr := s.setAllowedLocked(p["allowed_updates"]); aerr != nil {
		s.mu.Unlock()
		return nil, aerr
	}
	switch {
	case offset > 0:
		s.queue = slices.DeleteFunc(s.queue, func(u queuedUpdate) bool { return u.id < offset })
	case offset < 0:
		if keep := int(-offset); keep < len(s.queue) {
			s.queue = s.queue[len(s.queue)-keep:]
		}
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.webhook.url != "" {
			s.mu.Unlock()
			return nil, &apiError{code: http.StatusConflict, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
		out := make([]json.RawMessage, 0, limit)
		for _, u := range s.queue {
			if len(out) == limit {
				break
			}
			out = append(out, u.raw)
		}
		ch := s.changed
		if len(out) > 0 || expired {
			s.mu.Unlock()
			return out, nil
		}
		s.polling++
		close(s.pollWait)
		s.pollWait = make(chan struct{})
		s.mu.Unlock()
		ended := false
		select {
		case <-ch:
		case <-timer.C:
			expired = true
		case <-req.ctx.Done():
			ended = true
		case <-s.done:
			ended = true
		}
		s.mu.Lock()
		s.polling--
		s.mu.Unlock()
		if ended {
			return []json.RawMessage{}, nil
		}
	}
}

// WaitPolling returns once a getUpdates call is waiting for an update (a long
// poll with nothing to return yet), or with ctx's error. A test uses it to
// queue an update during a long poll rather than before it.
func (s *Server) WaitPolling(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, ch := s.polling, s.pollWait
		s.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// deliverWebhooks posts queued updates, in order, to the registered webhook,
// retrying with a growing pause while it fails.
func (s *Server) deliverWebhooks() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.done
		cancel()
	}()
	pause := 50 * time.Millisecond
	for {
		s.mu.Lock()
		hook := s.webhook
		var next *queuedUpdate
		if hook.url != "" && len(s.queue) > 0 {
			u := s.queue[0]
			next = &u
		}
		ch := s.changed
		s.mu.Unlock()
		if next == nil {
			select {
			case <-ch:
				continue
			case <-s.done:
				return
			}
		}
		err := s.post(ctx, hook, next.raw)
		s.mu.Lock()
		if err == nil {
			if len(s.queue) > 0 && s.queue[0].id == next.id {
				s.queue = s.queue[1:]
			}
			pause = 50 * time.Millisecond
		} else if s.webhook.url == hook.url {
			s.webhook.lastErrDate = s.now().Unix()
			s.webhook.lastErrMsg = err.Error()
		}
		s.notifyLocked()
		s.mu.Unlock()
		if err != nil {
			select {
			case <-time.After(pause):
			case <-s.done:
				return
			}
			pause = min(pause*2, 2*time.Second)
		}
	}
}

func (s *Server) post(ctx context.Context, hook webhookState, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	resp, err := s.webhookC.Do(req)
	if err != nil {
		return fmt.Errorf("connection failed: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("wrong response from the webhook: %s", resp.Status)
	}
	return nil
}

package tgfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
)

// User is a Telegram user the test acts as.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
}

func (u User) json() map[string]any {
	obj := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	if obj["first_name"] == "" {
		obj["first_name"] = fmt.Sprintf("User%d", u.ID)
	}
	if u.LastName != "" {
		obj["last_name"] = u.LastName
	}
	if u.Username != "" {
		obj["username"] = u.Username
	}
	if u.LanguageCode != "" {
		obj["language_code"] = u.LanguageCode
	}
	return obj
}

// Chat is a chat a user writes in. The zero Chat means the user's private
// chat with the bot, whose id is the user's id. Type defaults to "private"
// for positive ids, "supergroup" for ids below -10^12 and "group" otherwise.
type Chat struct {
	ID       int64
	Type     string
	Title    string
	Username string
}

// Update describes an update the fake queued for the bot.
type Update struct {
	// ID is the update_id.
	ID int64
	// ChatID and MessageID identify the user's message, when there is one.
	ChatID    int64
	MessageID int64
	// CallbackQueryID is set for button presses.
	CallbackQueryID string
	// FileID is set for documents and photos (the largest size).
	FileID string
	// Dropped is true when the bot's allowed_updates exclude this kind of
	// update, so Telegram would never deliver it.
	Dropped bool
	// JSON is the update as delivered.
	JSON json.RawMessage
}

// ensureChatLocked registers a chat (making it known for "chat not found")
// and returns its state.
func (s *Server) ensureChatLocked(from User, chat Chat) *chatState {
	if chat.ID == 0 {
		chat.ID = from.ID
	}
	if chat.Type == "" {
		switch {
		case chat.ID > 0:
			chat.Type = "private"
		case chat.ID < -1_000_000_000_000:
			chat.Type = "supergroup"
		default:
			chat.Type = "group"
		}
	}
	if c, ok := s.chats[chat.ID]; ok {
		return c
	}
	obj := map[string]any{"id": chat.ID, "type": chat.Type}
	username := chat.Username
	if chat.Type == "private" {
		u := from.json()
		obj["first_name"] = u["first_name"]
		if from.LastName != "" {
			obj["last_name"] = from.LastName
		}
		if username == "" {
			username = from.Username
		}
	} else {
		title := chat.Title
		if title == "" {
			title = fmt.Sprintf("Chat %d", chat.ID)
		}
		obj["title"] = title
	}
	if username != "" {
		obj["username"] = username
	}
	c := &chatState{obj: obj, username: username, userMsgs: map[int64]bool{}, botMsgs: map[int64]*Message{}}
	s.chats[chat.ID] = c
	return c
}

// userMessageLocked builds a message from a user and registers its id.
func (s *Server) userMessageLocked(from User, chat Chat) (map[string]any, *chatState) {
	c := s.ensureChatLocked(from, chat)
	c.nextMsgID++
	c.userMsgs[c.nextMsgID] = true
	return map[string]any{
		"message_id": c.nextMsgID,
		"from":       from.json(),
		"chat":       c.obj,
		"date":       s.now().Unix(),
	}, c
}

// enqueueLocked assigns an update_id and queues the update unless the bot's
// allowed_updates exclude its kind.
func (s *Server) enqueueLocked(upd map[string]any) Update {
	s.nextUpd++
	upd["update_id"] = s.nextUpd
	kind := ""
	for _, k := range sortedKeys(upd) {
		if k != "update_id" {
			kind = k
			break
		}
	}
	raw := marshalNoEscape(upd)
	res := Update{ID: s.nextUpd, JSON: raw}
	allowed := !slices.Contains(defaultExcluded, kind)
	if len(s.allowed) > 0 {
		allowed = slices.Contains(s.allowed, kind)
	}
	if allowed {
		s.queue = append(s.queue, queuedUpdate{id: s.nextUpd, kind: kind, raw: raw})
	} else {
		res.Dropped = true
	}
	s.notifyLocked()
	return res
}

// commandEntity returns the bot_command entity for a text starting with
// "/command" or "/command@botname", with UTF-16 offset and length.
func commandEntity(text string) (Entity, bool) {
	if !strings.HasPrefix(text, "/") {
		return Entity{}, false
	}
	end := strings.IndexAny(text, " \t\n")
	if end < 0 {
		end = len(text)
	}
	cmd := text[:end]
	name, bot, _ := strings.Cut(cmd[1:], "@")
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, notCommandRune) || strings.ContainsFunc(bot, notCommandRune) {
		return Entity{}, false
	}
	return Entity{Type: "bot_command", Offset: 0, Length: utf16Len(cmd)}, true
}

func notCommandRune(r rune) bool {
	return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

// SendText queues a text message from a user. A text starting with
// "/command" or "/command@botname" gets a bot_command entity.
func (s *Server) SendText(from User, chat Chat, text string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, c := s.userMessageLocked(from, chat)
	msg["text"] = text
	if e, ok := commandEntity(text); ok {
		msg["entities"] = []Entity{e}
	}
	u := s.enqueueLocked(map[string]any{"message": msg})
	u.ChatID, u.MessageID = c.obj["id"].(int64), msg["message_id"].(int64)
	return u
}

// PressButton queues a callback query for a button of a message the bot
// sent and returns the callback query id. The message is attached in its
// current state; data is not checked against its keyboard, so stale
// buttons can be pressed too.
func (s *Server) PressButton(from User, msg Message, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureChatLocked(from, Chat{ID: msg.ChatID})
	m := c.botMsgs[msg.ID]
	if m == nil {
		m = &msg
	}
	cq := s.newCallbackLocked(from, data)
	cq["message"] = s.messageJSON(c, m)
	cq["chat_instance"] = fmt.Sprintf("%d", -msg.ChatID*7919)
	s.enqueueLocked(map[string]any{"callback_query": cq})
	return cq["id"].(string)
}

// PressInlineButton queues a callback query without a message, as for a
// button of an inline-mode message, and returns the callback query id.
func (s *Server) PressInlineButton(from User, inlineMessageID, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	cq := s.newCallbackLocked(from, data)
	cq["inline_message_id"] = inlineMessageID
	cq["chat_instance"] = "-1"
	s.enqueueLocked(map[string]any{"callback_query": cq})
	return cq["id"].(string)
}

func (s *Server) newCallbackLocked(from User, data string) map[string]any {
	s.nextCB++
	id := fmt.Sprintf("%d%06d", from.ID, s.nextCB)
	s.callbacks[id] = false
	cq := map[string]any{"id": id, "from": from.json()}
	if data != "" {
		cq["data"] = data
	}
	return cq
}

// SendDocument queues a document message from a user. The file is stored
// so that getFile and the /file/ route serve it.
func (s *Server) SendDocument(from User, chat Chat, filename, mimeType string, content []byte, caption string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.storeFileLocked("documents", filename, mimeType, content)
	msg, c := s.userMessageLocked(from, chat)
	msg["document"] = map[string]any{"file_id": f.id, "file_unique_id": f.uniqueID, "file_name": filename,
		"mime_type": mimeType, "file_size": len(content)}
	if caption != "" {
		msg["caption"] = caption
	}
	u := s.enqueueLocked(map[string]any{"message": msg})
	u.ChatID, u.MessageID, u.FileID = c.obj["id"].(int64), msg["message_id"].(int64), f.id
	return u
}

// SendPhoto queues a photo message from a user with two generated PNG
// sizes (90 and 320 pixels), both downloadable.
func (s *Server) SendPhoto(from User, chat Chat, caption string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sizes []any
	var largest string
	for _, px := range []int{90, 320} {
		f := s.storeFileLocked("photos", fmt.Sprintf("photo_%d.png", px), "image/png", pngBytes(px))
		sizes = append(sizes, map[string]any{"file_id": f.id, "file_unique_id": f.uniqueID,
			"width": px, "height": px, "file_size": len(f.data)})
		largest = f.id
	}
	msg, c := s.userMessageLocked(from, chat)
	msg["photo"] = sizes
	if caption != "" {
		msg["caption"] = caption
	}
	u := s.enqueueLocked(map[string]any{"message": msg})
	u.ChatID, u.MessageID, u.FileID = c.obj["id"].(int64), msg["message_id"].(int64), largest
	return u
}

func pngBytes(px int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, px, px))
	for y := range px {
		for x := range px {
			img.Set(x, y, color.RGBA{R: 0xf5, G: 0xc5, B: 0x18, A: 0xff})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// PushRaw queues an arbitrary update: a json.RawMessage, []byte, string,
// map or struct that encodes to a JSON object. Its update_id is replaced.
// Chats found in message-like fields become known chats, so the bot may
// answer them. It panics if the value is not a JSON object, which is a bug
// in the test.
func (s *Server) PushRaw(update any) Update {
	var raw []byte
	switch v := update.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			panic(fmt.Sprintf("tgfake: PushRaw: %v", err))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var upd map[string]any
	if err := dec.Decode(&upd); err != nil {
		panic(fmt.Sprintf("tgfake: PushRaw: not a JSON object: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var chatID, msgID int64
	for _, k := range []string{"message", "edited_message", "channel_post", "edited_channel_post",
		"my_chat_member", "chat_member", "chat_join_request", "business_message", "callback_query"} {
		obj, ok := upd[k].(map[string]any)
		if !ok {
			continue
		}
		if k == "callback_query" {
			if id, ok := obj["id"].(string); ok {
				s.callbacks[id] = false
			}
			if obj, ok = obj["message"].(map[string]any); !ok {
				continue
			}
		}
		chat, ok := obj["chat"].(map[string]any)
		if !ok {
			continue
		}
		num, ok := chat["id"].(json.Number)
		if !ok {
			continue
		}
		id, err := num.Int64()
		if err != nil {
			continue
		}
		chatID = id
		if _, known := s.chats[id]; !known {
			typ, _ := chat["type"].(string)
			title, _ := chat["title"].(string)
			username, _ := chat["username"].(string)
			first, _ := chat["first_name"].(string)
			s.ensureChatLocked(User{ID: id, FirstName: first, Username: username}, Chat{ID: id, Type: typ, Title: title, Username: username})
		}
		if n, ok := obj["message_id"].(json.Number); ok && k != "callback_query" {
			msgID, _ = n.Int64()
			c := s.chats[id]
			c.userMsgs[msgID] = true
			if msgID > c.nextMsgID {
				c.nextMsgID = msgID
			}
		}
	}
	u := s.enqueueLocked(upd)
	u.ChatID, u.MessageID = chatID, msgID
	return u
}

// KnowChat makes a chat known without any update, as if the bot had been
// added to it earlier.
func (s *Server) KnowChat(chat Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureChatLocked(User{ID: chat.ID}, chat)
	s.notifyLocked()
}

package bot

import (
	"strings"
	"unicode/utf16"

	tgmodels "github.com/go-telegram/bot/models"
	"github.com/keranjang/keranjang/affiliate"
)

// Kind says what an update carries.
type Kind int

// Update kinds the rest of the project cares about; everything else is KindOther.
const (
	KindOther Kind = iota
	KindMessage
	KindCallback
	KindMemberStatus
)

// User is the sender of an update.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
	IsBot        bool
}

// Chat is where an update happened.
type Chat struct {
	ID    int64
	Type  string // private, group, supergroup, channel
	Title string
}

// Private reports whether the chat is a private chat with the user.
func (c Chat) Private() bool { return c.Type == "private" }

// File is a document or photo a user sent.
type File struct {
	FileID   string
	FileName string
	MIME     string
	Size     int64
}

// Request is an update in the project's own terms: the only shape of a Telegram update that the commands
// package sees.
type Request struct {
	UpdateID  int64
	Kind      Kind
	From      *User // nil for updates without a sender (channel posts)
	Chat      Chat
	MessageID int
	// Text is the message text, or the caption of a document or photo.
	Text string
	// Command is the lower-case command name without the slash ("start"), "" when the text is no command
	// or the command is addressed to another bot.
	Command string
	// Args is the text after the command, trimmed.
	Args string
	// Payload of a callback query.
	CallbackID   string
	CallbackData string
	Document     *File
	Photo        *File
	// Blocked is set on a my_chat_member update saying the user blocked (kicked) the bot.
	Blocked bool

	answered bool
}

// Answered reports whether the callback query of r has been answered.
func (r *Request) Answered() bool { return r.answered }

// kindName is the metric label of an update's type.
func kindName(u *tgmodels.Update) string {
	switch {
	case u.Message != nil:
		if u.Message.Document != nil {
			return "document"
		}
		if len(u.Message.Photo) > 0 {
			return "photo"
		}
		if u.Message.Text != "" {
			return "message"
		}
		return "message_other"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil, u.EditedChannelPost != nil:
		return "channel_post"
	case u.MyChatMember != nil:
		return "my_chat_member"
	}
	return "other"
}

// toRequest converts a Telegram update; botUsername is used to ignore commands addressed to other bots.
func toRequest(u *tgmodels.Update, botUsername string) *Request {
	r := &Request{UpdateID: u.ID}
	switch {
	case u.Message != nil:
		m := u.Message
		r.Kind = KindMessage
		r.From = fromUser(m.From)
		r.Chat = Chat{ID: m.Chat.ID, Type: string(m.Chat.Type), Title: m.Chat.Title}
		r.MessageID = m.ID
		r.Text = m.Text
		entities := m.Entities
		if r.Text == "" {
			r.Text = m.Caption
			entities = m.CaptionEntities
		}
		r.Command, r.Args = ParseCommand(r.Text, entities, botUsername)
		if d := m.Document; d != nil {
			r.Document = &File{FileID: d.FileID, FileName: d.FileName, MIME: d.MimeType, Size: d.FileSize}
		}
		if n := len(m.Photo); n > 0 {
			p := m.Photo[n-1] // the largest size comes last
			r.Photo = &File{FileID: p.FileID, Size: int64(p.FileSize)}
		}
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		r.Kind = KindCallback
		r.From = fromUser(&q.From)
		r.CallbackID = q.ID
		r.CallbackData = q.Data
		if q.Message.Message != nil {
			r.Chat = Chat{ID: q.Message.Message.Chat.ID, Type: string(q.Message.Message.Chat.Type)}
			r.MessageID = q.Message.Message.ID
		} else if q.Message.InaccessibleMessage != nil {
			r.Chat = Chat{ID: q.Message.InaccessibleMessage.Chat.ID, Type: string(q.Message.InaccessibleMessage.Chat.Type)}
			r.MessageID = q.Message.InaccessibleMessage.MessageID
		} else {
			// A button on an inline-mode message: answer in the private chat.
			r.Chat = Chat{ID: q.From.ID, Type: "private"}
		}
	case u.MyChatMember != nil:
		cm := u.MyChatMember
		r.Kind = KindMemberStatus
		r.From = fromUser(&cm.From)
		r.Chat = Chat{ID: cm.Chat.ID, Type: string(cm.Chat.Type), Title: cm.Chat.Title}
		r.Blocked = cm.NewChatMember.Type == tgmodels.ChatMemberTypeBanned || cm.NewChatMember.Type == tgmodels.ChatMemberTypeLeft
	default:
		r.Kind = KindOther
	}
	return r
}

func fromUser(u *tgmodels.User) *User {
	if u == nil {
		return nil
	}
	return &User{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username,
		LanguageCode: u.LanguageCode, IsBot: u.IsBot}
}

// MaxCommandLen is the longest command name Telegram allows.
const MaxCommandLen = 32

// ParseCommand finds the command in a message: the first bot_command entity (whose offset and length
// Telegram counts in UTF-16 code units, so text before it may hold any characters), or, without entities,
// a leading "/word". It returns the lower-case name and the trimmed text after it. A command addressed to
// another bot ("/help@otherbot") gives "".
func ParseCommand(text string, entities []tgmodels.MessageEntity, botUsername string) (cmd, args string) {
	start, end := -1, -1
	for _, e := range entities {
		if e.Type != tgmodels.MessageEntityTypeBotCommand {
			continue
		}
		s, en, ok := utf16Span(text, e.Offset, e.Length)
		if ok && en > s+1 && text[s] == '/' {
			start, end = s, en
		}
		break
	}
	if start < 0 {
		t := strings.TrimLeft(text, " \t\n")
		if !strings.HasPrefix(t, "/") {
			return "", ""
		}
		start = len(text) - len(t)
		end = start + 1
		for end < len(text) && isCommandByte(text[end]) {
			end++
		}
		if end == start+1 {
			return "", ""
		}
	}
	name := text[start+1 : end]
	if at := strings.IndexByte(name, '@'); at >= 0 {
		target := name[at+1:]
		name = name[:at]
		if botUsername != "" && !strings.EqualFold(target, botUsername) {
			return "", ""
		}
	}
	if name == "" || len(name) > MaxCommandLen {
		return "", ""
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return "", ""
		}
	}
	return strings.ToLower(name), strings.TrimSpace(text[end:])
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isCommandByte(c byte) bool { return isNameByte(c) || c == '@' }

// utf16Span converts an entity's UTF-16 offset and length into byte offsets of s.
func utf16Span(s string, offset, length int) (int, int, bool) {
	if offset < 0 || length <= 0 {
		return 0, 0, false
	}
	units := 0
	start, end := -1, -1
	for i, r := range s {
		if units == offset {
			start = i
		}
		if units == offset+length {
			end = i
			break
		}
		units += utf16.RuneLen(r)
		if units < 0 {
			units += 2 // invalid rune: counted as U+FFFD, one unit, plus one
		}
	}
	if start < 0 {
		return 0, 0, false
	}
	if end < 0 {
		if units != offset+length {
			return 0, 0, false
		}
		end = len(s)
	}
	return start, end, true
}

// UTF16Len is the length of s in UTF-16 code units, the unit of Telegram's text limits (the domain's
// own count, affiliate.TextLen, which validation uses too).
func UTF16Len(s string) int { return affiliate.TextLen(s) }

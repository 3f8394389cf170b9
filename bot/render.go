package bot

import (
	"errors"
	"fmt"
	"strings"
)

// Limits Telegram enforces on what the bot sends.
const (
	MaxTextLen         = 4096 // UTF-16 units of a message text, as TextLen counts them
	MaxCaptionLen      = 1024 // UTF-16 units of a caption, as TextLen counts them
	MaxCallbackDataLen = 64   // bytes of callback_data
)

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// Escape makes user text safe inside a message sent with HTML parse mode. Only the four entities
// Telegram knows are used.
func Escape(s string) string { return htmlEscaper.Replace(s) }

// Code wraps escaped text in a code tag (tap to copy in Telegram).
func Code(s string) string { return "<code>" + Escape(s) + "</code>" }

// Button is one inline-keyboard button with exactly one action: callback data or a URL. It is our own
// type because the library's button always carries an empty copy_text as a second action.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Data is a callback button.
func Data(text, data string) Button { return Button{Text: text, CallbackData: data} }

// Keyboard is an inline keyboard: rows of buttons.
type Keyboard [][]Button

// inlineMarkup is the reply_markup JSON shape.
type inlineMarkup struct {
	InlineKeyboard Keyboard `json:"inline_keyboard"`
}

// ErrBadMessage is returned for a message Telegram would refuse; it is a programming error.
var ErrBadMessage = errors.New("message breaks a Telegram limit")

func (k Keyboard) validate() error {
	for _, row := range k {
		for _, b := range row {
			if b.Text == "" || (b.CallbackData == "") == (b.URL == "") {
				return fmt.Errorf("%w: button %q needs exactly one action", ErrBadMessage, b.Text)
			}
			if len(b.CallbackData) > MaxCallbackDataLen {
				return fmt.Errorf("%w: callback data %q over %d bytes", ErrBadMessage, b.CallbackData, MaxCallbackDataLen)
			}
		}
	}
	return nil
}

func (k Keyboard) markup() any {
	if len(k) == 0 {
		return nil
	}
	return inlineMarkup{InlineKeyboard: k}
}

// Message is a text the bot sends, in HTML parse mode, with an optional inline keyboard.
type Message struct {
	Text     string
	Keyboard Keyboard
	// Preview enables the link preview (off by default: basket links must not be fetched by Telegram
	// on the bot's behalf).
	Preview bool
}

func (m Message) validate() error {
	if n := TextLen(m.Text); n == 0 || n > MaxTextLen {
		return fmt.Errorf("%w: text of %d units", ErrBadMessage, n)
	}
	return m.Keyboard.validate()
}

// UploadKind is how Telegram shows an upload.
type UploadKind int

// The kinds of upload. The zero value is none of them, so an Upload must say what it is.
const (
	UploadDocument UploadKind = iota + 1 // a file to download (sendDocument)
	UploadPhoto                          // a picture shown inline (sendPhoto)
)

// String names the kind for errors.
func (k UploadKind) String() string {
	switch k {
	case UploadDocument:
		return "document"
	case UploadPhoto:
		return "photo"
	}
	return fmt.Sprintf("upload kind %d", int(k))
}

// Upload is a file the bot sends: a document or a photo, as bytes or as a Telegram file_id.
type Upload struct {
	Kind     UploadKind
	FileID   string
	Name     string
	Data     []byte
	Caption  string // HTML
	Keyboard Keyboard
}

func (u Upload) validate() error {
	if u.Kind != UploadDocument && u.Kind != UploadPhoto {
		return fmt.Errorf("%w: %s", ErrBadMessage, u.Kind)
	}
	if u.FileID == "" && len(u.Data) == 0 {
		return fmt.Errorf("%w: empty upload", ErrBadMessage)
	}
	if n := TextLen(u.Caption); n > MaxCaptionLen {
		return fmt.Errorf("%w: caption of %d units", ErrBadMessage, n)
	}
	return u.Keyboard.validate()
}

// Truncate shortens plain (unescaped) text to at most n characters, adding "…" when it cut.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}

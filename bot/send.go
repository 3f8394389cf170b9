package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
)

// sendTimeout bounds every outbound call.
const sendTimeout = 15 * time.Second

var noPreview = &tgmodels.LinkPreviewOptions{IsDisabled: tgbot.True()}

// Send sends an HTML message to a chat and returns its message id.
func (b *Bot) Send(ctx context.Context, chatID int64, m Message) (int, error) {
	if err := m.validate(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	p := &tgbot.SendMessageParams{ChatID: chatID, Text: m.Text, ParseMode: tgmodels.ParseModeHTML,
		ReplyMarkup: m.Keyboard.markup()}
	if !m.Preview {
		p.LinkPreviewOptions = noPreview
	}
	msg, err := b.client.SendMessage(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("send message: %w", redact(err, b.cfg.Token))
	}
	return msg.ID, nil
}

// Edit replaces the text and keyboard of a message the bot sent. An edit that changes nothing is not an
// error.
func (b *Bot) Edit(ctx context.Context, chatID int64, messageID int, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	p := &tgbot.EditMessageTextParams{ChatID: chatID, MessageID: messageID, Text: m.Text,
		ParseMode: tgmodels.ParseModeHTML, ReplyMarkup: m.Keyboard.markup()}
	if !m.Preview {
		p.LinkPreviewOptions = noPreview
	}
	_, err := b.client.EditMessageText(ctx, p)
	if err != nil && !isNotModified(err) {
		return fmt.Errorf("edit message: %w", redact(err, b.cfg.Token))
	}
	return nil
}

func isNotModified(err error) bool {
	return errors.Is(err, tgbot.ErrorBadRequest) && bytes.Contains([]byte(err.Error()), []byte("message is not modified"))
}

// AnswerCallback answers the request's callback query; text is shown as a toast, or as an alert box when
// alert is set. Only the first answer is sent: later calls are no-ops (see Request.Answered).
func (b *Bot) AnswerCallback(ctx context.Context, r *Request, text string, alert bool) error {
	if r.CallbackID == "" || r.answered {
		return nil // Telegram refuses a second answer to the same query
	}
	r.answered = true
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	_, err := b.client.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{
		CallbackQueryID: r.CallbackID, Text: Truncate(text, 200), ShowAlert: alert,
	})
	if err != nil {
		return fmt.Errorf("answer callback: %w", redact(err, b.cfg.Token))
	}
	return nil
}

// SendFile sends an upload, as a photo or as a document by its Kind, with an HTML caption.
func (b *Bot) SendFile(ctx context.Context, chatID int64, u Upload) (int, error) {
	if err := u.validate(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	var mode tgmodels.ParseMode
	if u.Caption != "" {
		mode = tgmodels.ParseModeHTML
	}
	var (
		msg *tgmodels.Message
		err error
	)
	switch u.Kind {
	case UploadPhoto:
		msg, err = b.client.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: chatID, Photo: inputFile(u),
			Caption: u.Caption, ParseMode: mode, ReplyMarkup: u.Keyboard.markup()})
	default:
		msg, err = b.client.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: chatID, Document: inputFile(u),
			Caption: u.Caption, ParseMode: mode, ReplyMarkup: u.Keyboard.markup()})
	}
	if err != nil {
		return 0, fmt.Errorf("send %s: %w", u.Kind, redact(err, b.cfg.Token))
	}
	return msg.ID, nil
}

func inputFile(u Upload) tgmodels.InputFile {
	if u.FileID != "" {
		return &tgmodels.InputFileString{Data: u.FileID}
	}
	name := u.Name
	if name == "" {
		name = "file"
	}
	return &tgmodels.InputFileUpload{Filename: name, Data: bytes.NewReader(u.Data)}
}

// Command is one entry of the command menu.
type Command struct {
	Name        string `json:"command"`
	Description string `json:"description"`
}

// SetCommands sets the command menu for everyone (chatID 0) or for one chat, in one language ("" for the
// fallback menu of users whose language has no menu of its own).
func (b *Bot) SetCommands(ctx context.Context, chatID int64, lang string, cmds []Command) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	var scope tgmodels.BotCommandScope = &tgmodels.BotCommandScopeDefault{}
	if chatID != 0 {
		scope = &tgmodels.BotCommandScopeChat{ChatID: chatID}
	}
	list := make([]tgmodels.BotCommand, len(cmds))
	for i, c := range cmds {
		list[i] = tgmodels.BotCommand{Command: c.Name, Description: c.Description}
	}
	_, err := b.client.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: list, Scope: scope, LanguageCode: lang})
	if err != nil {
		return fmt.Errorf("set commands: %w", redact(err, b.cfg.Token))
	}
	return nil
}

package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
)

// downloadTimeout bounds a whole download: getFile and the transfer.
const downloadTimeout = 30 * time.Second

// ErrFileTooLarge is returned by Download for a file bigger than its cap.
var ErrFileTooLarge = errors.New("file too large")

// Download fetches a file a user sent (by its file_id): getFile for its path, then
// <api>/file/bot<token>/<path>. A file larger than max bytes is refused with ErrFileTooLarge, by the size
// Telegram reports or, failing that, while reading, so no more than max+1 bytes are ever held. Errors
// never carry the token.
func (b *Bot) Download(ctx context.Context, fileID string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	f, err := b.client.GetFile(ctx, &tgbot.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, fmt.Errorf("get file: %w", redact(err, b.cfg.Token))
	}
	if f.FileSize > max {
		return nil, fmt.Errorf("download: %d bytes: %w", f.FileSize, ErrFileTooLarge)
	}
	if f.FilePath == "" {
		return nil, errors.New("download: telegram gave no file path")
	}
	u := strings.TrimSuffix(b.cfg.APIURL, "/") + "/file/bot" + b.cfg.Token.Reveal() + "/" + escapePath(f.FilePath)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", redact(err, b.cfg.Token))
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", redact(err, b.cfg.Token))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("download: %w", redact(err, b.cfg.Token))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("download: more than %d bytes: %w", max, ErrFileTooLarge)
	}
	return data, nil
}

// escapePath escapes each segment of a file path for a URL, keeping the slashes.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

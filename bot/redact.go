package bot

import (
	"net/url"
	"strings"

	"github.com/keranjang/keranjang/internal/secret"
)

// redact removes the token from an error's text (the client puts it in request URLs).
func redact(err error, token secret.Secret) error {
	if err == nil || !token.IsSet() {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, token.Reveal()) && !strings.Contains(msg, url.PathEscape(token.Reveal())) {
		return err
	}
	msg = strings.ReplaceAll(msg, token.Reveal(), "***")
	return &redactedError{msg: strings.ReplaceAll(msg, url.PathEscape(token.Reveal()), "***"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; the wrapped error's own text still holds the token, so callers log
// only Error().
func (e *redactedError) Unwrap() error { return e.err }

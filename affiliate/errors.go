package affiliate

import (
	"errors"
	"fmt"
)

// Code classifies a domain error. Each transport maps codes to what its user sees: a localized text in
// Telegram, an HTTP status over HTTP.
type Code string

// Error codes.
const (
	EInvalid      Code = "invalid"      // the input breaks a rule; Reason says which
	ENotFound     Code = "not_found"    // the thing asked for does not exist (or is not the caller's)
	EConflict     Code = "conflict"     // the state does not allow it (for example a paused product)
	EForbidden    Code = "forbidden"    // the caller's role does not allow it
	EUnauthorized Code = "unauthorized" // missing or wrong credentials
	EInternal     Code = "internal"     // anything else; details go to the log only
)

// Error is the one domain error type. Reason is a stable key (for example "price_range") that the i18n
// catalogue turns into a message; Args fill that message. Err keeps a wrapped cause for the log.
type Error struct {
	Code   Code
	Reason string
	Args   []any
	Err    error
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if len(e.Args) > 0 {
		msg += fmt.Sprint(e.Args)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a reason key and message arguments.
func Errorf(code Code, reason string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Args: args}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other non-nil error
// and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorReason returns the reason key of the first *Error in err's chain, or "".
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Sentinel errors shared by the store and the transports.
var (
	ErrUserNotFound    = &Error{Code: ENotFound, Reason: "user_not_found"}
	ErrProductNotFound = &Error{Code: ENotFound, Reason: "product_not_found"}
	ErrLinkNotFound    = &Error{Code: ENotFound, Reason: "link_not_found"}
	ErrSellerNotFound  = &Error{Code: ENotFound, Reason: "seller_not_found"}
	ErrAppNotFound     = &Error{Code: ENotFound, Reason: "application_not_found"}
	ErrClickNotFound   = &Error{Code: ENotFound, Reason: "click_not_found"}
	ErrOrderNotFound   = &Error{Code: ENotFound, Reason: "order_not_found"}
	// ErrOrderLinkNotFound is an order's link code that names no link of the reporting seller's products.
	ErrOrderLinkNotFound = &Error{Code: ENotFound, Reason: "order_link_not_found"}
	ErrProductPaused     = &Error{Code: EConflict, Reason: "product_paused"}
)

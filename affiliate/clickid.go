package affiliate

import (
	"io"
	"time"
)

// Click ids (the kclid a shop receives) are ClickIDLen characters of Alphabet with a layout chosen for the
// store: the first ClickIDTimeLen characters are the click's unix millisecond in base62 with the digits
// in byte order (ClickTimeDigits), so byte order of ids is time order and the click log, keyed by id, only
// grows at its end; the remaining ClickIDLen-ClickIDTimeLen characters are random (about 53.6 bits), so
// an id cannot be guessed even when the time of a click is known.
const (
	ClickIDLen = 16
	// ClickIDTimeLen characters of base62 hold 62^7 ms, about 111 years of unix time (until 2081).
	ClickIDTimeLen = 7
	// MaxClickMilli is the largest millisecond the time prefix can hold; later times are clamped to it.
	MaxClickMilli = 3521614606207 // 62^7 - 1
)

// ClickTimeDigits are the base62 digits of the time prefix, in byte order, so that comparing two
// prefixes byte by byte compares the times. They are the characters of Alphabet in another order.
const ClickTimeDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// PutClickTime writes the time prefix of a click id for a click at t into dst[:ClickIDTimeLen]. Times
// before 1970 are written as 1970 and times past the prefix's range as its last millisecond, so the
// prefix always has ClickIDTimeLen characters.
func PutClickTime(dst []byte, t time.Time) {
	ms := min(max(t.UnixMilli(), 0), MaxClickMilli)
	for i := ClickIDTimeLen - 1; i >= 0; i-- {
		dst[i] = ClickTimeDigits[ms%62]
		ms /= 62
	}
}

// PrepareClicks checks a batch of clicks before it is recorded and returns a copy ready to be judged:
// every click must carry a valid link code (otherwise the whole batch is refused), Unique is cleared (the
// store decides it), and a human click without an id gets one for its time from r.
func PrepareClicks(clicks []Click, r io.Reader) ([]Click, error) {
	out := make([]Click, len(clicks))
	copy(out, clicks)
	for i := range out {
		if !ValidCode(out[i].Code) {
			return nil, Errorf(EInvalid, "click_code", out[i].Code)
		}
		out[i].Unique = false
		if out[i].ID == "" && !out[i].Bot {
			id, err := NewClickID(out[i].At, r)
			if err != nil {
				return nil, err
			}
			out[i].ID = id
		}
	}
	return out, nil
}

package affiliate

import (
	"fmt"
	"io"
	"time"
)

// alphabetLimit is the largest multiple of len(Alphabet) not above 256: random bytes at or above it are
// rejected, so that each character of Alphabet is equally likely (248 = 4 × 62).
const alphabetLimit = 256 - 256%len(Alphabet)

// RandomChars fills dst with characters of Alphabet drawn from r without modulo bias: bytes of
// alphabetLimit or more are thrown away and replaced by further reads. dst itself serves as the read
// buffer, so no memory is allocated; r need not be safe for concurrent use, but only one goroutine may
// use it at a time.
func RandomChars(r io.Reader, dst []byte) error {
	for n := 0; n < len(dst); {
		if _, err := io.ReadFull(r, dst[n:]); err != nil {
			return fmt.Errorf("read random: %w", err)
		}
		kept := n
		for _, b := range dst[n:] {
			if int(b) < alphabetLimit {
				dst[kept] = Alphabet[int(b)%len(Alphabet)]
				kept++
			}
		}
		n = kept
	}
	return nil
}

// RandomString returns n characters of Alphabet drawn from r as RandomChars does.
func RandomString(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if err := RandomChars(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// PutClickID writes a fresh click id for a click at t into dst[:ClickIDLen]: the time prefix
// (PutClickTime) and ClickIDLen-ClickIDTimeLen random characters from r.
func PutClickID(dst []byte, t time.Time, r io.Reader) error {
	PutClickTime(dst, t)
	return RandomChars(r, dst[ClickIDTimeLen:ClickIDLen])
}

// NewClickID returns a fresh click id for a click at t (see PutClickID).
func NewClickID(t time.Time, r io.Reader) (string, error) {
	var id [ClickIDLen]byte
	if err := PutClickID(id[:], t, r); err != nil {
		return "", err
	}
	return string(id[:]), nil
}

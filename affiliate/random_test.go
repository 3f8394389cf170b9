package affiliate

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestRandomChars(t *testing.T) {
	tests := []struct {
		name   string
		random []byte
		n      int
		want   string
	}{
		{"one byte a character", []byte{0, 1, 61, 62, 247}, 5, "AB9A9"},
		{"rejected bytes are replaced by later ones", []byte{255, 248, 0, 254, 1, 2}, 3, "ABC"},
		{"every accepted byte maps by its remainder", []byte{61, 123, 185, 247}, 4, "9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, tt.n)
			if err := RandomChars(bytes.NewReader(tt.random), dst); err != nil || string(dst) != tt.want {
				t.Fatalf("got %q, %v; want %q", dst, err, tt.want)
			}
		})
	}
	// Every byte below the limit, once: each character comes out exactly four times, so there is no bias.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	dst := make([]byte, 248)
	if err := RandomChars(iotest.OneByteReader(bytes.NewReader(all)), dst); err != nil {
		t.Fatal(err)
	}
	for _, c := range []byte(Alphabet) {
		if n := bytes.Count(dst, []byte{c}); n != 4 {
			t.Fatalf("%q drawn %d times, want 4", c, n)
		}
	}
	boom := errors.New("boom")
	if err := RandomChars(iotest.ErrReader(boom), make([]byte, 3)); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
	if _, err := RandomString(bytes.NewReader([]byte{255, 255}), 1); err == nil {
		t.Fatal("a source that runs out gave a string")
	}
}

func TestNewClickID(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	id, err := NewClickID(at, rand.Reader)
	if err != nil || len(id) != ClickIDLen {
		t.Fatalf("id %q, %v", id, err)
	}
	var prefix [ClickIDTimeLen]byte
	PutClickTime(prefix[:], at)
	if id[:ClickIDTimeLen] != string(prefix[:]) {
		t.Fatalf("id %q does not start with the time prefix %q", id, prefix)
	}
	for _, c := range id[ClickIDTimeLen:] {
		if !strings.ContainsRune(Alphabet, c) {
			t.Fatalf("id %q has %q", id, c)
		}
	}
	if again, _ := NewClickID(at, rand.Reader); again == id {
		t.Fatal("two ids for the same time are equal")
	}
}

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// writeDB creates a database with enough data to span many pages and returns its path.
func writeDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 300; i++ {
		if _, _, err := s.RegisterUser(t.Context(), affiliate.User{ID: i, FirstName: strings.Repeat("n", 200)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenTruncatedFile runs in the test process itself: bbolt would die with SIGBUS mapping the missing
// part, so Open must refuse the file first.
func TestOpenTruncatedFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		size func(full int64) int64
	}{
		{"half", func(full int64) int64 { return full / 2 }},
		{"one page", func(int64) int64 { return 4096 }},
		{"a few bytes", func(int64) int64 { return 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDB(t)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, tc.size(fi.Size())); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("a truncated file opened")
			}
			if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q: want ErrTruncated naming the file", err)
			}
		})
	}
}

// TestOpenEmptyFileIsNew documents that a 0-byte file is a new database, as bbolt treats it.
func TestOpenEmptyFileIsNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != SchemaLatest {
		t.Fatalf("schema %d, %v", v, err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := writeDB(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, readOnly := range []bool{false, true} {
		s2, err := Open(path, Options{Timeout: 50 * time.Millisecond, ReadOnly: readOnly})
		if err == nil {
			s2.Close()
			t.Fatal("opened a file another handle holds")
		}
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another keranjang serve") {
			t.Fatalf("read-only %v: error %q does not name the lock", readOnly, err)
		}
	}
}

func TestOpenErrorSaysOpenOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "k.db")
	_, err := Open(path, Options{})
	if err == nil {
		t.Fatal("opened a file in a missing directory")
	}
	if n := strings.Count(err.Error(), "open"); n != 1 {
		t.Fatalf("%q says open %d times", err, n)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%q lost its cause", err)
	}
}

func TestOpenReadOnlyBackup(t *testing.T) {
	path := writeDB(t)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	if n, err := s.Backup(t.Context(), &b); err != nil || n == 0 || int64(b.Len()) != n {
		t.Fatalf("backup %d bytes, %v", n, err)
	}
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != SchemaLatest {
		t.Fatalf("schema %d, %v", v, err)
	}
}

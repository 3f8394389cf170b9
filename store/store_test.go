package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

func TestOpenMigrations(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr bool
	}{
		{name: "new file"},
		{name: "v0 empty bbolt file", prepare: func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
		}},
		{name: "v0 with a meta bucket and no version", prepare: func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bMeta); return err }); err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
		}},
		{name: "current version", prepare: func(t *testing.T, path string) {
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.RegisterUser(t.Context(), affiliate.User{ID: 7, FirstName: "Sari"}); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
		}},
		{name: "newer version refused", wantErr: true, prepare: func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bMeta)
				if err != nil {
					return err
				}
				return b.Put(kSchema, binary.BigEndian.AppendUint32(nil, uint32(SchemaLatest+1)))
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.db")
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			s, err := Open(path, Options{})
			if tt.wantErr {
				if err == nil {
					_ = s.Close()
					t.Fatal("open succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			v, err := s.SchemaVersion(t.Context())
			if err != nil || v != SchemaLatest {
				t.Fatalf("schema version %d, %v; want %d", v, err, SchemaLatest)
			}
			err = s.db.View(func(tx *bolt.Tx) error {
				for _, name := range allBuckets {
					if tx.Bucket(name) == nil {
						t.Errorf("bucket %s missing", name)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.VisitorSalt()) != saltLen {
				t.Fatalf("salt length %d", len(s.VisitorSalt()))
			}
		})
	}
}

func TestOpenLockedFileTimesOut(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	s, err := Open(f.path, Options{Timeout: 200 * time.Millisecond})
	if err == nil {
		_ = s.Close()
		t.Fatal("second open of a locked file succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second open took %v", d)
	}
	if err := f.s.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestBackup(t *testing.T) {
	f := newFixture(t)
	storetest.User(t, f.s, 42, "Budi")
	var buf bytes.Buffer
	n, err := f.s.Backup(t.Context(), &buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("backup: %d bytes, %v (buffer %d)", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer s.Close()
	if u, err := s.GetUser(t.Context(), 42); err != nil || u.FirstName != "Budi" {
		t.Fatalf("user in backup: %+v, %v", u, err)
	}
	if !bytes.Equal(s.VisitorSalt(), f.s.VisitorSalt()) {
		t.Fatal("backup has another salt")
	}
	wantOnlyDatabase(t, f.path)
}

// wantOnlyDatabase fails unless the database file is alone in its directory: no backup snapshot is left.
func wantOnlyDatabase(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("files next to the database: %v", names)
	}
}

// cancelAfterWriter cancels its context at the first write, and fails that write as a reader that went
// away would not: it takes it, so only the context can stop the copy.
type cancelAfterWriter struct {
	cancel context.CancelFunc
	n      int
}

func (w *cancelAfterWriter) Write(p []byte) (int, error) {
	w.n++
	w.cancel()
	return len(p), nil
}

func TestBackupCancelledWhileCopying(t *testing.T) {
	f := newFixture(t)
	storetest.Seller(t, f.s, 10, "Toko")
	storetest.User(t, f.s, 42, "Budi")
	l := storetest.Join(t, f.s, 42, storetest.Product(t, f.s, 10, "Kopi", 1000).ID)
	var clicks []affiliate.Click
	for i := range 5000 { // a file of several copy buffers
		clicks = append(clicks, storetest.Click(l, fmt.Sprintf("c%05d", i), f.clock.Now(), uint64(i)))
	}
	storetest.Record(t, f.s, clicks...)
	ctx, cancel := context.WithCancel(t.Context())
	w := &cancelAfterWriter{cancel: cancel}
	_, err := f.s.Backup(ctx, w)
	if !errors.Is(err, context.Canceled) || w.n != 1 {
		t.Fatalf("backup cancelled after the first write: %v, %d writes", err, w.n)
	}
	wantOnlyDatabase(t, f.path)
}

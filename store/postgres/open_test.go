package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
)

// TestOpenMigratesAndRefusesNewer opens an empty schema (every migration runs), reopens it (none runs
// again), then marks the schema one version ahead of the binary and checks that Open refuses it.
func TestOpenMigratesAndRefusesNewer(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url, time.Now)
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != postgres.SchemaLatest() || v == 0 {
		t.Fatalf("schema version %d, %v; want %d", v, err, postgres.SchemaLatest())
	}
	salt := s.VisitorSalt()
	_ = s.Close()
	s = open(t, url, time.Now)
	if string(s.VisitorSalt()) != string(salt) || len(salt) != 32 {
		t.Fatal("the visitor salt changed across a reopen")
	}
	_ = s.Close()

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, v+1); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(t.Context(), url, store.Options{})
	if !errors.Is(err, postgres.ErrNewerSchema) {
		t.Fatalf("open of a newer schema: %v, want ErrNewerSchema", err)
	}
}

// TestConcurrentOpens opens one empty schema from three stores at once, as three instances starting
// together do: goose's lock lets one migrate, and all three get the same salt.
func TestConcurrentOpens(t *testing.T) {
	url := pgtest.URL(t)
	errs := make(chan error, 3)
	salts := make(chan string, 3)
	for range 3 {
		go func() {
			s, err := postgres.Open(t.Context(), url, store.Options{})
			if err == nil {
				salts <- string(s.VisitorSalt())
				_ = s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	if a, b, c := <-salts, <-salts, <-salts; a != b || b != c {
		t.Fatal("concurrent opens made different salts")
	}
}

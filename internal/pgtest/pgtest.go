// Package pgtest gives tests their own empty PostgreSQL schema on the server named by
// KERANJANG_TEST_POSTGRES (a postgres:// URL; .ci/run sets it to the machine's server). Without the
// variable the tests that need PostgreSQL are skipped, so `go test ./...` works with nothing but Go.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable that names the test server.
const Env = "KERANJANG_TEST_POSTGRES"

// Base returns the server URL from Env, skipping t when it is unset.
func Base(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set: PostgreSQL tests skipped (.ci/run sets it)")
	}
	return base
}

// URL creates a new schema for t on the server at Env and returns a URL whose connections use it (as
// their search_path), so that everything a test creates lives in its own schema. The schema is dropped
// when t ends. t is skipped when Env is unset.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	return WithSchema(t, base, schema)
}

// WithSchema returns base with its connections' search_path set to schema.
func WithSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

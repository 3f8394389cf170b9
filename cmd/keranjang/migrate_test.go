package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	storedump "github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/dump/dumptest"
	"github.com/keranjang/keranjang/store/postgres"
)

// runMain runs keranjang with args and env and returns its exit code, stdout and stderr.
func runMain(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	rc := Main(context.Background(), args, envMap(env), &stdout, &stderr)
	return rc, stdout.String(), stderr.String()
}

// filledBolt writes a bbolt database filled by dumptest.Fill at path, closed, and returns the fixture.
func filledBolt(t *testing.T, path string) dumptest.Fixture {
	t.Helper()
	clock := dumptest.NewClock()
	st, err := store.Open(path, store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fx := dumptest.Fill(t, st, clock)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestMigrateRefusals: every mistake gets a message that says what to do, before any database is
// touched.
func TestMigrateRefusals(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	seedLink(t, db)
	const pg = "postgres://keranjang:s3cret@127.0.0.1:1/none?password=s3cret"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no url", map[string]string{"KERANJANG_DB": db}, []string{"migrate"}, "name the PostgreSQL database"},
		{"not postgres", map[string]string{"KERANJANG_DB": db}, []string{"migrate", "mysql://x/y"}, "is not a postgres://"},
		{"both sources", nil, []string{"migrate", "--db", db, "--from", "x.dump", pg}, "not both"},
		{"env names postgres", map[string]string{"KERANJANG_DB": "postgres://a/b"}, []string{"migrate", pg}, "KERANJANG_DB names a PostgreSQL database"},
		{"flag names postgres", nil, []string{"migrate", "--db", "postgres://a/b", pg}, "--db (KERANJANG_DB) names a PostgreSQL"},
		{"no file", nil, []string{"migrate", "--db", filepath.Join(dir, "none.db"), pg}, "there is no database at"},
		{"no dump", nil, []string{"migrate", "--from", filepath.Join(dir, "none.dump"), pg}, "no such file"},
		{"not a dump", nil, []string{"migrate", "--from", db, pg}, "not a keranjang dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, stderr := runMain(t, tc.env, tc.args...)
			if rc != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, %q; want 1 and %q", rc, stderr, tc.want)
			}
			if strings.Contains(stderr, "s3cret") {
				t.Fatalf("the password was printed: %q", stderr)
			}
		})
	}

	// A database that a keranjang serve holds (here: this process) is not copied.
	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, _, stderr := runMain(t, map[string]string{"KERANJANG_DB": db}, "migrate", pg)
	if rc != 1 || !strings.Contains(stderr, "locked") || !strings.Contains(stderr, "stop keranjang serve first") {
		t.Fatalf("a locked database: exit %d, %q", rc, stderr)
	}

	rc, stdout, stderr := runMain(t, nil, "migrate", "--help")
	if rc != 0 || !strings.Contains(stdout+stderr, "usage: keranjang migrate") {
		t.Fatalf("help: exit %d", rc)
	}
	if _, out, _ := runMain(t, nil, "help"); !strings.Contains(out, "  migrate") {
		t.Fatalf("help does not list migrate:\n%s", out)
	}
}

// TestMigrateUnreachable: a destination that does not answer is an error naming it without its password.
func TestMigrateUnreachable(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	seedLink(t, db)
	rc, _, stderr := runMain(t, nil, "migrate", "--db", db, "postgres://keranjang:s3cret@127.0.0.1:1/none?connect_timeout=2")
	if rc != 1 || strings.Contains(stderr, "s3cret") || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("exit %d, %q", rc, stderr)
	}
}

// TestPrintMigration: rows that differ are marked and counted.
func TestPrintMigration(t *testing.T) {
	var out strings.Builder
	src := storedump.Counts{storedump.KindMeta: 1, storedump.KindUser: 3, storedump.KindClick: 10}
	dst := storedump.Counts{storedump.KindMeta: 1, storedump.KindUser: 3, storedump.KindClick: 9}
	n := printMigration(&out, src, dst, affiliate.Stats{Users: 3, Clicks: 10}, affiliate.Stats{Users: 3, Clicks: 10, Orphans: 1})
	if n != 2 {
		t.Fatalf("%d rows differ, want 2:\n%s", n, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		marked := strings.HasSuffix(line, "✗")
		if len(f) >= 3 && (f[0] == "click" || f[0] == "orphan") != marked {
			t.Errorf("line %q marked %v", line, marked)
		}
	}
}

// TestStatsOfDump: the figures a restore is checked against, read from a dump, are the ones the store
// it was made from gives.
func TestStatsOfDump(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	filledBolt(t, path)
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "k.dump"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, _ := storedump.NewWriter(f, storedump.Header{Source: "bbolt", Schema: store.SchemaLatest})
	if err := st.Export(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := dumpSource(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	want, _ := st.Stats(t.Context())
	if src.stats != want || !src.counts.Equal(w.Counts()) {
		t.Fatalf("from the dump %+v %v; the store %+v %v", src.stats, src.counts, want, w.Counts())
	}
}

// TestMigrateToPostgres copies a bbolt database filled with some of everything into PostgreSQL and
// compares every read method's answers; copies it again into the same database (refused: not empty);
// backs the PostgreSQL database up with keranjang backup and restores that with migrate --from into a
// second empty schema, which must answer alike too; and checks that each copy goes on as the original
// does.
func TestMigrateToPostgres(t *testing.T) {
	pgtest.Base(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	fx := filledBolt(t, db)
	url := pgtest.URL(t) // carries search_path
	rc, stdout, stderr := runMain(t, map[string]string{"KERANJANG_DB": db}, "migrate", url)
	if rc != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", rc, stdout, stderr)
	}
	if !strings.Contains(stdout, "every count agrees") || !strings.Contains(stdout, "click") || strings.Contains(stdout, "✗") {
		t.Fatalf("migrate printed:\n%s", stdout)
	}
	t.Logf("migrate printed:\n%s", stdout)
	rc, _, stderr = runMain(t, map[string]string{"KERANJANG_DB": db}, "migrate", url)
	if rc != 1 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("a second migrate into the same database: exit %d, %q", rc, stderr)
	}

	src, err := store.Open(db, store.Options{Now: fx.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(t.Context(), url, store.Options{Now: fx.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dumptest.Compare(t, fx, src, dst)

	backup := filepath.Join(dir, "pg.dump")
	rc, stdout, stderr = runMain(t, map[string]string{"KERANJANG_DB": url}, "backup", backup)
	if rc != 0 || !strings.Contains(stdout, "migrate --from") {
		t.Fatalf("backup of PostgreSQL: exit %d\n%s\n%s", rc, stdout, stderr)
	}
	url2 := pgtest.URL(t)
	rc, stdout, stderr = runMain(t, nil, "migrate", "--from", backup, url2)
	if rc != 0 || !strings.Contains(stdout, "every count agrees") || !strings.Contains(stdout, "a dump of postgres") {
		t.Fatalf("migrate --from: exit %d\n%s\n%s", rc, stdout, stderr)
	}
	restored, err := postgres.Open(t.Context(), url2, store.Options{Now: fx.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	dumptest.Compare(t, fx, src, restored)

	// The copies go on as the original does: ids from the sequences, clicks judged by the visitor marks.
	copyPath := filepath.Join(dir, "k2.db")
	if err := copyBolt(src, copyPath); err != nil {
		t.Fatal(err)
	}
	src2, err := store.Open(copyPath, store.Options{Now: fx.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	dumptest.CompareNext(t, fx, src, dst)
	dumptest.CompareNext(t, fx, src2, restored)
}

// copyBolt writes a copy of the bbolt database st to dst through its Backup.
func copyBolt(st *store.Store, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = st.Backup(context.Background(), f)
	return err
}

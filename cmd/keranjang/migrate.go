package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store"
	storedump "github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/postgres"
)

// migrateUsage is the help of keranjang migrate.
const migrateUsage = `usage: keranjang migrate [--db file | --from dump] <postgres-url>

Copies a bbolt database (--db, default KERANJANG_DB) into an empty PostgreSQL database, then checks
that the destination holds as many records of every kind as the source and that both give the same
/stats figures. It prints a table of the counts and exits 1 when any of them differs.

The bbolt file is only read, and must not be in use: stop keranjang serve first, so that nothing
changes while it is copied. It is exported to a portable dump in a temporary file ($TMPDIR), which is
then loaded into the destination in one transaction: a migration that fails leaves the destination as
it was. The destination gets its tables first (as keranjang serve makes them) and must hold no data.

With --from, a dump is restored instead of a bbolt file: what keranjang backup (or GET /admin/backup)
writes for a PostgreSQL database. That is how such a backup is brought back, into an empty database.

The URL takes pgx's parameters (sslmode, search_path, ...). Its password is never printed.

flags:
`

// migrate copies a bbolt database, or restores a dump, into an empty PostgreSQL database and checks the
// counts.
func migrate(ctx context.Context, args []string, lookupEnv lookupFunc, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("keranjang migrate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	defDB := "keranjang.db"
	if v, ok := lookupEnv("KERANJANG_DB"); ok && strings.TrimSpace(v) != "" {
		defDB = strings.TrimSpace(v)
	}
	db := fset.String("db", defDB, "the bbolt database file to copy ($KERANJANG_DB)")
	from := fset.String("from", "", "a dump to restore instead (written by keranjang backup of a PostgreSQL database)")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), migrateUsage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fset.NArg() != 1 {
		return errors.New("migrate: name the PostgreSQL database: keranjang migrate [--db file | --from dump] <postgres-url>")
	}
	dest := fset.Arg(0)
	if !isPostgresURL(dest) {
		return errors.New("migrate: the destination is not a postgres:// (or postgresql://) URL")
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var src *migrationSource
	var err error
	switch {
	case given["db"] && given["from"]:
		return errors.New("migrate: give --db (a bbolt file) or --from (a dump), not both")
	case *from != "":
		src, err = dumpSource(*from)
	default:
		name := "KERANJANG_DB"
		if given["db"] {
			name = "--db (KERANJANG_DB)"
		}
		if isPostgresURL(*db) {
			return fmt.Errorf("migrate: %s names a PostgreSQL database; name the bbolt file to copy with --db", name)
		}
		src, err = bboltSource(ctx, name, *db)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.close()

	dst, err := postgres.Open(ctx, dest, store.Options{})
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", displayDB(dest), err)
	}
	defer dst.Close()
	if _, err := src.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	r, err := storedump.NewReader(src.file)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", src.name, err)
	}
	res, err := dst.Import(ctx, r)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", displayDB(dest), err)
	}
	held, err := dst.DumpCounts(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", displayDB(dest), err)
	}
	dstStats, err := dst.Stats(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", displayDB(dest), err)
	}
	fmt.Fprintf(stdout, "migrate: copied %s to %s\n\n", src.name, displayDB(dest))
	if res.NULs > 0 {
		fmt.Fprintf(stdout, "migrate: %d records held NUL characters in their text, which PostgreSQL cannot store: "+
			"they were dropped\n\n", res.NULs)
	}
	if differ := printMigration(stdout, src.counts, held, src.stats, dstStats); differ > 0 {
		return fmt.Errorf("migrate: %d counts differ between the source and the destination (marked ✗ above); "+
			"the destination holds the copy as it is: empty it before you try again", differ)
	}
	fmt.Fprintln(stdout, "\nmigrate: every count agrees")
	return nil
}

// migrationSource is a dump in a local file, ready to load, with what the source held.
type migrationSource struct {
	name   string           // what the output calls the source
	file   *os.File         // the dump
	counts storedump.Counts // its items by kind
	stats  affiliate.Stats
	close  func()
}

// bboltSource exports the bbolt file at path into a temporary dump. The file is opened read-only:
// a running keranjang serve holds its lock, and must be stopped first.
func bboltSource(ctx context.Context, name, path string) (*migrationSource, error) {
	st, err := store.Open(path, store.Options{ReadOnly: true, Timeout: time.Second})
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("%s: %w; stop keranjang serve first: a database is copied while nothing changes it", name, err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: there is no database at %s", name, path)
	case err != nil:
		return nil, dbError(name, err)
	}
	defer st.Close()
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "keranjang-migrate-*.dump")
	if err != nil {
		return nil, err
	}
	src := &migrationSource{name: fmt.Sprintf("%s (bbolt, schema %d)", path, store.SchemaLatest), file: f, stats: stats,
		close: func() {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}}
	w, err := storedump.NewWriter(f, storedump.Header{Source: "bbolt", Schema: store.SchemaLatest})
	if err == nil {
		err = st.Export(ctx, w)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	src.counts = w.Counts()
	return src, nil
}

// dumpSource opens a dump and reads it once through, which checks it whole and gives the figures the
// restored database must show.
func dumpSource(path string) (*migrationSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := storedump.NewReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	stats, err := statsOf(r)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h := r.Header()
	return &migrationSource{
		name:   fmt.Sprintf("%s (a dump of %s, schema %d, made %s)", path, h.Source, h.Schema, h.CreatedAt.Format(time.RFC3339)),
		file:   f,
		counts: r.Counts(),
		stats:  stats,
		close:  func() { _ = f.Close() },
	}, nil
}

// statsOf reads a dump to its end and returns the /stats figures of the database it holds, as a store
// counts them (affiliate.Stats).
func statsOf(r *storedump.Reader) (affiliate.Stats, error) {
	var st affiliate.Stats
	for {
		it, err := r.Next()
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		switch v := it.(type) {
		case storedump.Meta:
			st.Clicks, st.Bots, st.Orphans, st.Outbox = v.Clicks, v.Bots, v.Orphans, v.Outbox.Queued
		case storedump.User:
			st.Users++
			if v.Reachable {
				st.Reachable++
			}
			if v.Seller {
				st.Sellers++
			}
		case storedump.Application:
			if v.Status == affiliate.AppPending {
				st.Pending++
			}
		case storedump.Product:
			st.Products++
		case storedump.Link:
			st.Links++
		case storedump.Order:
			st.Orders++
		}
	}
}

// statFields are the /stats figures in the order the table shows them.
var statFields = []struct {
	name string
	get  func(affiliate.Stats) int64
}{
	{"users", func(s affiliate.Stats) int64 { return s.Users }},
	{"reachable users", func(s affiliate.Stats) int64 { return s.Reachable }},
	{"sellers", func(s affiliate.Stats) int64 { return s.Sellers }},
	{"pending applications", func(s affiliate.Stats) int64 { return s.Pending }},
	{"products", func(s affiliate.Stats) int64 { return s.Products }},
	{"links", func(s affiliate.Stats) int64 { return s.Links }},
	{"clicks", func(s affiliate.Stats) int64 { return s.Clicks }},
	{"bot visits", func(s affiliate.Stats) int64 { return s.Bots }},
	{"orphan visits", func(s affiliate.Stats) int64 { return s.Orphans }},
	{"orders", func(s affiliate.Stats) int64 { return s.Orders }},
	{"outbox queued", func(s affiliate.Stats) int64 { return s.Outbox }},
}

// printMigration prints the records of every kind and the /stats figures of the source and the
// destination side by side, marking the rows that differ, and returns how many do.
func printMigration(w io.Writer, src, dst storedump.Counts, srcStats, dstStats affiliate.Stats) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	differ := 0
	row := func(name string, a, b int64) {
		mark := ""
		if a != b {
			mark = "✗"
			differ++
		}
		fmt.Fprintf(tw, "%s\t%11d\t%11d\t%s\n", name, a, b, mark)
	}
	fmt.Fprintf(tw, "records\t%11s\t%11s\t\n", "source", "destination")
	for _, k := range storedump.Kinds() {
		row(string(k), src[k], dst[k])
	}
	fmt.Fprintln(tw, "\t\t\t")
	fmt.Fprintf(tw, "/stats\t%11s\t%11s\t\n", "source", "destination")
	for _, f := range statFields {
		row(f.name, f.get(srcStats), f.get(dstStats))
	}
	_ = tw.Flush()
	return differ
}

// backupPostgres is keranjang backup of a PostgreSQL database: a dump written by the store's Backup into
// out (through writeChecked), read back whole before it takes the name. A running keranjang serve is
// no obstacle: the dump is one snapshot and holds up no writer.
func backupPostgres(ctx context.Context, cfg Config, out string, stdout io.Writer) error {
	st, err := postgres.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.name("KERANJANG_DB"), err)
	}
	defer st.Close()
	n, schema, err := writeChecked(ctx, out, st.Backup, checkDumpCopy)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup: wrote %d bytes to %s from %s (a dump of schema %d; keranjang migrate --from restores it)\n",
		n, out, displayDB(cfg.DB), schema)
	return nil
}

// checkDumpCopy reads the dump at path to its end (which checks its trailer and its checksum) and
// returns the schema its header names.
func checkDumpCopy(_ context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := storedump.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("the copy does not read: %w", err)
	}
	for {
		_, err := r.Next()
		if err == io.EOF {
			return r.Header().Schema, nil
		}
		if err != nil {
			return 0, fmt.Errorf("the copy does not read: %w", err)
		}
	}
}

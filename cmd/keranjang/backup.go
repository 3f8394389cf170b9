package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/keranjang/keranjang/store"
)

// backupUsage is the help of keranjang backup.
const backupUsage = `usage: keranjang backup [flags] <file>

Writes a consistent copy of the database (KERANJANG_DB) to file, then checks that the copy opens.
When no keranjang serve holds the database, the file is read directly. When one does (its lock is
held), the copy is fetched from it over HTTP, GET /admin/backup on KERANJANG_HTTP_ADDR with
KERANJANG_ADMIN_TOKEN, which must then be set to the server's admin token.
When KERANJANG_DB is a PostgreSQL URL, the copy is a portable dump of the database (pg_dump is the
tool for large ones); keranjang migrate --from restores it into an empty database.

flags (each also an environment variable; the ones backup uses are --db, --http-addr, --admin-token):
`

// backup writes a consistent copy of the database to the file named by the one argument.
func backup(ctx context.Context, args []string, lookupEnv lookupFunc, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfigArgs("keranjang backup", args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("backup: name one file to write: keranjang backup [flags] <file>")
	}
	out := rest[0]
	if sameFile(out, cfg.DB) {
		return fmt.Errorf("backup: %s is the database itself (%s); name another file", out, cfg.name("KERANJANG_DB"))
	}

	if isPostgresURL(cfg.DB) {
		return backupPostgres(ctx, cfg, out, stdout)
	}
	var source string
	var write func(context.Context, io.Writer) (int64, error)
	st, err := store.Open(cfg.DB, store.Options{ReadOnly: true, Timeout: time.Second})
	switch {
	case err == nil:
		defer st.Close()
		source, write = cfg.DB, st.Backup
	case errors.Is(err, store.ErrLocked):
		if !cfg.AdminToken.IsSet() {
			return fmt.Errorf("%s: %w; to copy it from the running server, set KERANJANG_ADMIN_TOKEN "+
				"(and KERANJANG_HTTP_ADDR) as it has them, or stop it first", cfg.name("KERANJANG_DB"), err)
		}
		base, err := hostURL(cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.name("KERANJANG_HTTP_ADDR"), err)
		}
		source = base + "/admin/backup"
		write = func(ctx context.Context, w io.Writer) (int64, error) {
			return fetchBackup(ctx, source, cfg.AdminToken.Reveal(), w)
		}
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: there is no database at %s", cfg.name("KERANJANG_DB"), cfg.DB)
	default:
		return dbError(cfg.name("KERANJANG_DB"), err)
	}
	n, schema, err := writeChecked(ctx, out, write, checkBoltCopy)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup: wrote %d bytes to %s from %s (schema %d)\n", n, out, source, schema)
	return nil
}

// fetchBackup streams GET url with the admin token into w.
func fetchBackup(ctx context.Context, url, token string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// No overall timeout: a large database takes a while. The server must answer within a minute.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, ResponseHeaderTimeout: time.Minute}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("%s refused KERANJANG_ADMIN_TOKEN (401): use the server's admin token", url)
	case http.StatusNotFound:
		return 0, fmt.Errorf("%s answered 404: the server has no KERANJANG_ADMIN_TOKEN, so its admin routes are off", url)
	default:
		return 0, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", url, err)
	}
	return n, nil
}

// writeChecked writes through write into a temporary file next to path, syncs it, checks it with check
// (which reports its schema), and only then renames it to path: a failed backup never leaves a partial
// file under the name asked for.
func writeChecked(ctx context.Context, path string, write func(context.Context, io.Writer) (int64, error),
	check func(ctx context.Context, path string) (int, error)) (n int64, schema int, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".partial-*")
	if err != nil {
		return 0, 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	n, err = write(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, 0, err
	}
	if schema, err = check(ctx, tmp); err != nil {
		return n, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, 0, err
	}
	return n, schema, nil
}

// checkBoltCopy checks that the bbolt file at path opens and reads, and returns its schema.
func checkBoltCopy(ctx context.Context, path string) (int, error) {
	st, err := store.Open(path, store.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, fmt.Errorf("the copy does not open: %w", err)
	}
	schema, err := st.SchemaVersion(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("the copy does not read: %w", err)
	}
	return schema, nil
}

// sameFile reports whether a and b name the same file (or the same path, when neither exists yet).
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	pa, _ := filepath.Abs(a)
	pb, _ := filepath.Abs(b)
	return pa == pb
}

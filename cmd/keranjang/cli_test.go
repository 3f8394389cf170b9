package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/syncbuf"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
)

// serveEnv is the environment of an in-process keranjang serve against fake on a database in dir.
func serveEnv(fake *tgfake.Server, db string, extra map[string]string) map[string]string {
	env := map[string]string{
		"KERANJANG_BOT_TOKEN": fake.Token(), "KERANJANG_BOT_API_URL": fake.URL(), "KERANJANG_DB": db,
		"KERANJANG_HTTP_ADDR": "127.0.0.1:0", "KERANJANG_METRICS_ADDR": "127.0.0.1:0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestCLIHelpListsSubcommands(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out strings.Builder
		if code := Main(context.Background(), args, envMap(nil), &out, &out); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, sub := range []string{"serve", "demo", "healthcheck", "version", "backup"} {
			if !strings.Contains(out.String(), "  "+sub) {
				t.Errorf("%v does not list %s:\n%s", args, sub, out.String())
			}
		}
		if strings.Contains(out.String(), "-bot-token") {
			t.Errorf("%v printed serve's flags instead of the commands", args)
		}
	}
}

func TestCLISubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"healthcheck", "--help"}, "usage: keranjang healthcheck [url]"},
		{[]string{"backup", "--help"}, "usage: keranjang backup [flags] <file>"},
		{[]string{"serve", "-h"}, "-metrics-addr"},
		{[]string{"version", "--help"}, "usage: keranjang version"},
	} {
		var out strings.Builder
		if code := Main(context.Background(), tc.args, envMap(nil), &out, &out); code != 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d, output %q; want 0 and %q", tc.args, code, out.String(), tc.want)
		}
	}
}

// TestCLIErrorsPrintedOnce checks that a start-up error reaches stderr exactly once.
func TestCLIErrorsPrintedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"unknown flag", []string{"serve", "--nope"}, nil, 2, "flag provided but not defined: -nope"},
		{"bad flag value", []string{"serve", "--send-rate", "lots"}, map[string]string{"KERANJANG_BOT_TOKEN": "1:a"}, 1, "--send-rate (KERANJANG_SEND_RATE): must be"},
		{"bad env value", []string{"serve"}, map[string]string{"KERANJANG_SEND_RATE": "lots"}, 1, "KERANJANG_SEND_RATE: must be"},
		{"missing token", []string{"serve"}, nil, 1, "KERANJANG_BOT_TOKEN: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			code := Main(context.Background(), tc.args, envMap(tc.env), &out, &out)
			if code != tc.code || strings.Count(out.String(), tc.want) != 1 {
				t.Fatalf("exit %d, output %q; want %d and %q exactly once", code, out.String(), tc.code, tc.want)
			}
		})
	}
}

// TestServeTruncatedDatabase runs serve in this process on a half-truncated file: it must exit 1 with a
// message naming KERANJANG_DB and the way to restore, once, instead of dying with SIGBUS.
func TestServeTruncatedDatabase(t *testing.T) {
	fake := tgfake.New()
	defer fake.Close()
	db := filepath.Join(t.TempDir(), "k.db")
	seedLink(t, db)
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	// Half the file, but never more than four pages: bbolt grows a small file ahead of its pages in use, so
	// that half of it may still hold every page the header counts.
	if err := os.Truncate(db, min(fi.Size()/2, 4*int64(os.Getpagesize()))); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"serve"}, {"serve", "--db", db}} {
		var out syncbuf.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		code := Main(ctx, args, envMap(serveEnv(fake, db, nil)), &out, &out)
		cancel()
		msg := out.String()
		if code != 1 || !strings.Contains(msg, "KERANJANG_DB") || !strings.Contains(msg, "truncated") ||
			!strings.Contains(msg, "keranjang backup") || strings.Count(msg, "truncated") != 1 {
			t.Fatalf("%v: exit %d, output:\n%s", args, code, msg)
		}
		if len(args) > 1 && !strings.Contains(msg, "--db (KERANJANG_DB)") {
			t.Fatalf("the error does not name the flag --db:\n%s", msg)
		}
	}
}

// TestServeTokenRefused: a token Telegram answers 401 for says to check KERANJANG_BOT_TOKEN.
func TestServeTokenRefused(t *testing.T) {
	fake := tgfake.New()
	defer fake.Close()
	env := serveEnv(fake, filepath.Join(t.TempDir(), "k.db"), map[string]string{"KERANJANG_BOT_TOKEN": "12345:wrongToken"})
	var out syncbuf.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Main(ctx, nil, envMap(env), &out, &out)
	if code != 1 || !strings.Contains(out.String(), "KERANJANG_BOT_TOKEN: Telegram refused the token (401)") ||
		strings.Contains(out.String(), "wrongToken") || strings.Count(out.String(), "refused the token") != 1 {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}
}

// TestServeStartupWarningsAndSummary runs serve with risky settings and checks the start-up log: one
// warning per risk naming its variable, and one configuration line without secrets.
func TestServeStartupWarningsAndSummary(t *testing.T) {
	fake := tgfake.New()
	defer fake.Close()
	const adminToken = "admin-token-very-secret-123"
	env := serveEnv(fake, filepath.Join(t.TempDir(), "k.db"), map[string]string{
		"KERANJANG_ADMIN_TOKEN": adminToken, "KERANJANG_TIMEZONE": "WITA",
	})
	var out syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- Main(ctx, []string{"serve"}, envMap(env), io.Discard, &out) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), `"message":"ready"`) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve never became ready:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	logs := out.String()
	for _, want := range []string{
		`"level":"warn","variable":"KERANJANG_PUBLIC_URL"`,
		`points at this machine`,
		`"level":"warn","variable":"KERANJANG_ADMIN_IDS"`,
		`"bot_token":"set"`, `"admin_token":"set"`, `"webhook_secret":"unset"`,
		`"timezone":"Asia/Makassar"`, `"message":"configuration"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %s", want)
		}
	}
	if strings.Contains(logs, adminToken) || strings.Contains(logs, fake.Token()) {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
}

func TestConfigWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // variables warned about
	}{
		{"defaults", nil, []string{"KERANJANG_PUBLIC_URL", "KERANJANG_ADMIN_IDS"}},
		{"safe", map[string]string{"KERANJANG_PUBLIC_URL": "https://k.example.id", "KERANJANG_ADMIN_IDS": "1"}, nil},
		{"auto approval needs no admin", map[string]string{"KERANJANG_PUBLIC_URL": "https://k.example.id", "KERANJANG_SELLER_APPROVAL": "auto"}, nil},
		{"plain http", map[string]string{"KERANJANG_PUBLIC_URL": "http://k.example.id", "KERANJANG_ADMIN_IDS": "1"}, []string{"KERANJANG_PUBLIC_URL"}},
		{"loopback ip", map[string]string{"KERANJANG_PUBLIC_URL": "https://127.0.0.1:8443", "KERANJANG_ADMIN_IDS": "1"}, []string{"KERANJANG_PUBLIC_URL"}},
		{"ipv6 loopback", map[string]string{"KERANJANG_PUBLIC_URL": "http://[::1]:8080", "KERANJANG_ADMIN_IDS": "1"}, []string{"KERANJANG_PUBLIC_URL"}},
		{"metrics on every interface", map[string]string{"KERANJANG_PUBLIC_URL": "https://k.example.id", "KERANJANG_ADMIN_IDS": "1", "KERANJANG_METRICS_ADDR": ":9464"}, []string{"KERANJANG_METRICS_ADDR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig("t", nil, envMap(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range c.warnings() {
				if !strings.Contains(w.msg, w.variable) {
					t.Errorf("warning %q does not name %s", w.msg, w.variable)
				}
				got = append(got, w.variable)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("warned about %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigMetricsAddr(t *testing.T) {
	c, err := parseConfig("t", nil, envMap(nil), io.Discard)
	if err != nil || c.MetricsAddr != "127.0.0.1:9464" {
		t.Fatalf("default %q, %v", c.MetricsAddr, err)
	}
	c, err = parseConfig("t", nil, envMap(map[string]string{"KERANJANG_METRICS_ADDR": ""}), io.Discard)
	if err != nil || c.MetricsAddr != "" {
		t.Fatalf("an empty KERANJANG_METRICS_ADDR must turn metrics off: %q, %v", c.MetricsAddr, err)
	}
	c, err = parseConfig("t", []string{"--metrics-addr="}, envMap(nil), io.Discard)
	if err != nil || c.MetricsAddr != "" {
		t.Fatalf("an empty --metrics-addr must turn metrics off: %q, %v", c.MetricsAddr, err)
	}
	for _, bad := range []string{"9464", "127.0.0.1:x", ":8080"} {
		_, err = parseConfig("t", nil, envMap(map[string]string{"KERANJANG_METRICS_ADDR": bad}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "KERANJANG_METRICS_ADDR") {
			t.Errorf("%q: error %v does not name KERANJANG_METRICS_ADDR", bad, err)
		}
	}
	_, err = parseConfig("t", []string{"--metrics-addr", "nope"}, envMap(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr (KERANJANG_METRICS_ADDR)") {
		t.Errorf("error %v does not name the flag", err)
	}
}

func TestConfigTimeZoneLikeTimezoneCommand(t *testing.T) {
	for in, want := range map[string]string{"WIB": "Asia/Jakarta", "wita": "Asia/Makassar", "WIT": "Asia/Jayapura", "Asia/Tokyo": "Asia/Tokyo"} {
		c, err := parseConfig("t", nil, envMap(map[string]string{"KERANJANG_TIMEZONE": in}), io.Discard)
		if err != nil || c.TimeZone.String() != want {
			t.Errorf("%s: %v, %v; want %s", in, c.TimeZone, err, want)
		}
	}
	for _, bad := range []string{"Local", "XYZ"} {
		if _, err := parseConfig("t", nil, envMap(map[string]string{"KERANJANG_TIMEZONE": bad}), io.Discard); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestConfigNoAdmins(t *testing.T) {
	c, _ := parseConfig("t", nil, envMap(nil), io.Discard)
	if !c.NoAdmins {
		t.Error("no KERANJANG_ADMIN_IDS: NoAdmins must be true")
	}
	c, _ = parseConfig("t", nil, envMap(map[string]string{"KERANJANG_ADMIN_IDS": "5"}), io.Discard)
	if c.NoAdmins {
		t.Error("with an admin: NoAdmins must be false")
	}
}

func TestConsoleLogsWithoutTerminalHaveNoColour(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(Config{LogFormat: "console", LogLevel: zerolog.InfoLevel}, &buf)
	log.Warn().Str("variable", "X").Msg("hello")
	if bytes.Contains(buf.Bytes(), []byte("\x1b[")) || !strings.Contains(buf.String(), "hello") {
		t.Fatalf("console log to a non-terminal has colour codes: %q", buf.String())
	}
}

// TestMetricsListener: /metrics answers on KERANJANG_METRICS_ADDR only, with the build info, and the
// public listener answers 404.
func TestMetricsListener(t *testing.T) {
	e := startE2E(t, nil, Options{})
	resp, err := e.web.Get(e.sb.baseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %d, want 404", resp.StatusCode)
	}
	if v := e.metric(t, "keranjang_build_info", `go_version="go`); v != 1 {
		t.Fatalf("keranjang_build_info = %v", v)
	}
}

func TestBackupOfStoppedDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	code := seedLink(t, db)
	out := filepath.Join(dir, "copy.db")
	var stdout, stderr strings.Builder
	if rc := Main(context.Background(), []string{"backup", out}, envMap(map[string]string{"KERANJANG_DB": db}), &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("schema %d", store.SchemaLatest)) {
		t.Errorf("output %q does not give the schema", stdout.String())
	}
	st, err := store.Open(out, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetLink(t.Context(), code); err != nil {
		t.Fatalf("the copy lacks the link: %v", err)
	}
	var errOut strings.Builder
	if rc := Main(context.Background(), []string{"backup", db}, envMap(map[string]string{"KERANJANG_DB": db}), io.Discard, &errOut); rc != 1 ||
		!strings.Contains(errOut.String(), "is the database itself") {
		t.Fatalf("backup onto the database: exit %d, %q", rc, errOut.String())
	}
	if rc := Main(context.Background(), []string{"backup", out}, envMap(map[string]string{"KERANJANG_DB": filepath.Join(dir, "none.db")}), io.Discard, &errOut); rc != 1 ||
		!strings.Contains(errOut.String(), "KERANJANG_DB: there is no database") {
		t.Fatalf("backup of a missing file: exit %d, %q", rc, errOut.String())
	}
}

// TestBackupWhileServing: the running server holds the lock, so backup fetches GET /admin/backup with
// the admin token; without the token it says what to do.
func TestBackupWhileServing(t *testing.T) {
	const token = "admin-token-for-backup-0123"
	e := startE2E(t, map[string]string{"KERANJANG_ADMIN_TOKEN": token}, Options{})
	env := map[string]string{"KERANJANG_DB": e.sb.cfg.DB, "KERANJANG_HTTP_ADDR": e.sb.app.HTTPAddr()}
	out := filepath.Join(t.TempDir(), "copy.db")

	var stderr strings.Builder
	if rc := Main(context.Background(), []string{"backup", out}, envMap(env), io.Discard, &stderr); rc != 1 ||
		!strings.Contains(stderr.String(), "another keranjang serve") || !strings.Contains(stderr.String(), "KERANJANG_ADMIN_TOKEN") {
		t.Fatalf("without a token: exit %d, %q", rc, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed backup left a file")
	}
	env["KERANJANG_ADMIN_TOKEN"] = token
	var stdout strings.Builder
	stderr.Reset()
	if rc := Main(context.Background(), []string{"backup", out}, envMap(env), &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	if !strings.Contains(stdout.String(), "/admin/backup") {
		t.Errorf("output %q does not say the copy came over HTTP", stdout.String())
	}
	st, err := store.Open(out, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

func TestVersionFromLdflags(t *testing.T) {
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "v1.4.0-3-gabc1234-dirty", "abc1234def5678901"
	if got := versionString(); got != "v1.4.0-3-gabc1234-dirty" {
		t.Errorf("git describe already names the revision: %q", got)
	}
	version = "v1.4.0"
	if got := versionString(); got != "v1.4.0 (abc1234def56)" {
		t.Errorf("versionString = %q", got)
	}
	if b := readBuildInfo(); b.Version != "v1.4.0" || b.Revision != "abc1234def56" || !strings.HasPrefix(b.GoVersion, "go") {
		t.Errorf("build info %+v", b)
	}
}

// Command keranjang runs the Keranjang affiliate bot: `keranjang serve` (the default) runs the bot, the
// HTTP server and the scheduler; `keranjang demo` shows the whole system against a built-in fake Bot API;
// `keranjang healthcheck [url]` probes /healthz for container health checks; `keranjang backup <file>`
// writes a consistent copy of the database; `keranjang migrate <postgres-url>` copies a bbolt database
// into an empty PostgreSQL one; `keranjang version` prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zone data inside the binary: the distroless image and small hosts may lack it

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/postgres"
)

// version and revision are set at build time with -ldflags "-X main.version=… -X main.revision=…" (the
// Dockerfile passes git describe); otherwise the module version and the VCS stamp of the build are used.
var (
	version  = ""
	revision = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// Main runs a subcommand and returns the exit code: 0, 1 for an error (printed once, on stderr) and 2 for
// a command-line mistake. Everything external is a parameter so tests can run it in-process.
func Main(ctx context.Context, args []string, lookupEnv lookupFunc, stdout, stderr io.Writer) int {
	sub := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			sub, args = "help", args[1:]
		default:
			if !strings.HasPrefix(args[0], "-") {
				sub, args = args[0], args[1:]
			}
		}
	}
	var err error
	switch sub {
	case "serve":
		err = serve(ctx, args, lookupEnv, stderr)
	case "demo":
		err = demo(ctx, args, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, args, lookupEnv, stderr)
	case "backup":
		err = backup(ctx, args, lookupEnv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, args, lookupEnv, stdout, stderr)
	case "version":
		err = printVersion(args, stdout, stderr)
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "keranjang: unknown command %q\n", sub)
		usage(stderr)
		return 2
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		// The flag package has printed the mistake and the usage already.
		return 2
	default:
		fmt.Fprintln(stderr, "keranjang:", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: keranjang [command] [flags] [arguments]

commands:
  serve              run the bot, the HTTP server and the scheduler (default)
  demo               run the whole system against a built-in fake Bot API and print the conversation
  healthcheck [url]  exit 0 when /healthz answers (default URL from KERANJANG_HTTP_ADDR)
  backup <file>      write a consistent copy of the database (KERANJANG_DB) to file
  migrate <url>      copy the bbolt database (KERANJANG_DB) into an empty PostgreSQL database
  version            print the version and the database schema this binary writes
  help               print this text

Every KERANJANG_* variable is also a flag: keranjang serve --help lists them.
keranjang <command> --help describes one command.
`)
}

// buildInfo is what the binary knows about its own build (keranjang version, keranjang_build_info).
type buildInfo struct {
	Version, Revision, GoVersion string
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Revision == "" {
				b.Revision = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if len(b.Revision) > 12 {
		b.Revision = b.Revision[:12]
	}
	return b
}

func versionString() string {
	b := readBuildInfo()
	if b.Revision != "" && !strings.Contains(b.Version, b.Revision[:min(7, len(b.Revision))]) {
		return b.Version + " (" + b.Revision + ")"
	}
	return b.Version
}

func printVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keranjang version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: keranjang version\n\nPrints the version, the Go version and the database schemas this binary writes (bbolt, PostgreSQL).")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	b := readBuildInfo()
	fmt.Fprintf(stdout, "keranjang %s %s schema %d postgres-schema %d\n", versionString(), b.GoVersion, store.SchemaLatest,
		postgres.SchemaLatest())
	return nil
}

// serve runs everything until ctx ends, then shuts down in order.
func serve(ctx context.Context, args []string, lookupEnv lookupFunc, stderr io.Writer) error {
	cfg, err := parseConfig("keranjang serve", args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	if !cfg.BotToken.IsSet() {
		return errors.New("KERANJANG_BOT_TOKEN: is required (create a bot with @BotFather)")
	}
	log := newLogger(cfg, stderr)
	log.Info().Str("version", versionString()).Msg("starting")
	logConfig(log, cfg)
	for _, w := range cfg.warnings() {
		log.Warn().Str("variable", w.variable).Msg(w.msg)
	}
	var opt Options
	if err := clusterFromEnv(lookupEnv, &opt); err != nil {
		return err
	}
	// A start-up error is returned, not logged: Main prints it once.
	app, err := Start(ctx, cfg, log, opt)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := app.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// newLogger builds the one root logger. The console format is coloured only on a terminal.
func newLogger(cfg Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime, NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(cfg.LogLevel).With().Timestamp().Logger()
}

// isTerminal reports whether w is a terminal (for colour codes).
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// healthcheck exits 0 when /healthz answers 200.
func healthcheck(ctx context.Context, args []string, lookupEnv lookupFunc, stderr io.Writer) error {
	fs := flag.NewFlagSet("keranjang healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: keranjang healthcheck [url]

Exits 0 when url answers 200, 1 otherwise (for container health checks). The default url is
http://127.0.0.1:<port>/healthz with the port of KERANJANG_HTTP_ADDR (default :8080).
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	url := fs.Arg(0)
	if url == "" {
		addr, _ := lookupEnv("KERANJANG_HTTP_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		base, err := hostURL(addr)
		if err != nil {
			return fmt.Errorf("KERANJANG_HTTP_ADDR: %w", err)
		}
		url = base + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// hostURL is the base URL of a keranjang serve on this machine listening on addr (KERANJANG_HTTP_ADDR):
// a wildcard host becomes 127.0.0.1.
func hostURL(addr string) (string, error) {
	host, port, err := splitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" || host == "0.0.0.0" || host == "[::]" {
		host = "127.0.0.1"
	}
	return "http://" + host + ":" + port, nil
}

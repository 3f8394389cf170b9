// Command keranjang runs the Keranjang affiliate bot: `keranjang serve` (the default) runs the bot, the
// HTTP server and the scheduler; `keranjang demo` shows the whole system against a built-in fake Bot API;
// `keranjang healthcheck [url]` probes /healthz for container health checks; `keranjang version` prints
// the version.
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
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // zone data inside the binary: the distroless image and small hosts may lack it

	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise the module version is used.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Main runs a subcommand and returns the exit code. Everything external is a parameter so tests can run
// it in-process.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	sub := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var err error
	switch sub {
	case "serve":
		err = serve(ctx, args, getenv, stderr)
	case "demo":
		err = demo(ctx, args, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, args, getenv)
	case "version":
		fmt.Fprintln(stdout, "keranjang", versionString())
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "keranjang: unknown command %q\n", sub)
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "keranjang:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: keranjang [command] [flags]

commands:
  serve         run the bot, the HTTP server and the scheduler (default)
  demo          run the whole system against a built-in fake Bot API and print the conversation
  healthcheck   exit 0 when /healthz answers (default URL from KERANJANG_HTTP_ADDR)
  version       print the version

Every KERANJANG_* variable is also a flag: keranjang serve --help lists them.
`)
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	return "(devel)"
}

// serve runs everything until ctx ends, then shuts down in order.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig("keranjang serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if !cfg.BotToken.IsSet() {
		return errors.New("KERANJANG_BOT_TOKEN: is required (create a bot with @BotFather)")
	}
	log := newLogger(cfg, stderr)
	log.Info().Str("version", versionString()).Str("db", cfg.DB).Str("http_addr", cfg.HTTPAddr).
		Bool("webhook", cfg.WebhookURL != "").Msg("starting")
	app, err := Start(ctx, cfg, log, Options{})
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		return err
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := app.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("shutdown")
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

// newLogger builds the one root logger.
func newLogger(cfg Config, w io.Writer) zerolog.Logger {
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	}
	return zerolog.New(w).Level(cfg.LogLevel).With().Timestamp().Logger()
}

// healthcheck exits 0 when /healthz answers 200.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	url := ""
	if len(args) > 0 {
		url = args[0]
	} else {
		addr := getenv("KERANJANG_HTTP_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			return err
		}
		if host == "" || host == "0.0.0.0" || host == "[::]" {
			host = "127.0.0.1"
		}
		url = "http://" + host + ":" + port + "/healthz"
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

package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// sandbox is the whole system running against the built-in fake Bot API with a database in dir: what
// `keranjang demo` shows and what the end-to-end tests drive.
type sandbox struct {
	fake *tgfake.Server
	app  *App
	cfg  Config
	log  zerolog.Logger
	opt  Options
}

// newSandbox starts a fake Bot API and the app. env adds or overrides configuration variables; fakeOpts
// configure the fake (for example the client that delivers webhook updates).
func newSandbox(ctx context.Context, dir string, log zerolog.Logger, env map[string]string, opt Options, fakeOpts ...tgfake.Option) (*sandbox, error) {
	fake := tgfake.New(fakeOpts...)
	port, err := freePort()
	if err != nil {
		fake.Close()
		return nil, err
	}
	vars := map[string]string{
		"KERANJANG_BOT_TOKEN":   fake.Token(),
		"KERANJANG_BOT_API_URL": fake.URL(),
		"KERANJANG_DB":          filepath.Join(dir, "keranjang.db"),
		"KERANJANG_HTTP_ADDR":   "127.0.0.1:" + strconv.Itoa(port),
		"KERANJANG_PUBLIC_URL":  "http://127.0.0.1:" + strconv.Itoa(port),
		// Metrics on a free port of their own: many sandboxes may run at once.
		"KERANJANG_METRICS_ADDR": "127.0.0.1:0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := parseConfig("sandbox", nil, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, nil)
	if err != nil {
		fake.Close()
		return nil, err
	}
	s := &sandbox{fake: fake, cfg: cfg, log: log, opt: opt}
	if s.app, err = Start(ctx, cfg, log, opt); err != nil {
		fake.Close()
		return nil, err
	}
	return s, nil
}

// restart shuts the app down in order and starts it again on the same database and fake.
func (s *sandbox) restart(ctx context.Context) error {
	if err := s.stopApp(); err != nil {
		return err
	}
	app, err := Start(ctx, s.cfg, s.log, s.opt)
	if err != nil {
		return err
	}
	s.app = app
	return nil
}

func (s *sandbox) stopApp() error {
	if s.app == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.app.Shutdown(ctx)
	s.app = nil
	return err
}

// close stops the app and the fake.
func (s *sandbox) close() error {
	err := s.stopApp()
	s.fake.Close()
	return err
}

// baseURL is the app's HTTP address as a URL.
func (s *sandbox) baseURL() string { return "http://" + s.app.HTTPAddr() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

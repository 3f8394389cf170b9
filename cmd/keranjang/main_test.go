package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMainSubcommands(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	host := strings.TrimPrefix(ok.URL, "http://")

	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		output string
	}{
		{"version", []string{"version"}, nil, 0, "keranjang"},
		{"unknown", []string{"frobnicate"}, nil, 2, "unknown command"},
		{"help", []string{"help"}, nil, 0, "demo"},
		{"healthcheck ok", []string{"healthcheck", ok.URL + "/healthz"}, nil, 0, ""},
		{"healthcheck from env", []string{"healthcheck"}, map[string]string{"KERANJANG_HTTP_ADDR": host}, 0, ""},
		{"healthcheck down", []string{"healthcheck", down.URL + "/healthz"}, nil, 1, "503"},
		{"serve needs a token", []string{"serve"}, nil, 1, "KERANJANG_BOT_TOKEN"},
		{"bad variable named", []string{"serve"}, map[string]string{"KERANJANG_SEND_RATE": "lots"}, 1, "KERANJANG_SEND_RATE"},
		{"flag help", []string{"serve", "--help"}, nil, 0, "-bot-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			code := Main(context.Background(), tc.args, envMap(tc.env), &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.output) {
				t.Fatalf("exit %d, output %q; want %d and %q", code, out.String(), tc.code, tc.output)
			}
		})
	}
}

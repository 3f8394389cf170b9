package main

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// TestGeneratedFileIsUpToDate runs the generator on the vendored data and compares its output with the
// committed track/bots_gen.go byte for byte: run `go generate ./track/` after changing either.
func TestGeneratedFileIsUpToDate(t *testing.T) {
	got, err := generateFromDir("../../botdata")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../bots_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("track/bots_gen.go is not what botgen writes: run go generate ./track/")
	}
}

func TestFragments(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{`Googlebot\/`, []string{"googlebot/"}},
		{`[wW]get`, []string{"wget"}},
		{`^Silk\/`, []string{"\nsilk/"}},
		{`SSL Labs$`, []string{"ssl labs\n"}},
		{`(^| )sentry\/`, []string{"\nsentry/", " sentry/"}},
		{`Ahrefs(Bot|SiteAudit)`, []string{"ahrefsbot", "ahrefssiteaudit"}},
		{`AdsBot-Google([^-]|$)`, []string{"adsbot-google"}},
		{`ContextualBot[\s\S]*outcomes\.net`, []string{"contextualbot"}},
		{`S[eE][mM]rushBot`, []string{"semrushbot"}},
		{`Feed(er)? Reader`, []string{"feed reader", "feeder reader"}},
	}
	for _, tt := range tests {
		got, err := fragments(tt.pattern)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("fragments(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
	for _, p := range []string{`ds9`, `.*`, `\d+`, `[a-z]+bot`, `(`} {
		if got, err := fragments(p); err == nil {
			t.Errorf("fragments(%q) = %q, want an error", p, got)
		}
	}
}

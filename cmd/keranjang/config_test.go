package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/internal/secret"
)

func envMap(m map[string]string) lookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig("t", nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BotAPIURL != "https://api.telegram.org" || c.DB != "keranjang.db" || c.HTTPAddr != ":8080" ||
		c.PublicURL != "http://localhost:8080" || c.TimeZone.String() != "Asia/Jakarta" || c.SendRate != 25 ||
		c.AttributionWindow != 168*time.Hour || c.SellerApproval != "manual" || c.LogFormat != "json" ||
		c.LogLevel.String() != "info" || c.WebhookURL != "" || len(c.AdminIDs) != 0 {
		t.Errorf("defaults wrong: %+v", c)
	}
}

func TestConfigEnvAndFlags(t *testing.T) {
	env := envMap(map[string]string{
		"KERANJANG_BOT_TOKEN": "123:abc_DEF-9", "KERANJANG_ADMIN_IDS": "1, 2", "KERANJANG_SEND_RATE": "10",
		"KERANJANG_SHOP_HOSTS": "Tokopedia.com,shopee.co.id", "KERANJANG_TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1",
		"KERANJANG_SELLER_APPROVAL": "AUTO", "KERANJANG_WEBHOOK_URL": "https://bot.example.id/telegram/webhook",
		"KERANJANG_WEBHOOK_SECRET": "s3cret_-x",
	})
	c, err := parseConfig("t", []string{"--send-rate", "5", "--timezone=Asia/Makassar"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SendRate != 5 || c.TimeZone.String() != "Asia/Makassar" {
		t.Errorf("flags must win over the environment: %+v", c)
	}
	if c.BotToken != secret.Secret("123:abc_DEF-9") || len(c.AdminIDs) != 2 || c.AdminIDs[1] != 2 ||
		c.ShopHosts[0] != "tokopedia.com" || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 ||
		c.SellerApproval != "auto" {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{"KERANJANG_BOT_TOKEN", "nonsense"},
		{"KERANJANG_BOT_API_URL", "ftp://x"},
		{"KERANJANG_ADMIN_IDS", "1,abc"},
		{"KERANJANG_ADMIN_TOKEN", "short"},
		{"KERANJANG_HTTP_ADDR", "8080"},
		{"KERANJANG_PUBLIC_URL", "localhost"},
		{"KERANJANG_TIMEZONE", "Mars/Olympus"},
		{"KERANJANG_WEBHOOK_URL", "http://insecure.example/hook"},
		{"KERANJANG_SEND_RATE", "0"},
		{"KERANJANG_ATTRIBUTION_WINDOW", "7 days"},
		{"KERANJANG_SELLER_APPROVAL", "sometimes"},
		{"KERANJANG_SHOP_HOSTS", "https://shop.id/x"},
		{"KERANJANG_TRUSTED_PROXIES", "10.0.0.0/99"},
		{"KERANJANG_POLICY_FEEDS", "not a url"},
		{"KERANJANG_LOG_LEVEL", "loud"},
		{"KERANJANG_LOG_FORMAT", "xml"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			env := map[string]string{tc.env: tc.value}
			if tc.env == "KERANJANG_WEBHOOK_URL" {
				env["KERANJANG_WEBHOOK_SECRET"] = "abc"
			}
			_, err := parseConfig("t", nil, envMap(env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Fatalf("error %v does not name %s", err, tc.env)
			}
		})
	}
	_, err := parseConfig("t", nil, envMap(map[string]string{"KERANJANG_WEBHOOK_URL": "https://x.id/h"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KERANJANG_WEBHOOK_SECRET") {
		t.Fatalf("a webhook URL without a secret must be refused: %v", err)
	}
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	var out strings.Builder
	_, _ = parseConfig("t", []string{"--help"}, envMap(map[string]string{
		"KERANJANG_BOT_TOKEN": "123:supersecret", "KERANJANG_ADMIN_TOKEN": "admintoken-verysecret",
	}), &out)
	if strings.Contains(out.String(), "supersecret") || strings.Contains(out.String(), "verysecret") {
		t.Fatalf("--help printed a secret:\n%s", out.String())
	}
	_, err := parseConfig("t", nil, envMap(map[string]string{"KERANJANG_BOT_TOKEN": "123:bad token!"}), io.Discard)
	if err == nil || strings.Contains(err.Error(), "bad token") {
		t.Fatalf("the token must not appear in errors: %v", err)
	}
}

func TestDisplayDBHidesPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"/data/keranjang.db":                                         "/data/keranjang.db",
		"postgres://k:s3cretpw@db:5432/k?sslmode=disable":            "postgres://k:xxxxx@db:5432/k?sslmode=disable",
		"postgresql://db/k?user=k&password=s3cretpw&sslmode=require": "postgresql://db/k?password=xxxxx&sslmode=require&user=k",
		"postgres://k@db/k":                                          "postgres://k@db/k",
	} {
		if got := displayDB(in); got != want || strings.Contains(got, "s3cretpw") {
			t.Errorf("displayDB(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadmeListsEveryOption keeps the README's configuration table complete.
func TestReadmeListsEveryOption(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		if !strings.Contains(string(readme), "`"+o.env+"`") {
			t.Errorf("README.md does not document %s", o.env)
		}
		if !strings.Contains(string(readme), "--"+o.flag) {
			t.Errorf("README.md does not mention the flag --%s", o.flag)
		}
	}
}

package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/rs/zerolog"
)

// startupWarning is a setting serve accepts but that is unsafe or surprising in production; serve logs
// each one at warn level, naming the variable.
type startupWarning struct {
	variable string
	msg      string
}

// warnings lists what is risky in c. The demo never calls it: there the defaults are the point.
func (c Config) warnings() []startupWarning {
	var ws []startupWarning
	warn := func(v, msg string) { ws = append(ws, startupWarning{v, msg}) }
	if u, err := url.Parse(c.PublicURL); err == nil {
		if isLoopbackHost(u.Hostname()) {
			warn("KERANJANG_PUBLIC_URL", "KERANJANG_PUBLIC_URL ("+c.PublicURL+") points at this machine: "+
				"buyers cannot open basket links built on it; set it to the public https:// address of the server")
		} else if u.Scheme == "http" {
			warn("KERANJANG_PUBLIC_URL", "KERANJANG_PUBLIC_URL ("+c.PublicURL+") is plain http: "+
				"basket links and their click ids travel unencrypted; serve them over https")
		}
	}
	if c.SellerApproval == "manual" && c.NoAdmins {
		warn("KERANJANG_ADMIN_IDS", "KERANJANG_SELLER_APPROVAL=manual but KERANJANG_ADMIN_IDS is empty: "+
			"nobody can approve seller applications; set KERANJANG_ADMIN_IDS or KERANJANG_SELLER_APPROVAL=auto")
	}
	if c.MetricsAddr != "" {
		if host, _, err := splitHostPort(c.MetricsAddr); err == nil && (host == "" || isUnspecified(host)) {
			warn("KERANJANG_METRICS_ADDR", "KERANJANG_METRICS_ADDR ("+c.MetricsAddr+") listens on every interface: "+
				"anyone who reaches the port reads the metrics; bind it to 127.0.0.1 or a private address")
		}
	}
	return ws
}

// isLoopbackHost reports whether host names this machine: localhost, *.localhost or a loopback or
// unspecified IP address.
func isLoopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsUnspecified()
}

// logConfig logs one line with the configuration serve runs with. Secrets are shown only as set or
// unset; lists that may carry credentials (feed URLs) only as counts.
func logConfig(log zerolog.Logger, c Config) {
	mode := "polling"
	if c.WebhookURL != "" {
		mode = "webhook"
	}
	metrics := c.MetricsAddr
	if metrics == "" {
		metrics = "off"
	}
	log.Info().
		Str("bot_token", setOrUnset(c.BotToken.IsSet())).
		Str("bot_api_url", c.BotAPIURL).
		Int("admins", len(c.AdminIDs)).
		Str("admin_token", setOrUnset(c.AdminToken.IsSet())).
		Str("db", displayDB(c.DB)).
		Str("http_addr", c.HTTPAddr).
		Str("metrics_addr", metrics).
		Str("public_url", c.PublicURL).
		Str("timezone", c.TimeZone.String()).
		Str("updates", mode).
		Str("webhook_secret", setOrUnset(c.WebhookSecret.IsSet())).
		Int("send_rate", c.SendRate).
		Str("attribution_window", c.AttributionWindow.String()).
		Str("seller_approval", c.SellerApproval).
		Strs("shop_hosts", c.ShopHosts).
		Int("trusted_proxies", len(c.TrustedProxies)).
		Int("policy_feeds", len(c.PolicyFeeds)).
		Str("log_level", c.LogLevel.String()).
		Str("log_format", c.LogFormat).
		Msg("configuration")
}

func setOrUnset(set bool) string {
	if set {
		return "set"
	}
	return "unset"
}

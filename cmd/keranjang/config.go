package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/secret"
)

// Config is everything the binary can be told, from KERANJANG_* environment variables and the flags of
// the same names (a flag wins over the environment). PRODUCT.md §7 is the contract for names and defaults.
type Config struct {
	BotToken          secret.Secret
	BotAPIURL         string
	AdminIDs          []int64
	AdminToken        secret.Secret
	DB                string
	HTTPAddr          string
	MetricsAddr       string // empty: no metrics listener
	PublicURL         string
	TimeZone          *time.Location
	WebhookURL        string
	WebhookSecret     secret.Secret
	SendRate          int
	AttributionWindow time.Duration
	SellerApproval    string
	ShopHosts         []string
	TrustedProxies    []netip.Prefix
	PolicyFeeds       []string
	LogLevel          zerolog.Level
	LogFormat         string

	// NoAdmins is true when KERANJANG_ADMIN_IDS is empty: nobody can approve a seller application by hand,
	// so the bot must not tell an applicant that the admins will look at it.
	NoAdmins bool

	// fromFlag holds the variables whose value came from a flag, so that later errors name the flag.
	fromFlag map[string]string
}

// name is how an error names variable env: "--db (KERANJANG_DB)" when its value came from a flag,
// otherwise "KERANJANG_DB".
func (c Config) name(env string) string {
	if f, ok := c.fromFlag[env]; ok {
		return "--" + f + " (" + env + ")"
	}
	return env
}

// lookupFunc reads one environment variable; ok is false when it is not set (os.LookupEnv).
type lookupFunc func(key string) (value string, ok bool)

// option is one configuration variable: its environment name, flag name, default and help text. An
// empty value in the environment means the default, except for options whose empty value turns
// something off (emptyIsOff).
type option struct {
	env, flag, def, help string
	emptyIsOff           bool
}

// options lists every variable in the order of PRODUCT.md §7; the README's table is checked against it.
var options = []option{
	{"KERANJANG_BOT_TOKEN", "bot-token", "", "bot token from @BotFather (required for serve; never logged)", false},
	{"KERANJANG_BOT_API_URL", "bot-api-url", "https://api.telegram.org", "Bot API base URL", false},
	{"KERANJANG_ADMIN_IDS", "admin-ids", "", "comma-separated Telegram user ids of admins", false},
	{"KERANJANG_ADMIN_TOKEN", "admin-token", "", "bearer token for the admin HTTP routes (empty: off)", false},
	{"KERANJANG_DB", "db", "keranjang.db", "bbolt database file, or a postgres:// URL for PostgreSQL", false},
	{"KERANJANG_HTTP_ADDR", "http-addr", ":8080", "HTTP listen address", false},
	{"KERANJANG_METRICS_ADDR", "metrics-addr", "127.0.0.1:9464", "listen address of /metrics (empty: off)", true},
	{"KERANJANG_PUBLIC_URL", "public-url", "http://localhost:8080", "base URL of basket links", false},
	{"KERANJANG_TIMEZONE", "timezone", "Asia/Jakarta", "default time zone for new users and for cron", false},
	{"KERANJANG_WEBHOOK_URL", "webhook-url", "", "public URL of /telegram/webhook (set: webhook mode)", false},
	{"KERANJANG_WEBHOOK_SECRET", "webhook-secret", "", "secret token for the webhook (required with a webhook URL)", false},
	{"KERANJANG_SEND_RATE", "send-rate", "25", "outbox messages per second in total", false},
	{"KERANJANG_ATTRIBUTION_WINDOW", "attribution-window", "168h", "click-to-order attribution window", false},
	{"KERANJANG_SELLER_APPROVAL", "seller-approval", "manual", "seller applications: manual or auto", false},
	{"KERANJANG_SHOP_HOSTS", "shop-hosts", "", "allowed shop URL hosts, comma-separated (empty: any)", false},
	{"KERANJANG_TRUSTED_PROXIES", "trusted-proxies", "", "CIDRs whose X-Forwarded-For is believed", false},
	{"KERANJANG_POLICY_FEEDS", "policy-feeds", "", "RSS/Atom URLs for policy alerts, comma-separated", false},
	{"KERANJANG_LOG_LEVEL", "log-level", "info", "log level: trace, debug, info, warn, error", false},
	{"KERANJANG_LOG_FORMAT", "log-format", "json", "log format: json or console", false},
}

// commandUsage is the text --help prints above the flags, by command.
var commandUsage = map[string]string{"keranjang backup": backupUsage}

// usageError is a command-line error the flag package has already printed, with the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseConfig reads the flags in args over the environment given by lookupEnv and validates everything.
// Every error names the variable it is about, and the flag too when the value came from one. Arguments
// after the flags are refused.
func parseConfig(name string, args []string, lookupEnv lookupFunc, stderr io.Writer) (Config, error) {
	c, rest, err := parseConfigArgs(name, args, lookupEnv, stderr)
	if err == nil && len(rest) > 0 {
		return Config{}, usageError{fmt.Errorf("unexpected argument %q", rest[0])}
	}
	return c, err
}

// parseConfigArgs is parseConfig for commands that take arguments after the flags; it returns them.
func parseConfigArgs(name string, args []string, lookupEnv lookupFunc, stderr io.Writer) (Config, []string, error) {
	if stderr == nil {
		stderr = io.Discard
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		if u, ok := commandUsage[name]; ok {
			fmt.Fprint(fs.Output(), u)
		} else {
			fmt.Fprintf(fs.Output(), "usage: %s [flags]\n\nflags (each also an environment variable):\n", name)
		}
		fs.PrintDefaults()
	}
	values := make(map[string]*string, len(options))
	flagOf := make(map[string]string, len(options))
	for _, o := range options {
		def := o.def
		if v, ok := lookup(lookupEnv, o); ok {
			def = v
		}
		flagOf[o.env] = o.flag
		shown := def
		if strings.HasSuffix(o.env, "TOKEN") || strings.HasSuffix(o.env, "SECRET") {
			shown = ""
		}
		values[o.env] = fs.String(o.flag, def, o.help+" ($"+o.env+")")
		if shown != def {
			fs.Lookup(o.flag).DefValue = shown
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, nil, err
		}
		return Config{}, nil, usageError{err}
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	get := func(env string) string { return strings.TrimSpace(*values[env]) }

	c := Config{fromFlag: make(map[string]string)}
	for env, f := range flagOf {
		if given[f] {
			c.fromFlag[env] = f
		}
	}
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", c.name(env), fmt.Sprintf(format, args...)))
	}

	c.BotToken = secret.Secret(get("KERANJANG_BOT_TOKEN"))
	if c.BotToken.IsSet() && !validToken(c.BotToken.Reveal()) {
		bad("KERANJANG_BOT_TOKEN", "does not look like a bot token (<digits>:<letters>)")
	}
	c.BotAPIURL = strings.TrimRight(get("KERANJANG_BOT_API_URL"), "/")
	if err := checkHTTPURL(c.BotAPIURL, false); err != nil {
		bad("KERANJANG_BOT_API_URL", "%v", err)
	}
	for _, f := range splitList(get("KERANJANG_ADMIN_IDS")) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			bad("KERANJANG_ADMIN_IDS", "%q is not a Telegram user id", f)
			continue
		}
		c.AdminIDs = append(c.AdminIDs, id)
	}
	c.NoAdmins = len(c.AdminIDs) == 0
	c.AdminToken = secret.Secret(get("KERANJANG_ADMIN_TOKEN"))
	if c.AdminToken.IsSet() && len(c.AdminToken.Reveal()) < 16 {
		bad("KERANJANG_ADMIN_TOKEN", "must be at least 16 characters")
	}
	c.DB = get("KERANJANG_DB")
	if c.DB == "" {
		bad("KERANJANG_DB", "must not be empty")
	}
	c.HTTPAddr = get("KERANJANG_HTTP_ADDR")
	if _, port, err := splitHostPort(c.HTTPAddr); err != nil {
		bad("KERANJANG_HTTP_ADDR", "%v", err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("KERANJANG_HTTP_ADDR", "bad port %q", port)
	}
	c.MetricsAddr = get("KERANJANG_METRICS_ADDR")
	if c.MetricsAddr != "" {
		if _, port, err := splitHostPort(c.MetricsAddr); err != nil {
			bad("KERANJANG_METRICS_ADDR", "%v", err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("KERANJANG_METRICS_ADDR", "bad port %q", port)
		} else if c.MetricsAddr == c.HTTPAddr && n != 0 {
			bad("KERANJANG_METRICS_ADDR", "must differ from KERANJANG_HTTP_ADDR (metrics are not served on the public listener)")
		}
	}
	c.PublicURL = strings.TrimRight(get("KERANJANG_PUBLIC_URL"), "/")
	if err := checkHTTPURL(c.PublicURL, false); err != nil {
		bad("KERANJANG_PUBLIC_URL", "%v", err)
	}
	if loc, err := parseZone(get("KERANJANG_TIMEZONE")); err != nil {
		bad("KERANJANG_TIMEZONE", "unknown time zone %q (use WIB, WITA, WIT or an IANA name such as Asia/Jakarta)", get("KERANJANG_TIMEZONE"))
	} else {
		c.TimeZone = loc
	}
	c.WebhookURL = get("KERANJANG_WEBHOOK_URL")
	c.WebhookSecret = secret.Secret(get("KERANJANG_WEBHOOK_SECRET"))
	if c.WebhookURL != "" {
		if err := checkHTTPURL(c.WebhookURL, true); err != nil {
			bad("KERANJANG_WEBHOOK_URL", "%v", err)
		}
		if !c.WebhookSecret.IsSet() {
			bad("KERANJANG_WEBHOOK_SECRET", "is required when KERANJANG_WEBHOOK_URL is set")
		}
	}
	if s := c.WebhookSecret.Reveal(); s != "" && !validWebhookSecret(s) {
		bad("KERANJANG_WEBHOOK_SECRET", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
	}
	if n, err := strconv.Atoi(get("KERANJANG_SEND_RATE")); err != nil || n < 1 || n > 1000 {
		bad("KERANJANG_SEND_RATE", "must be a whole number from 1 to 1000")
	} else {
		c.SendRate = n
	}
	if d, err := time.ParseDuration(get("KERANJANG_ATTRIBUTION_WINDOW")); err != nil || d < time.Minute || d > 90*24*time.Hour {
		bad("KERANJANG_ATTRIBUTION_WINDOW", "must be a duration from 1m to 2160h (90 days), such as 168h")
	} else {
		c.AttributionWindow = d
	}
	switch v := strings.ToLower(get("KERANJANG_SELLER_APPROVAL")); v {
	case "manual", "auto":
		c.SellerApproval = v
	default:
		bad("KERANJANG_SELLER_APPROVAL", "must be manual or auto, not %q", v)
	}
	for _, h := range splitList(get("KERANJANG_SHOP_HOSTS")) {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if strings.ContainsAny(h, "/:@ ") || !strings.Contains(h, ".") {
			bad("KERANJANG_SHOP_HOSTS", "%q is not a host name", h)
			continue
		}
		c.ShopHosts = append(c.ShopHosts, h)
	}
	for _, p := range splitList(get("KERANJANG_TRUSTED_PROXIES")) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad("KERANJANG_TRUSTED_PROXIES", "%q is not a CIDR", p)
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	for _, f := range splitList(get("KERANJANG_POLICY_FEEDS")) {
		if err := checkHTTPURL(f, false); err != nil {
			bad("KERANJANG_POLICY_FEEDS", "%q: %v", f, err)
			continue
		}
		c.PolicyFeeds = append(c.PolicyFeeds, f)
	}
	if lvl, err := zerolog.ParseLevel(strings.ToLower(get("KERANJANG_LOG_LEVEL"))); err != nil || get("KERANJANG_LOG_LEVEL") == "" || lvl == zerolog.NoLevel {
		bad("KERANJANG_LOG_LEVEL", "must be trace, debug, info, warn, error, fatal, panic or disabled")
	} else {
		c.LogLevel = lvl
	}
	switch v := strings.ToLower(get("KERANJANG_LOG_FORMAT")); v {
	case "json", "console":
		c.LogFormat = v
	default:
		bad("KERANJANG_LOG_FORMAT", "must be json or console, not %q", v)
	}
	return c, fs.Args(), errors.Join(errs...)
}

// lookup reads o's environment variable; an empty value counts as unset unless it turns o off.
func lookup(lookupEnv lookupFunc, o option) (string, bool) {
	v, ok := lookupEnv(o.env)
	if o.emptyIsOff {
		return v, ok
	}
	return v, v != ""
}

// parseZone reads a time zone the way /timezone does: WIB, WITA, WIT or an IANA name.
func parseZone(s string) (*time.Location, error) {
	name, err := affiliate.ParseTimeZone(s)
	if err != nil {
		return nil, err
	}
	return time.LoadLocation(name)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func validToken(t string) bool {
	id, rest, ok := strings.Cut(t, ":")
	if !ok || id == "" || len(rest) < 1 || len(t) > 256 {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	for _, c := range rest {
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func validWebhookSecret(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func checkHTTPURL(raw string, httpsOnly bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.Scheme != "https" && (httpsOnly || u.Scheme != "http") {
		if httpsOnly {
			return fmt.Errorf("%q must be https", raw)
		}
		return fmt.Errorf("%q must be http or https", raw)
	}
	if u.User != nil {
		return fmt.Errorf("URL must not contain credentials")
	}
	return nil
}

func splitHostPort(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("%q must be host:port or :port", addr)
	}
	return addr[:i], addr[i+1:], nil
}

// displayDB is KERANJANG_DB as logs and messages may show it: a PostgreSQL URL without its password
// (in the user-info part or as a password parameter); a file path as it is.
func displayDB(db string) string {
	if !isPostgresURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

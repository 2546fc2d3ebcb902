// Package config holds the one configuration struct, read from flags and SMSRETIRE_* environment
// variables once in cmd/ and passed down.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is every setting of smsretire.
type Config struct {
	Addr           string
	BaseURL        string
	DatabaseURL    string
	DataDir        string
	Demo           bool
	LogLevel       string
	TimeZone       string
	SupportEmail   string
	SupportPhone   string
	NoticeLinkTTL  time.Duration
	ShutdownGrace  time.Duration
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	DefaultRegion  string
	ServiceName    string
	SessionMaxAge  time.Duration
	ElevatedWindow time.Duration
	TrustedProxies string
	AssistCodeTTL  time.Duration
	MinSendTime    time.Duration
	EmailFactor    string
	SessionIdle    time.Duration
	StepUpWindow   time.Duration
	CheckupAfter   time.Duration

	// Approval from a signed-in phone with number matching (internal/approval), and its Web Push.
	PushApproval       bool
	PushApprovalDigits int
	VAPIDSubject       string // the contact in the VAPID token push services read: mailto: or https:

	// Retention: how long records that name a person are kept (internal/retention).
	HistoryRetention time.Duration
	OutboxRetention  time.Duration

	// Verification (codes, attempts, delivery).
	CodeTTL            time.Duration
	ResendWait         time.Duration
	SendsPerHour       int
	MaxCodeAttempts    int
	LockoutDuration    time.Duration
	ClientAttemptsHour int
	KnowledgeSuffices  bool
	QRSignIn           bool // offer QR code sign-in (internal/qrsignin)
	SMSGateway         string
	SMSURL             string
	SMTPURL            string
	MailFrom           string

	// Delivery of the outbox (SMS, email, events).
	OutboxMaxAttempts int
	OutboxPoll        time.Duration
	WebhookURLs       string // comma-separated endpoints of operator events; see WebhookURLList

	// Observability: the Prometheus metrics listener, apart from the portal's; empty: none.
	MetricsAddr string

	// Staff sign-in through the company's OpenID Connect provider (internal/staff); off while
	// StaffOIDCIssuer is empty.
	StaffOIDCIssuer       string
	StaffOIDCClientID     string
	StaffOIDCClientSecret string
	StaffOIDCRoleClaim    string

	// Passkeys: the WebAuthn relying party. Validate fills the defaults from --base-url.
	RPID      string // the domain passkeys are bound to
	RPOrigins string // comma-separated origins allowed to use them; see RPOriginList
	RPName    string // the name browsers show when a passkey is made

	// The operator's configuration file (--config-file) and what it holds.
	ConfigFile string
	Partners   []Partner // [[partner]]: sites that embed the portal; see partner.go
	Clients    []Client  // [[client]]: services that sign users in through the OpenID Connect provider; see oidc.go
	OIDC       OIDC      // [oidc]: the provider's signing keys and lifetimes; see oidc.go
	Campaign   Campaign  // [campaign] and [[wave]]: the campaign's rules and waves; see campaign.go

	// Secrets come only from the environment (never flags, which other users can see in ps).
	SessionKey     string
	TokenKey       string
	HashKey        string
	EncryptionKeys string
	SMSSecret      string // signs requests to the HTTP SMS gateway
	WebhookSecret  string // signs webhook deliveries (Standard Webhooks: whsec_… or base64)
	VAPIDKey       string // the Web Push (VAPID) private key: a P-256 scalar in base64url
}

// Secret names the environment variables that carry keys.
var Secrets = []struct{ Env, Help string }{
	{"SMSRETIRE_SESSION_KEY", "base64, ≥32 bytes: signs and encrypts session cookies"},
	{"SMSRETIRE_TOKEN_KEY", "base64, ≥32 bytes: signs notice links"},
	{"SMSRETIRE_HASH_KEY", "base64, ≥32 bytes: keys the hashes of ID digits and one-time codes"},
	{"SMSRETIRE_ENCRYPTION_KEYS", "id:base64 pairs, comma-separated, newest first: encrypt TOTP secrets at rest"},
	{"SMSRETIRE_SMS_SECRET", "≥32 characters: HMAC key of the X-Smsretire-Signature header sent to the HTTP SMS gateway"},
	{"SMSRETIRE_VAPID_PRIVATE_KEY", "base64url P-256 private key (32 bytes) that signs Web Push requests (VAPID); without it, generated into --data-dir for a loopback address, else push notifications are off"},
	{"SMSRETIRE_WEBHOOK_SECRET", "whsec_ and base64 (or base64 alone), ≥24 bytes: HMAC key of the webhook-signature header sent to --webhook-urls"},
}

// FlagSet returns a flag set bound to c, with every default in place.
func (c *Config) FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.Campaign = DefaultCampaign() // until --config-file says otherwise
	fs.StringVar(&c.StaffOIDCIssuer, "staff-oidc-issuer", "", "issuer URL of the company's OpenID Connect provider staff sign in with; empty: staff sign in with their own passkey or authenticator app")
	fs.StringVar(&c.StaffOIDCClientID, "staff-oidc-client-id", "", "the portal's client ID at --staff-oidc-issuer")
	fs.StringVar(&c.StaffOIDCClientSecret, "staff-oidc-client-secret", "", "the portal's client secret at --staff-oidc-issuer (better in the environment)")
	fs.StringVar(&c.StaffOIDCRoleClaim, "staff-oidc-role-claim", "smsretire_role", "the ID token claim that carries the staff role: agent, supervisor or admin (a string, or a list whose highest role counts)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9090", "address of the Prometheus /metrics listener, apart from the portal's; empty turns it off")
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.BaseURL, "base-url", "", "public URL of the portal, used in links (default http://ADDR; http://localhost:PORT for a loopback address)")
	fs.StringVar(&c.DatabaseURL, "database-url", "sqlite://data/smsretire.db", "sqlite:PATH, sqlite://PATH or postgres://…")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory for development keys")
	fs.BoolVar(&c.Demo, "demo", false, "seed demo users and show the development outbox")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.TimeZone, "time-zone", "Asia/Shanghai", "time zone for deadlines and times shown to users")
	fs.StringVar(&c.SupportEmail, "support-email", "support@example.com", "support contact shown in the footer")
	fs.StringVar(&c.SupportPhone, "support-phone", "400-000-0000", "support telephone shown in the footer")
	fs.DurationVar(&c.NoticeLinkTTL, "notice-link-ttl", 30*24*time.Hour, "how long a signed notice link stays valid")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 20*time.Second, "how long shutdown waits for requests in flight")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", 15*time.Second, "HTTP read timeout")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 30*time.Second, "HTTP write timeout")
	fs.StringVar(&c.DefaultRegion, "default-region", "CN", "region for phone numbers written without a country code")
	fs.StringVar(&c.ServiceName, "service-name", "smsretire", "the name users know the service by: authenticator apps list keys under it, passkeys (default --rp-name) and messages name it")
	fs.DurationVar(&c.SessionMaxAge, "session-max-age", 12*time.Hour, "absolute lifetime of a session")
	fs.DurationVar(&c.ElevatedWindow, "elevated-window", 15*time.Minute, "how long a verified identity allows enrollment")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of load balancers whose X-Forwarded-For is believed")
	fs.DurationVar(&c.AssistCodeTTL, "assist-code-ttl", time.Hour, "lifetime of a support assist code")
	fs.DurationVar(&c.SessionIdle, "session-idle", 30*time.Minute, "a signed-in session unused this long ends")
	fs.DurationVar(&c.StepUpWindow, "step-up-window", 10*time.Minute, "sensitive changes need an authentication within this window")
	fs.DurationVar(&c.CheckupAfter, "checkup-after", 28*24*time.Hour, "after the retirement, ask the user once (by email, or SMS without one) to sign in and confirm the new factor works (0: never)")
	fs.DurationVar(&c.HistoryRetention, "history-retention", 365*24*time.Hour, "history entries (with their IP address and device) older than this are deleted; 0 keeps them")
	fs.DurationVar(&c.OutboxRetention, "outbox-retention", 30*24*time.Hour, "sent or given-up messages and events (recipient, contents) older than this are deleted; 0 keeps them")
	fs.StringVar(&c.EmailFactor, "email-factor", "allowed", "allowed (email alone completes the retirement), recovery-only (may be added, does not complete it) or off")
	fs.DurationVar(&c.MinSendTime, "min-send-time", 300*time.Millisecond, "every code request takes at least this long, so found and unknown accounts answer alike")
	fs.DurationVar(&c.CodeTTL, "code-ttl", 10*time.Minute, "lifetime of a one-time code")
	fs.DurationVar(&c.ResendWait, "resend-wait", 60*time.Second, "wait before another code may be sent")
	fs.IntVar(&c.SendsPerHour, "sends-per-hour", 5, "codes sent per account and hour at most")
	fs.IntVar(&c.MaxCodeAttempts, "max-code-attempts", 5, "wrong codes before a method locks for the account")
	fs.DurationVar(&c.LockoutDuration, "lockout", 15*time.Minute, "how long a locked method stays locked")
	fs.IntVar(&c.ClientAttemptsHour, "client-attempts-per-hour", 30, "wrong answers per client IP and hour before it is refused")
	fs.BoolVar(&c.KnowledgeSuffices, "knowledge-suffices", false, "the knowledge check alone verifies identity")
	fs.BoolVar(&c.QRSignIn, "qr-signin", true, "offer sign-in on a computer by scanning a QR code with a signed-in phone")
	fs.StringVar(&c.SMSGateway, "sms-gateway", "log", "log or http")
	fs.StringVar(&c.SMSURL, "sms-url", "", "URL of the operator's SMS gateway (with --sms-gateway=http)")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "smtp://user:pass@host:587 (STARTTLS) or smtps://… (implicit TLS); empty logs mail")
	fs.StringVar(&c.MailFrom, "mail-from", "smsretire <no-reply@example.com>", "sender of email")
	fs.IntVar(&c.OutboxMaxAttempts, "outbox-max-attempts", 8, "delivery attempts of a message before it is given up as failed")
	fs.DurationVar(&c.OutboxPoll, "outbox-poll", time.Second, "how often the delivery worker looks for due messages")
	fs.StringVar(&c.WebhookURLs, "webhook-urls", "", "comma-separated http(s) URLs that receive operator events, signed with SMSRETIRE_WEBHOOK_SECRET; empty for none")
	fs.StringVar(&c.RPID, "rp-id", "", "domain passkeys are bound to (default the host of --base-url; localhost for a loopback address)")
	fs.StringVar(&c.RPOrigins, "rp-origins", "", "comma-separated origins where passkeys may be used, each on --rp-id or a subdomain (default the origin of --base-url)")
	fs.StringVar(&c.RPName, "rp-name", "", "name browsers show when a passkey is made (default --service-name)")
	fs.BoolVar(&c.PushApproval, "push-approval", true, "offer sign-in by approval on a signed-in phone with number matching (convenient, not phishing-resistant; never completes the retirement)")
	fs.IntVar(&c.PushApprovalDigits, "push-approval-digits", 6, "digits of the number the phone must type to approve a sign-in: 3 to 6")
	fs.StringVar(&c.VAPIDSubject, "vapid-subject", "", "contact that push services may use about this server's Web Push, mailto: or https: (default mailto: --support-email)")
	fs.StringVar(&c.ConfigFile, "config-file", "", "TOML file of what flags cannot say: the [campaign] and its [[wave]]s, [[partner]] sites that embed the portal, [[client]] services that sign in through the OpenID Connect provider, [oidc] its keys (see README)")
	return fs
}

// EnvName returns the environment variable that sets a flag.
func EnvName(flagName string) string {
	return "SMSRETIRE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse reads args, then fills every flag not given on the command line from its environment
// variable. Flags win over the environment, which wins over defaults.
func (c *Config) Parse(name string, args []string, getenv func(string) string) (*flag.FlagSet, error) {
	fs := c.FlagSet(name)
	if err := fs.Parse(args); err != nil {
		return fs, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
		}
	})
	c.SessionKey = getenv("SMSRETIRE_SESSION_KEY")
	c.TokenKey = getenv("SMSRETIRE_TOKEN_KEY")
	c.HashKey = getenv("SMSRETIRE_HASH_KEY")
	c.EncryptionKeys = getenv("SMSRETIRE_ENCRYPTION_KEYS")
	c.SMSSecret = getenv("SMSRETIRE_SMS_SECRET")
	c.WebhookSecret = getenv("SMSRETIRE_WEBHOOK_SECRET")
	c.VAPIDKey = getenv("SMSRETIRE_VAPID_PRIVATE_KEY")
	if err := errors.Join(errs...); err != nil {
		return fs, err
	}
	if err := c.loadFile(getenv); err != nil {
		return fs, err
	}
	return fs, c.Validate()
}

// Default returns the configuration with every default and no environment.
func Default() Config {
	var c Config
	c.FlagSet("default")
	return c
}

// Validate checks settings that flags cannot check alone.
func (c *Config) Validate() error {
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("time-zone: %w", err)
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
		if host, port, err := net.SplitHostPort(c.Addr); err == nil && c.LoopbackOnly() && host != "localhost" {
			// Passkeys need a domain, never an IP address: the printed links use localhost.
			c.BaseURL = "http://" + net.JoinHostPort("localhost", port)
		}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base-url %q: want http(s)://host[:port]", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		return err
	}
	switch c.SMSGateway {
	case "log":
	case "http":
		if c.SMSURL == "" {
			return errors.New("sms-gateway http needs sms-url")
		}
		if u, err := url.Parse(c.SMSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("sms-url %q: want http(s)://host[:port]/path", redact(c.SMSURL))
		}
		if len(c.SMSSecret) < 32 {
			return errors.New("sms-gateway http needs SMSRETIRE_SMS_SECRET of at least 32 characters")
		}
	default:
		return fmt.Errorf("sms-gateway %q: want log or http", c.SMSGateway)
	}
	if _, err := c.ProxyRanges(); err != nil {
		return err
	}
	switch c.EmailFactor {
	case "allowed", "recovery-only", "off":
	default:
		return fmt.Errorf("email-factor %q: want allowed, recovery-only or off", c.EmailFactor)
	}
	if c.StaffOIDCIssuer != "" {
		u, err := url.Parse(c.StaffOIDCIssuer)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) || u.Host == "" {
			return fmt.Errorf("staff-oidc-issuer %q: want https://… (http only on a loopback address)", c.StaffOIDCIssuer)
		}
		if c.StaffOIDCClientID == "" || c.StaffOIDCRoleClaim == "" {
			return fmt.Errorf("staff-oidc-issuer needs --staff-oidc-client-id and --staff-oidc-role-claim")
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("metrics-addr %q: want host:port such as 127.0.0.1:9090", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return fmt.Errorf("metrics-addr %q: must differ from addr: metrics are served apart from the portal", c.MetricsAddr)
		}
	}
	if c.MaxCodeAttempts < 1 || c.SendsPerHour < 1 || c.ClientAttemptsHour < 1 {
		return errors.New("attempt and send limits must be at least 1")
	}
	if c.HistoryRetention < 0 || c.OutboxRetention < 0 {
		return errors.New("history-retention and outbox-retention must not be negative (0 keeps the records)")
	}
	if c.OutboxMaxAttempts < 1 || c.OutboxPoll <= 0 {
		return errors.New("outbox-max-attempts must be at least 1 and outbox-poll positive")
	}
	if c.PushApprovalDigits < 3 || c.PushApprovalDigits > 6 {
		return fmt.Errorf("push-approval-digits %d: want 3 to 6", c.PushApprovalDigits)
	}
	if c.VAPIDSubject == "" {
		c.VAPIDSubject = "mailto:" + c.SupportEmail
	}
	if !strings.HasPrefix(c.VAPIDSubject, "mailto:") && !strings.HasPrefix(c.VAPIDSubject, "https://") {
		return fmt.Errorf("vapid-subject %q: want mailto:address or https://URL", c.VAPIDSubject)
	}
	if err := c.validateWebhooks(); err != nil {
		return err
	}
	if err := c.validateRelyingParty(); err != nil {
		return err
	}
	if err := c.validateOIDC(); err != nil {
		return err
	}
	return c.validatePartners()
}

// validateRelyingParty fills the passkey settings from --base-url where they are not given and
// checks them: browsers accept a passkey only on a domain (never an IP address) and only from an
// origin whose host is that domain or a subdomain of it. A loopback base URL gives localhost, so
// development works at http://localhost:PORT.
func (c *Config) validateRelyingParty() error {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("base-url %q: %w", c.BaseURL, err)
	}
	host := strings.ToLower(base.Hostname())
	ip := net.ParseIP(host)
	loopback := ip != nil && ip.IsLoopback()
	if c.RPID == "" {
		switch {
		case loopback:
			c.RPID = "localhost"
		case ip != nil:
			return fmt.Errorf("rp-id: base-url %q names an IP address but passkeys need a domain: set --base-url or --rp-id", c.BaseURL)
		default:
			c.RPID = host
		}
	}
	c.RPID = strings.ToLower(strings.TrimSpace(c.RPID))
	if !isDomain(c.RPID) {
		return fmt.Errorf("rp-id %q: want a domain such as portal.example.com, without scheme, port or IP address", c.RPID)
	}
	if strings.TrimSpace(c.RPOrigins) == "" {
		h := host
		if loopback && c.RPID == "localhost" {
			h = "localhost"
		}
		if p := base.Port(); p != "" {
			h = net.JoinHostPort(h, p)
		} else if ip != nil && ip.To4() == nil {
			h = "[" + h + "]"
		}
		c.RPOrigins = base.Scheme + "://" + h
	}
	var origins []string
	for _, part := range strings.Split(c.RPOrigins, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		o, err := parseOrigin(part, c.RPID)
		if err != nil {
			return err
		}
		origins = append(origins, o)
	}
	if len(origins) == 0 {
		return errors.New("rp-origins: name at least one origin")
	}
	c.RPOrigins = strings.Join(origins, ",")
	if strings.TrimSpace(c.RPName) == "" {
		c.RPName = c.ServiceName
	}
	if strings.TrimSpace(c.RPName) == "" {
		return errors.New("rp-name: must not be empty")
	}
	return nil
}

// parseOrigin checks one --rp-origins entry and returns it in canonical form: scheme://host[:port],
// lower case, without a default port.
func parseOrigin(s, rpID string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("rp-origins: %q is not an origin such as https://portal.example.com", s)
	}
	host := strings.ToLower(u.Hostname())
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "", fmt.Errorf("rp-origins: the host of %q is neither rp-id %q nor a subdomain of it", s, rpID)
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return u.Scheme + "://" + host, nil
}

// isDomain reports whether s is a DNS name of letters, digits and hyphens (punycode for others),
// which is what a WebAuthn relying party ID must be.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 || net.ParseIP(s) != nil {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	return true
}

// validateWebhooks checks --webhook-urls and that a signing secret comes with them; the secret's
// form is checked where it is parsed, when serve builds the webhook sender.
func (c *Config) validateWebhooks() error {
	urls := c.WebhookURLList()
	seen := map[string]bool{}
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("webhook-urls: %q is not an http(s) URL such as https://ops.example.com/hooks/smsretire", redact(s))
		}
		if seen[s] {
			return fmt.Errorf("webhook-urls: %q is named twice", redact(s))
		}
		seen[s] = true
	}
	if len(urls) > 0 && strings.TrimSpace(c.WebhookSecret) == "" {
		return errors.New("webhook-urls needs SMSRETIRE_WEBHOOK_SECRET")
	}
	return nil
}

// WebhookURLList returns the endpoints that receive operator events, as Validate checked them.
func (c *Config) WebhookURLList() []string {
	var out []string
	for _, part := range strings.Split(c.WebhookURLs, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// RPOriginList returns the origins where passkeys may be used, as Validate left them.
func (c *Config) RPOriginList() []string {
	var out []string
	for _, part := range strings.Split(c.RPOrigins, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ProxyRanges parses --trusted-proxies.
func (c *Config) ProxyRanges() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(c.TrustedProxies, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is not a CIDR", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// Location returns the configured time zone.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// SecureCookies reports whether cookies must be marked Secure: the portal is served over https.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// LoopbackOnly reports whether the server listens only on a loopback address, where development
// keys are allowed.
func (c *Config) LoopbackOnly() bool {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Database names a store: its driver and where it is.
type Database struct {
	Driver string // "sqlite" or "postgres"
	Path   string // file path for SQLite
	URL    string // connection URL for PostgreSQL
}

// ParseDatabaseURL reads sqlite:PATH, sqlite://PATH (so sqlite:///tmp/x.db is /tmp/x.db) or a
// postgres:// / postgresql:// URL.
func ParseDatabaseURL(s string) (Database, error) {
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		return sqlitePath(strings.TrimPrefix(s, "sqlite://"), s)
	case strings.HasPrefix(s, "sqlite:"):
		return sqlitePath(strings.TrimPrefix(s, "sqlite:"), s)
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return Database{}, fmt.Errorf("database-url: %w", err)
		}
		return Database{Driver: "postgres", URL: s}, nil
	}
	return Database{}, fmt.Errorf("database-url %q: want sqlite:PATH or postgres://…", redact(s))
}

func sqlitePath(p, orig string) (Database, error) {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		return Database{}, fmt.Errorf("database-url %q: no file named", orig)
	}
	return Database{Driver: "sqlite", Path: filepath.Clean(p)}, nil
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return s
}

// Getenv is os.Getenv, named so callers can pass it.
func Getenv(k string) string { return os.Getenv(k) }

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The OpenID Connect provider's part of the configuration file: [[client]] sections, the services
// that sign users in through the provider, and [oidc], its signing keys and lifetimes. A secret is
// written inline or, with the key's _env form (secret_env = "VAR"), read from the environment.

// Client is one service that signs users in through the OpenID Connect provider.
type Client struct {
	ID        string `toml:"id"`         // client_id
	Name      string `toml:"name"`       // display name in Chinese (the default language): "继续前往 示例商城"
	NameEN    string `toml:"name_en"`    // display name in English; Name when empty
	Secret    string `toml:"secret"`     // client_secret of a confidential client (a server)
	SecretEnv string `toml:"secret_env"` // or the environment variable that holds it
	// Public is a client that cannot keep a secret (an app on the user's device); PKCE alone
	// protects its codes.
	Public                 bool     `toml:"public"`
	RedirectURIs           []string `toml:"redirect_uris"`             // exact matches only
	PostLogoutRedirectURIs []string `toml:"post_logout_redirect_uris"` // exact matches only
	// Scopes the client may ask for, of openid, profile, email and phone; all four when empty.
	Scopes []string `toml:"scopes"`
	// RequirePhishingResistant accepts only a passkey for this client, whatever it asks.
	RequirePhishingResistant bool `toml:"require_phishing_resistant"`
}

// DisplayName returns the client's name in lang ("en" or Chinese).
func (c Client) DisplayName(lang string) string {
	if lang == "en" && c.NameEN != "" {
		return c.NameEN
	}
	return c.Name
}

// OIDC holds the provider's settings.
type OIDC struct {
	// SigningKeys sign ID tokens. The first signs; every key listed is published (JWKS), so an
	// ID token signed by a key that was first before still verifies until the key is removed.
	// Without any, development keys are generated into --data-dir where development keys are
	// allowed.
	SigningKeys []SigningKey `toml:"signing_key"`
	// IDTokenLifetime is how long an ID token is valid (default 1h): keep a retired key
	// listed at least this long after it stopped signing.
	IDTokenLifetime time.Duration `toml:"id_token_lifetime"`
	// AccessTokenLifetime is how long an access token opens the userinfo endpoint (default 1h).
	AccessTokenLifetime time.Duration `toml:"access_token_lifetime"`
	// CodeLifetime is how long an authorization code may wait for its exchange (default 1m).
	CodeLifetime time.Duration `toml:"code_lifetime"`
	// LoginLifetime is how long the user has to sign in for a service's request (default 30m).
	LoginLifetime time.Duration `toml:"login_lifetime"`
	// RemindLater is how often a user not yet migrated may postpone at sign-in ("remind me
	// later") before the deadline (default 3); 0 never offers it.
	RemindLater *int `toml:"remind_later"`
}

// Reminders returns how often a user may postpone at sign-in (RemindLater, or its default).
func (o OIDC) Reminders() int {
	if o.RemindLater == nil {
		return DefaultRemindLater
	}
	return *o.RemindLater
}

// SigningKey is one key that signs or signed ID tokens: a PEM private key, EC P-256 (ES256) or
// RSA of at least 2048 bits (RS256).
type SigningKey struct {
	ID     string `toml:"id"`      // the key ID (kid) in tokens and in the JWKS
	File   string `toml:"file"`    // path of the PEM file
	PEMEnv string `toml:"pem_env"` // or the environment variable that holds the PEM text
	PEM    string `toml:"-"`       // the PEM text, read at load
}

// Defaults of the [oidc] section.
const (
	DefaultIDTokenLifetime     = time.Hour
	DefaultAccessTokenLifetime = time.Hour
	DefaultCodeLifetime        = time.Minute
	DefaultLoginLifetime       = 30 * time.Minute
	DefaultRemindLater         = 3
)

// load resolves the client's secret_env.
func (c *Client) load(getenv func(string) string) error {
	s, err := secretFrom(c.Secret, c.SecretEnv, "secret", getenv)
	if err != nil {
		return err
	}
	c.Secret = s
	return nil
}

// load reads the signing keys' PEM, from a file (relative to the configuration file's folder)
// or an environment variable.
func (o *OIDC) load(dir string, getenv func(string) string) error {
	for i := range o.SigningKeys {
		k := &o.SigningKeys[i]
		switch {
		case k.File != "" && k.PEMEnv != "":
			return fmt.Errorf("signing key %q: set file or pem_env, not both", k.ID)
		case k.File != "":
			b, err := readBeside(dir, k.File, 64<<10)
			if err != nil {
				return fmt.Errorf("signing key %q: %w", k.ID, err)
			}
			k.PEM = string(b)
		case k.PEMEnv != "":
			if k.PEM = getenv(k.PEMEnv); k.PEM == "" {
				return fmt.Errorf("signing key %q: environment variable %s is empty or not set", k.ID, k.PEMEnv)
			}
		default:
			return fmt.Errorf("signing key %q: set file or pem_env", k.ID)
		}
	}
	return nil
}

var (
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	keyIDPattern    = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,64}$`)
	clientScopes    = []string{"openid", "profile", "email", "phone"}
)

// validateOIDC checks the clients and the [oidc] section and fills its defaults.
func (cfg *Config) validateOIDC() error {
	seen := map[string]bool{}
	var errs []error
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		if err := c.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("client %q: named twice", c.ID))
		}
		seen[c.ID] = true
	}
	keys := map[string]bool{}
	for _, k := range cfg.OIDC.SigningKeys {
		if !keyIDPattern.MatchString(k.ID) {
			errs = append(errs, fmt.Errorf("signing key %q: id must be 1 to 64 letters, digits or . _ ~ -", k.ID))
		}
		if keys[k.ID] {
			errs = append(errs, fmt.Errorf("signing key %q: named twice", k.ID))
		}
		keys[k.ID] = true
	}
	o := &cfg.OIDC
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
		key string
	}{{&o.IDTokenLifetime, DefaultIDTokenLifetime, "id_token_lifetime"}, {&o.AccessTokenLifetime, DefaultAccessTokenLifetime, "access_token_lifetime"},
		{&o.CodeLifetime, DefaultCodeLifetime, "code_lifetime"}, {&o.LoginLifetime, DefaultLoginLifetime, "login_lifetime"}} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < time.Second {
			errs = append(errs, fmt.Errorf("oidc.%s: must be at least 1s", d.key))
		}
	}
	if o.CodeLifetime > 10*time.Minute {
		errs = append(errs, errors.New("oidc.code_lifetime: at most 10m (RFC 6749 recommends 10 minutes at most)"))
	}
	if o.RemindLater == nil {
		n := DefaultRemindLater
		o.RemindLater = &n
	}
	if *o.RemindLater < 0 {
		errs = append(errs, errors.New("oidc.remind_later: must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config-file %s: %w", cfg.ConfigFile, err)
	}
	return nil
}

func (c *Client) validate() error {
	if !clientIDPattern.MatchString(c.ID) {
		return fmt.Errorf("client %q: id must be 1 to 64 letters, digits or . _ ~ -", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		return fmt.Errorf("client %q: name (the display name users see) is required", c.ID)
	}
	switch {
	case c.Public && c.Secret != "":
		return fmt.Errorf("client %q: a public client has no secret", c.ID)
	case !c.Public && len(c.Secret) < 32:
		return fmt.Errorf("client %q: secret must be at least 32 characters (or set public = true)", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %q: redirect_uris: at least one is required", c.ID)
	}
	for _, u := range c.RedirectURIs {
		if err := checkClientURI(u); err != nil {
			return fmt.Errorf("client %q: redirect_uris: %w", c.ID, err)
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := checkClientURI(u); err != nil {
			return fmt.Errorf("client %q: post_logout_redirect_uris: %w", c.ID, err)
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(clientScopes)
	}
	for _, s := range c.Scopes {
		if !slices.Contains(clientScopes, s) {
			return fmt.Errorf("client %q: scopes: %q is not one of openid, profile, email, phone", c.ID, s)
		}
	}
	if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	return nil
}

// checkClientURI accepts an absolute https URL, or http on a loopback host (development), without
// a fragment or user information.
func checkClientURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || strings.Contains(s, "#") {
		return fmt.Errorf("%q is not an absolute URL without a fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%q: http is allowed only on localhost or a loopback address; use https", s)
	}
	return fmt.Errorf("%q: want https:// (http:// on localhost)", s)
}

// ClientByID returns the configured client with id.
func (cfg *Config) ClientByID(id string) (Client, bool) {
	for _, c := range cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

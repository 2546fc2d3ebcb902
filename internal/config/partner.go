package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// PartnerEntry is one [[partner]] of the configuration file as written: a site that embeds the
// portal in an iframe and launches its signed-in users into it.
type PartnerEntry struct {
	ID               string   `toml:"id"`                // in URLs: a-z, 0-9 and -, at most 32
	Name             string   `toml:"name"`              // shown to users
	Origins          []string `toml:"origins"`           // the partner's pages that may frame the portal
	HMACSecret       string   `toml:"hmac_secret"`       // launch tokens signed with HS256 under this text…
	HMACSecretEnv    string   `toml:"hmac_secret_env"`   // …or under the text of this environment variable
	PublicKey        string   `toml:"public_key"`        // or with EdDSA (Ed25519) or ES256 (P-256): PEM…
	PublicKeyFile    string   `toml:"public_key_file"`   // …or a PEM file beside the configuration file
	VerifiesIdentity bool     `toml:"verifies_identity"` // a launch counts as identity verification
	Logo             string   `toml:"logo"`              // optional image file beside the configuration file
	Color            string   `toml:"color"`             // optional primary colour, #rrggbb
}

// Partner is a site that embeds the portal, as loaded and checked.
type Partner struct {
	ID      string
	Name    string
	Origins []string // canonical scheme://host[:port]; CSP frame-ancestors names exactly these
	// The launch key: an HMAC secret (HS256) or a public key (ed25519.PublicKey for EdDSA,
	// *ecdsa.PublicKey on P-256 for ES256); exactly one is set.
	HMACSecret []byte
	PublicKey  crypto.PublicKey
	// VerifiesIdentity: the partner signed the user in, and its launch counts as a verification.
	VerifiesIdentity bool
	Logo             []byte // served from the portal's origin; nil for none
	LogoType         string // image/png, image/jpeg, image/webp or image/svg+xml
	Color            string // #rrggbb in lower case, or "" for the portal's own
}

// Limits of a partner's settings.
const (
	MaxLogoBytes     = 32 << 10 // a logo counts towards each embedded page's weight
	MinPartnerSecret = 32       // characters of an HMAC launch secret
)

var (
	partnerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// load turns an entry into a Partner: secrets from the environment, the key and the logo read
// from files beside the configuration file (in dir). Validate checks the rest.
func (e PartnerEntry) load(dir string, getenv func(string) string) (Partner, error) {
	p := Partner{ID: e.ID, Name: e.Name, Origins: e.Origins, VerifiesIdentity: e.VerifiesIdentity, Color: e.Color}
	secret, err := secretFrom(e.HMACSecret, e.HMACSecretEnv, "hmac_secret", getenv)
	if err != nil {
		return Partner{}, err
	}
	if secret != "" {
		p.HMACSecret = []byte(secret)
	}
	pemText := e.PublicKey
	if e.PublicKeyFile != "" {
		if pemText != "" {
			return Partner{}, errors.New("public_key and public_key_file: give one")
		}
		b, err := readBeside(dir, e.PublicKeyFile, 16<<10)
		if err != nil {
			return Partner{}, fmt.Errorf("public_key_file: %w", err)
		}
		pemText = string(b)
	}
	if pemText != "" {
		if p.PublicKey, err = ParsePublicKey(pemText); err != nil {
			return Partner{}, err
		}
	}
	if e.Logo != "" {
		b, err := readBeside(dir, e.Logo, MaxLogoBytes)
		if err != nil {
			return Partner{}, fmt.Errorf("logo: %w", err)
		}
		if p.LogoType, err = logoType(filepath.Ext(e.Logo), b); err != nil {
			return Partner{}, fmt.Errorf("logo %s: %w", e.Logo, err)
		}
		p.Logo = b
	}
	return p, nil
}

// ParsePublicKey reads a launch key in PEM ("PUBLIC KEY", PKIX): Ed25519, or ECDSA on P-256.
func ParsePublicKey(pemText string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("public_key: want a PEM block \"PUBLIC KEY\" (openssl pkey -pubout)")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public_key: %w", err)
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return k, nil
		}
	}
	return nil, errors.New("public_key: want an Ed25519 or an ECDSA P-256 key")
}

// logoType names the image type of a logo from its content (an SVG from its extension and
// markup), refusing anything that is not a PNG, JPEG, WebP or SVG image.
func logoType(ext string, b []byte) (string, error) {
	if strings.EqualFold(ext, ".svg") {
		head := strings.ToLower(string(b[:min(len(b), 512)]))
		if strings.Contains(head, "<svg") {
			return "image/svg+xml", nil
		}
		return "", errors.New("not an SVG image")
	}
	switch t := http.DetectContentType(b); t {
	case "image/png", "image/jpeg", "image/webp":
		return t, nil
	default:
		return "", fmt.Errorf("a %s file: want PNG, JPEG, WebP or SVG", t)
	}
}

// validatePartners checks the partners: well-formed and distinct IDs, a name, origins a browser
// can send, exactly one launch key; and that the portal can give them cookies inside a frame,
// which browsers allow only over https (and on http://localhost for development).
func (c *Config) validatePartners() error {
	seen := map[string]bool{}
	for i := range c.Partners {
		p := &c.Partners[i]
		where := fmt.Sprintf("partner %q", p.ID)
		if !partnerID.MatchString(p.ID) {
			return fmt.Errorf("%s: id: want 1 to 32 of a-z, 0-9 and -, starting with a letter or digit", where)
		}
		if seen[p.ID] {
			return fmt.Errorf("%s: id named twice", where)
		}
		seen[p.ID] = true
		p.Name = strings.TrimSpace(p.Name)
		if p.Name == "" || len([]rune(p.Name)) > 80 {
			return fmt.Errorf("%s: name: want 1 to 80 characters", where)
		}
		if len(p.Origins) == 0 {
			return fmt.Errorf("%s: origins: name at least one, such as https://www.partner.example", where)
		}
		origins := make([]string, 0, len(p.Origins))
		for _, o := range p.Origins {
			canon, err := partnerOrigin(o)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			for _, prev := range origins {
				if prev == canon {
					return fmt.Errorf("%s: origins: %s named twice", where, canon)
				}
			}
			origins = append(origins, canon)
		}
		p.Origins = origins
		switch {
		case len(p.HMACSecret) > 0 && p.PublicKey != nil:
			return fmt.Errorf("%s: give hmac_secret or public_key, not both", where)
		case len(p.HMACSecret) == 0 && p.PublicKey == nil:
			return fmt.Errorf("%s: give a launch key: hmac_secret (or hmac_secret_env), or public_key (or public_key_file)", where)
		case len(p.HMACSecret) > 0 && len(p.HMACSecret) < MinPartnerSecret:
			return fmt.Errorf("%s: hmac_secret: want at least %d characters (openssl rand -base64 32)", where, MinPartnerSecret)
		}
		if p.Color != "" {
			if !hexColour.MatchString(p.Color) {
				return fmt.Errorf("%s: color %q: want a hex colour such as #0a5bd3", where, p.Color)
			}
			p.Color = strings.ToLower(p.Color)
		}
		if len(p.Logo) > 0 && p.LogoType == "" {
			return fmt.Errorf("%s: logo without an image type", where)
		}
	}
	if len(c.Partners) > 0 && !c.SecureCookies() && !c.loopbackBase() {
		return fmt.Errorf("partners need an https base-url: browsers give a framed page its cookies only over https (http://localhost for development), and base-url is %s", c.BaseURL)
	}
	return nil
}

// loopbackBase reports whether --base-url names a loopback host, which browsers treat as secure.
func (c *Config) loopbackBase() bool {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// partnerOrigin checks one origin of a partner and returns it in canonical form,
// scheme://host[:port] in lower case without a default port: https, or http on a loopback host
// for development.
func partnerOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.Contains(u.Host, "*") {
		return "", fmt.Errorf("origins: %q is not an origin such as https://www.partner.example", s)
	}
	host := strings.ToLower(u.Hostname())
	if u.Scheme == "http" && !isLoopbackHost(host) {
		return "", fmt.Errorf("origins: %q: want https (http only on localhost, for development)", s)
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// Partner returns the partner with id, if one is configured.
func (c *Config) Partner(id string) (Partner, bool) {
	for _, p := range c.Partners {
		if p.ID == id {
			return p, true
		}
	}
	return Partner{}, false
}

// PartnerOrigins lists the origins of every partner: the sites whose pages may frame the portal.
func (c *Config) PartnerOrigins() []string {
	var out []string
	for _, p := range c.Partners {
		out = append(out, p.Origins...)
	}
	return out
}

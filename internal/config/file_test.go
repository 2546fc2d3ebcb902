package config

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name → content into a new folder and returns the folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// parseWith parses flags with the environment env, the configuration file written from toml
// (with files beside it) and a base URL.
func parseWith(t *testing.T, base, toml string, files map[string]string, env map[string]string) (Config, error) {
	t.Helper()
	if files == nil {
		files = map[string]string{}
	}
	files["smsretire.toml"] = toml
	dir := writeFiles(t, files)
	var c Config
	_, err := c.Parse("t", []string{"--base-url", base, "--config-file", filepath.Join(dir, "smsretire.toml")}, func(k string) string { return env[k] })
	return c, err
}

var pngLogo = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"

func TestConfigFile_Partners(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	toml := `
[[partner]]
id = "acme"
name = "Acme Bank"
origins = ["https://WWW.acme.example:443/", "https://app.acme.example:8443"]
hmac_secret_env = "ACME_SECRET"
verifies_identity = true
logo = "acme.png"
color = "#0A5BD3"

[[partner]]
id = "beta-2"
name = "Beta"
origins = ["https://beta.example"]
public_key_file = "beta.pem"

[[partner]]
id = "gamma"
name = "Gamma"
origins = ["http://localhost:8082"]
public_key = """` + pemOf(t, &ecKey.PublicKey) + `"""
logo = "gamma.svg"
`
	c, err := parseWith(t, "https://portal.example", toml,
		map[string]string{"acme.png": pngLogo, "beta.pem": pemOf(t, edPub), "gamma.svg": `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`},
		map[string]string{"ACME_SECRET": strings.Repeat("s", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Partners) != 3 {
		t.Fatalf("%d partners", len(c.Partners))
	}
	acme, ok := c.Partner("acme")
	if !ok || acme.Name != "Acme Bank" || string(acme.HMACSecret) != strings.Repeat("s", 32) || !acme.VerifiesIdentity ||
		acme.Color != "#0a5bd3" || acme.LogoType != "image/png" || len(acme.Logo) != len(pngLogo) {
		t.Errorf("acme: %+v", acme)
	}
	if got := strings.Join(acme.Origins, " "); got != "https://www.acme.example https://app.acme.example:8443" {
		t.Errorf("acme origins %q", got)
	}
	beta, _ := c.Partner("beta-2")
	if k, ok := beta.PublicKey.(ed25519.PublicKey); !ok || !k.Equal(edPub) || beta.VerifiesIdentity || beta.Logo != nil {
		t.Errorf("beta: %+v", beta)
	}
	gamma, _ := c.Partner("gamma")
	if k, ok := gamma.PublicKey.(*ecdsa.PublicKey); !ok || !k.Equal(&ecKey.PublicKey) || gamma.LogoType != "image/svg+xml" {
		t.Errorf("gamma: %+v", gamma)
	}
	if _, ok := c.Partner("nobody"); ok {
		t.Error("an unknown partner was found")
	}
}

func TestConfigFile_RefusesWithTheReason(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := `hmac_secret = "` + strings.Repeat("k", 32) + `"`
	entry := func(lines ...string) string {
		return "[[partner]]\n" + strings.Join(lines, "\n") + "\n"
	}
	ok := []string{`id = "acme"`, `name = "Acme"`, `origins = ["https://acme.example"]`, secret}
	with := func(replace map[int]string, extra ...string) string {
		lines := append([]string(nil), ok...)
		for i, l := range replace {
			lines[i] = l
		}
		return entry(append(lines, extra...)...)
	}
	cases := []struct {
		name, base, toml, want string
		env                    map[string]string
	}{
		{"unknown key", "https://p.example", with(nil, `colour = "#000000"`), "unknown keys: partner.colour", nil},
		{"unknown section", "https://p.example", with(nil) + "[nope]\nx = 1\n", "unknown keys: nope", nil},
		{"not TOML", "https://p.example", "[[partner]\n", "config-file", nil},
		{"bad id", "https://p.example", with(map[int]string{0: `id = "Acme Bank"`}), "id: want", nil},
		{"id twice", "https://p.example", with(nil) + with(nil), "id named twice", nil},
		{"no name", "https://p.example", with(map[int]string{1: `name = " "`}), "name: want", nil},
		{"no origins", "https://p.example", with(map[int]string{2: `origins = []`}), "origins: name at least one", nil},
		{"a path is no origin", "https://p.example", with(map[int]string{2: `origins = ["https://acme.example/app"]`}), "is not an origin", nil},
		{"a wildcard is no origin", "https://p.example", with(map[int]string{2: `origins = ["https://*.acme.example"]`}), "is not an origin", nil},
		{"http elsewhere than localhost", "https://p.example", with(map[int]string{2: `origins = ["http://acme.example"]`}), "want https", nil},
		{"origin twice", "https://p.example", with(map[int]string{2: `origins = ["https://acme.example", "https://ACME.example:443"]`}), "named twice", nil},
		{"no key", "https://p.example", with(map[int]string{3: ``}), "give a launch key", nil},
		{"short secret", "https://p.example", with(map[int]string{3: `hmac_secret = "short"`}), "at least 32 characters", nil},
		{"secret twice", "https://p.example", with(nil, `hmac_secret_env = "X"`), "give one", nil},
		{"secret variable empty", "https://p.example", with(map[int]string{3: `hmac_secret_env = "ACME_SECRET"`}), "ACME_SECRET is empty", nil},
		{"two keys", "https://p.example", with(nil, `public_key = """`+pemOf(t, mustEd25519(t))+`"""`), "not both", nil},
		{"P-384 key", "https://p.example", with(map[int]string{3: `public_key = """` + pemOf(t, &p384.PublicKey) + `"""`}), "Ed25519 or an ECDSA P-256", nil},
		{"not PEM", "https://p.example", with(map[int]string{3: `public_key = "abc"`}), "PEM block", nil},
		{"bad colour", "https://p.example", with(nil, `color = "red"`), "want a hex colour", nil},
		{"short colour", "https://p.example", with(nil, `color = "#fff"`), "want a hex colour", nil},
		{"colour with CSS", "https://p.example", with(nil, `color = "#000000;}body{x:y"`), "want a hex colour", nil},
		{"logo missing", "https://p.example", with(nil, `logo = "none.png"`), "logo:", nil},
		{"logo not an image", "https://p.example", with(nil, `logo = "smsretire.toml"`), "want PNG, JPEG, WebP or SVG", nil},
		{"plain http portal", "http://p.example", with(nil), "partners need an https base-url", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseWith(t, tc.base, tc.toml, nil, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// A logo larger than the limit.
	dir := writeFiles(t, map[string]string{"big.png": pngLogo + strings.Repeat("\x00", MaxLogoBytes), "smsretire.toml": with(nil, `logo = "big.png"`)})
	var c Config
	if _, err := c.Parse("t", []string{"--base-url", "https://p.example", "--config-file", filepath.Join(dir, "smsretire.toml")}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a logo over the limit: %v", err)
	}
}

func mustEd25519(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestConfigFile_LocalhostPortalMayHavePartners(t *testing.T) {
	toml := "[[partner]]\nid = \"demo\"\nname = \"Demo\"\norigins = [\"http://127.0.0.1:8082\"]\nhmac_secret = \"" + strings.Repeat("x", 40) + "\"\n"
	c, err := parseWith(t, "http://localhost:8080", toml, nil, nil)
	if err != nil || len(c.Partners) != 1 || c.Partners[0].Origins[0] != "http://127.0.0.1:8082" {
		t.Fatalf("%+v, %v", c.Partners, err)
	}
}

func TestConfigFile_NoneGiven(t *testing.T) {
	var c Config
	if _, err := c.Parse("t", nil, func(string) string { return "" }); err != nil || len(c.Partners) != 0 {
		t.Fatalf("%+v, %v", c.Partners, err)
	}
	c = Config{}
	if _, err := c.Parse("t", []string{"--config-file", filepath.Join(t.TempDir(), "missing.toml")}, func(string) string { return "" }); err == nil {
		t.Error("a missing configuration file was accepted")
	}
}

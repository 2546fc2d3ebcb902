package demo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
)

// The demo file is made once with a secret that survives restarts; a shop at another address
// gets its redirect URI changed, the secret kept; the configuration takes its client.
func TestConfigFile_MadeOnceKeepsItsSecret(t *testing.T) {
	dir := t.TempDir()
	path, err := demo.ConfigFile(dir, "http://localhost:8081", "http://127.0.0.1:8082")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	if again, _ := demo.ConfigFile(dir, "http://localhost:8081", "http://127.0.0.1:8082"); again != path {
		t.Fatalf("second path %q", again)
	}
	if second, _ := os.ReadFile(path); string(second) != string(first) {
		t.Error("the file changed on a second start")
	}
	if _, err := demo.ConfigFile(dir, "http://localhost:9091", "http://127.0.0.1:9092"); err != nil {
		t.Fatal(err)
	}
	moved, _ := os.ReadFile(path)
	if !strings.Contains(string(moved), "http://localhost:9091/callback") {
		t.Errorf("redirect URI not moved: %s", moved)
	}
	secretOf := func(b []byte) string {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "secret = ") && !strings.Contains(l, "secret_env") {
				return l
			}
		}
		return ""
	}
	if secretOf(first) == "" || secretOf(first) != secretOf(moved) {
		t.Errorf("secret %q became %q", secretOf(first), secretOf(moved))
	}
	cfg := config.Default()
	cfg.DataDir = dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.AddDemoFile(filepath.Join(dir, demo.ConfigFileName), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	c, ok := cfg.ClientByID(demo.ShopClientID)
	if !ok || len(c.Secret) < 32 || c.RedirectURIs[0] != "http://localhost:9091/callback" || c.DisplayName("en") != "Example Shop" {
		t.Errorf("client %+v", c)
	}
	p, ok := cfg.Partner(demo.PartnerID)
	if !ok || len(p.HMACSecret) < 32 || len(p.Origins) != 1 || p.Origins[0] != "http://127.0.0.1:9092" || !p.VerifiesIdentity {
		t.Errorf("partner %+v", p)
	}
}

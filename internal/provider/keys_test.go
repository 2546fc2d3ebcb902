package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/smsretire/smsretire/internal/config"
)

func pemOf(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestLoadKeys_ConfiguredES256AndRS256InOrder(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rs)}))
	keys, generated, err := LoadKeys([]config.SigningKey{{ID: "new", PEM: pemOf(t, ec)}, {ID: "old", PEM: pkcs1}}, t.TempDir(), false)
	if err != nil || generated {
		t.Fatalf("LoadKeys: %v, generated %v", err, generated)
	}
	if keys[0].ID() != "new" || keys[0].SignatureAlgorithm() != jose.ES256 || keys[1].ID() != "old" || keys[1].SignatureAlgorithm() != jose.RS256 {
		t.Errorf("keys %s/%s, %s/%s", keys[0].ID(), keys[0].SignatureAlgorithm(), keys[1].ID(), keys[1].SignatureAlgorithm())
	}
	if _, ok := (public{keys[1]}).Key().(*rsa.PublicKey); !ok {
		t.Error("the published half of an RSA key is not its public key")
	}
}

func TestLoadKeys_RefusesWeakOrWrongKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rs1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, tc := range map[string]struct{ pem, want string }{
		"P-384":        {pemOf(t, p384), "P-256"},
		"RSA 1024":     {pemOf(t, rs1024), "2048"},
		"no PEM":       {"not a key", "no PEM block"},
		"a public key": {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a private key"},
	} {
		if _, _, err := LoadKeys([]config.SigningKey{{ID: "k", PEM: tc.pem}}, t.TempDir(), true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	if _, _, err := LoadKeys(nil, t.TempDir(), false); err == nil {
		t.Error("no key and no development keys allowed: accepted")
	}
}

// A development key is generated once, mode 0600; processes starting together end with one key.
func TestLoadKeys_DevelopmentKeyGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	ids := make([]string, 8)
	var generated sync.Map
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys, gen, err := LoadKeys(nil, dir, true)
			if err != nil {
				t.Error(err)
				return
			}
			generated.Store(i, gen)
			ids[i] = pemOf(t, keys[0].private)
		}()
	}
	wg.Wait()
	n := 0
	generated.Range(func(_, v any) bool {
		if v.(bool) {
			n++
		}
		return true
	})
	for _, id := range ids {
		if id != ids[0] {
			t.Fatal("processes starting together ended with different keys")
		}
	}
	if n != 1 {
		t.Errorf("%d processes generated a key, want 1", n)
	}
	st, err := os.Stat(filepath.Join(dir, devKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, st.Mode())
	}
	again, gen, err := LoadKeys(nil, dir, true)
	if err != nil || gen || pemOf(t, again[0].private) != ids[0] || again[0].ID() != devKeyID {
		t.Errorf("second start: generated %v, %v", gen, err)
	}
}

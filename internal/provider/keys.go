package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/smsretire/smsretire/internal/config"
)

// Key is one signing key: a private key with its ID and algorithm (ES256 for EC P-256, RS256 for
// RSA). It serves the library both as the key that signs (op.SigningKey) and, for its public
// half, as a key of the published set (op.Key).
type Key struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
}

// ID returns the key ID (kid).
func (k Key) ID() string { return k.id }

// SignatureAlgorithm returns ES256 or RS256.
func (k Key) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }

// Algorithm returns ES256 or RS256, as the JWKS publishes it.
func (k Key) Algorithm() jose.SignatureAlgorithm { return k.alg }

// Use returns "sig": the key signs.
func (k Key) Use() string { return "sig" }

// Key returns the private key for signing.
func (k Key) Key() any { return k.private }

// public is the published half of a Key.
type public struct{ k Key }

func (p public) ID() string                         { return p.k.id }
func (p public) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p public) Use() string                        { return "sig" }

// Key returns the public key, which is all the JWKS shows.
func (p public) Key() any { return p.k.private.Public() }

// Keys are the signing keys in force: the first signs, every one is published.
type Keys []Key

// devKeyFile is where development signing keys are generated, in --data-dir.
const devKeyFile = "dev-oidc-key.pem"

// devKeyID is the key ID of the generated development key.
const devKeyID = "dev-1"

// LoadKeys parses the configured signing keys. With none configured and allowDev, it reads the
// development key from dataDir, generating it there the first time (an EC P-256 key, written
// with O_EXCL so that two processes starting together end with one key); generated tells.
func LoadKeys(cfg []config.SigningKey, dataDir string, allowDev bool) (keys Keys, generated bool, err error) {
	if len(cfg) > 0 {
		for _, c := range cfg {
			k, err := parseKey(c.ID, []byte(c.PEM))
			if err != nil {
				return nil, false, fmt.Errorf("signing key %q: %w", c.ID, err)
			}
			keys = append(keys, k)
		}
		return keys, false, nil
	}
	if !allowDev {
		return nil, false, errors.New("no OpenID Connect signing key: add [[oidc.signing_key]] to --config-file")
	}
	k, generated, err := loadDevKey(filepath.Join(dataDir, devKeyFile))
	if err != nil {
		return nil, false, err
	}
	return Keys{k}, generated, nil
}

// parseKey reads a PEM private key: PKCS#8, SEC 1 (EC PRIVATE KEY) or PKCS#1 (RSA PRIVATE KEY).
func parseKey(id string, b []byte) (Key, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return Key{}, errors.New("no PEM block found")
	}
	var raw any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		raw, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		raw, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("parse private key: %w", err)
	}
	switch k := raw.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return Key{}, errors.New("an EC key must be on P-256 (ES256)")
		}
		return Key{id: id, alg: jose.ES256, private: k}, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return Key{}, errors.New("an RSA key must have at least 2048 bits (RS256)")
		}
		return Key{id: id, alg: jose.RS256, private: k}, nil
	}
	return Key{}, fmt.Errorf("a %T cannot sign ES256 or RS256", raw)
}

func loadDevKey(path string) (Key, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := parseKey(devKeyID, b)
		if err != nil {
			return Key{}, false, fmt.Errorf("read %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Key{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, false, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, false, fmt.Errorf("generate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, false, fmt.Errorf("create data dir: %w", err)
	}
	// Written whole under a temporary name, then linked into place only if no key is there: a
	// reader never sees half a file, and of two processes starting at once one key wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev-oidc-key-*")
	if err != nil {
		return Key{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return Key{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return Key{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return Key{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return loadDevKey(path) // another process won the race
	} else if err != nil {
		return Key{}, false, fmt.Errorf("write %s: %w", path, err)
	}
	return Key{id: devKeyID, alg: jose.ES256, private: priv}, true, nil
}

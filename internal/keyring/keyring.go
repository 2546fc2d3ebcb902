// Package keyring loads the portal's secret keys from configuration, or in development generates
// them once into the data directory.
package keyring

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Keys are the portal's secrets.
type Keys struct {
	Session    []byte   // signs and encrypts session cookies
	Token      []byte   // signs notice links
	Hash       []byte   // keys stored hashes of ID digits and codes
	Encryption []EncKey // encrypt data at rest; the first is used for new data
	// VAPID signs Web Push requests (RFC 8292); its zero value means push notifications are off.
	VAPID VAPID
}

// VAPID is the Web Push key pair of the server: a P-256 private scalar and its uncompressed
// public point, both base64url without padding, as browsers' applicationServerKey wants them.
type VAPID struct {
	Private string
	Public  string
}

// On reports whether a key is configured.
func (v VAPID) On() bool { return v.Private != "" }

// EncKey is one data-encryption key with the ID stored beside its ciphertexts.
type EncKey struct {
	ID  string
	Key []byte
}

// Env holds the key settings as given in the environment.
type Env struct {
	Session, Token, Hash, Encryption string
	VAPID                            string // optional: without it push notifications are off, or a development key is generated
}

// Configured reports whether every key is set.
func (e Env) Configured() bool {
	return e.Session != "" && e.Token != "" && e.Hash != "" && e.Encryption != ""
}

// ErrNotConfigured is returned when keys are missing and development keys are not allowed.
var ErrNotConfigured = errors.New("keys not configured: set SMSRETIRE_SESSION_KEY, SMSRETIRE_TOKEN_KEY, SMSRETIRE_HASH_KEY and SMSRETIRE_ENCRYPTION_KEYS")

const devFile = "dev-keys.json"

// Load returns the configured keys. When some are missing and allowDev is true, it reads them from
// dataDir/dev-keys.json, generating that file the first time; generated is then true so the
// caller can warn.
func Load(env Env, dataDir string, allowDev bool) (k Keys, generated bool, err error) {
	if env.Configured() {
		k, err = fromEnv(env)
		if err == nil && env.VAPID != "" {
			k.VAPID, err = ParseVAPID(env.VAPID)
		}
		return k, false, err
	}
	if env.Session != "" || env.Token != "" || env.Hash != "" || env.Encryption != "" {
		return Keys{}, false, errors.New("keys partly configured: set all four SMSRETIRE_*_KEY(S) variables or none")
	}
	if !allowDev {
		return Keys{}, false, ErrNotConfigured
	}
	if k, generated, err = loadDev(filepath.Join(dataDir, devFile)); err != nil {
		return k, generated, err
	}
	if env.VAPID != "" {
		k.VAPID, err = ParseVAPID(env.VAPID)
	} else {
		k.VAPID, err = loadDevVAPID(filepath.Join(dataDir, vapidFile))
	}
	return k, generated, err
}

const vapidFile = "vapid-key.json"

// ParseVAPID reads a VAPID private key (base64url or base64 of the 32-byte P-256 scalar) and
// derives its public key.
func ParseVAPID(s string) (VAPID, error) {
	s = strings.TrimSpace(s)
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != 32 {
		return VAPID{}, errors.New("SMSRETIRE_VAPID_PRIVATE_KEY: want the 32-byte P-256 private key in base64url")
	}
	k, err := ecdh.P256().NewPrivateKey(b)
	if err != nil {
		return VAPID{}, fmt.Errorf("SMSRETIRE_VAPID_PRIVATE_KEY: %w", err)
	}
	return VAPID{Private: base64.RawURLEncoding.EncodeToString(b), Public: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes())}, nil
}

// loadDevVAPID reads the development VAPID key of the data directory, generating it the first time.
func loadDevVAPID(path string) (VAPID, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		var d struct {
			Private string `json:"private"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return VAPID{}, brokenDevFile(path, err)
		}
		v, err := ParseVAPID(d.Private)
		if err != nil {
			return VAPID{}, brokenDevFile(path, err)
		}
		return v, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return VAPID{}, fmt.Errorf("read %s: %w", path, err)
	}
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPID{}, fmt.Errorf("generate VAPID key: %w", err)
	}
	priv := base64.RawURLEncoding.EncodeToString(k.Bytes())
	b, _ = json.MarshalIndent(map[string]string{"private": priv}, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return VAPID{}, fmt.Errorf("create data dir: %w", err)
	}
	err = writeNew(path, b)
	if errors.Is(err, os.ErrExist) {
		return loadDevVAPID(path) // another process won the race
	}
	if err != nil {
		return VAPID{}, fmt.Errorf("write %s: %w", path, err)
	}
	return ParseVAPID(priv)
}

func fromEnv(env Env) (Keys, error) {
	var k Keys
	var err error
	if k.Session, err = decode("SMSRETIRE_SESSION_KEY", env.Session); err != nil {
		return k, err
	}
	if k.Token, err = decode("SMSRETIRE_TOKEN_KEY", env.Token); err != nil {
		return k, err
	}
	if k.Hash, err = decode("SMSRETIRE_HASH_KEY", env.Hash); err != nil {
		return k, err
	}
	k.Encryption, err = ParseEncryptionKeys(env.Encryption)
	return k, err
}

// ParseEncryptionKeys reads "id:base64,id:base64", newest first; each key must be 32 bytes (AES-256).
func ParseEncryptionKeys(s string) ([]EncKey, error) {
	var out []EncKey
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		id, b64, ok := strings.Cut(part, ":")
		if !ok || id == "" || len(id) > 32 {
			return nil, fmt.Errorf("SMSRETIRE_ENCRYPTION_KEYS: want id:base64 pairs")
		}
		if seen[id] {
			return nil, fmt.Errorf("SMSRETIRE_ENCRYPTION_KEYS: key id %q twice", id)
		}
		seen[id] = true
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("SMSRETIRE_ENCRYPTION_KEYS: key %q must be 32 bytes in base64", id)
		}
		out = append(out, EncKey{ID: id, Key: key})
	}
	return out, nil
}

func decode(name, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("%s must be at least 32 bytes in base64", name)
	}
	return b, nil
}

type devKeys struct {
	Session    string `json:"session"`
	Token      string `json:"token"`
	Hash       string `json:"hash"`
	Encryption string `json:"encryption"`
}

func loadDev(path string) (Keys, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		var d devKeys
		if err := json.Unmarshal(b, &d); err != nil {
			return Keys{}, false, brokenDevFile(path, err)
		}
		k, err := fromEnv(Env{Session: d.Session, Token: d.Token, Hash: d.Hash, Encryption: d.Encryption})
		if err != nil {
			return Keys{}, false, brokenDevFile(path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Keys{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	d := devKeys{Session: random(), Token: random(), Hash: random(), Encryption: "dev1:" + random()}
	b, _ = json.MarshalIndent(d, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Keys{}, false, fmt.Errorf("create data dir: %w", err)
	}
	err = writeNew(path, b)
	if errors.Is(err, os.ErrExist) {
		return loadDev(path) // another process won the race
	}
	if err != nil {
		return Keys{}, false, fmt.Errorf("write %s: %w (nothing was kept: free space or fix the permissions, then start again)", path, err)
	}
	k, err := fromEnv(Env{Session: d.Session, Token: d.Token, Hash: d.Hash, Encryption: d.Encryption})
	return k, true, err
}

// brokenDevFile explains a development key file that cannot be read, and what to do about it.
func brokenDevFile(path string, err error) error {
	return fmt.Errorf("%s is not a valid development key file (%w). It holds the keys generated at the first start "+
		"(a full disk or a crash during that start can cut it short). Delete it and start again to generate new keys: "+
		"sessions, pending codes and authenticator apps set up under the old keys stop working. "+
		"In production, set SMSRETIRE_SESSION_KEY, SMSRETIRE_TOKEN_KEY, SMSRETIRE_HASH_KEY and SMSRETIRE_ENCRYPTION_KEYS instead", path, err)
}

// syncFile flushes a file to disk; tests replace it to interrupt a write.
var syncFile = (*os.File).Sync

// writeNew puts b at path all at once or not at all, and only if nothing is there: it writes a
// temporary file beside it, flushes it to disk and then links it into place, so a full disk or
// a crash leaves either no file or the whole one, never an empty or cut one. It returns an
// error wrapping os.ErrExist when path exists.
func writeNew(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // once linked, the file lives on under path
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := syncFile(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return err
		}
		// A file system without hard links: rename, which would replace a file that a process
		// starting at the same moment put there.
		if _, statErr := os.Stat(path); statErr == nil {
			return fmt.Errorf("%s: %w", path, os.ErrExist)
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable too
		d.Sync()
		d.Close()
	}
	return nil
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Derive returns n bytes derived from secret for one purpose, so one configured key can feed
// several independent uses.
func Derive(secret []byte, purpose string, n int) []byte {
	out, err := hkdf.Key(sha256.New, secret, nil, "smsretire "+purpose, n)
	if err != nil {
		panic(fmt.Sprintf("hkdf: %v", err)) // only for n beyond 255*32, a programming error
	}
	return out
}

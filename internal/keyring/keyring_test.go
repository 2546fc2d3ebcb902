package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoad_GeneratesDevKeysOnceAndReusesThem(t *testing.T) {
	dir := t.TempDir()
	k1, gen1, err := Load(Env{}, dir, true)
	if err != nil || !gen1 {
		t.Fatalf("first load: generated=%v err=%v", gen1, err)
	}
	k2, gen2, err := Load(Env{}, dir, true)
	if err != nil || gen2 {
		t.Fatalf("second load: generated=%v err=%v", gen2, err)
	}
	if !bytes.Equal(k1.Session, k2.Session) || !bytes.Equal(k1.Token, k2.Token) || k1.Encryption[0].ID != k2.Encryption[0].ID {
		t.Error("keys changed between loads")
	}
	st, err := os.Stat(filepath.Join(dir, devFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v", st.Mode(), err)
	}
}

func TestLoad_RefusesMissingKeysWithoutDev(t *testing.T) {
	if _, _, err := Load(Env{}, t.TempDir(), false); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := Load(Env{Session: random()}, t.TempDir(), true); err == nil {
		t.Fatal("partly configured keys accepted")
	}
}

func TestLoad_ReadsConfiguredKeys(t *testing.T) {
	env := Env{Session: random(), Token: random(), Hash: random(), Encryption: "k2:" + random() + ",k1:" + random()}
	k, gen, err := Load(env, t.TempDir(), false)
	if err != nil || gen || len(k.Encryption) != 2 || k.Encryption[0].ID != "k2" {
		t.Fatalf("got %+v gen=%v err=%v", k.Encryption, gen, err)
	}
	if _, _, err := Load(Env{Session: "c2hvcnQ=", Token: random(), Hash: random(), Encryption: "k:" + random()}, "", false); err == nil {
		t.Fatal("short key accepted")
	}
}

// A write cut short (a full disk at the first start) leaves no key file, not an empty one, and
// the next start, once there is room, generates the keys as if nothing had happened.
func TestLoad_InterruptedDevKeyWriteLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	full := errors.New("no space left on device")
	syncFile = func(*os.File) error { return full }
	_, _, err := Load(Env{}, dir, true)
	syncFile = (*os.File).Sync
	path := filepath.Join(dir, devFile)
	if !errors.Is(err, full) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v; want the disk's error naming %s", err, path)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	k, gen, err := Load(Env{}, dir, true)
	if err != nil || !gen || len(k.Session) != 32 {
		t.Fatalf("after space was freed: generated=%v err=%v", gen, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // dev-keys.json and vapid-key.json
		t.Errorf("files in the data dir: %v", entries)
	}
}

// The development VAPID key is generated once, read back the same, and its public key is the
// uncompressed P-256 point browsers take as applicationServerKey; a configured one wins.
func TestLoad_VAPIDKeyGeneratedOnceOrConfigured(t *testing.T) {
	dir := t.TempDir()
	a, _, err := Load(Env{}, dir, true)
	if err != nil || !a.VAPID.On() {
		t.Fatalf("generated: %+v, %v", a.VAPID, err)
	}
	b, _, err := Load(Env{}, dir, true)
	if err != nil || b.VAPID != a.VAPID {
		t.Fatalf("read back %+v, want %+v (%v)", b.VAPID, a.VAPID, err)
	}
	if pub, _ := base64.RawURLEncoding.DecodeString(a.VAPID.Public); len(pub) != 65 || pub[0] != 4 {
		t.Fatalf("public key of %d bytes", len(pub))
	}
	env := Env{Session: random(), Token: random(), Hash: random(), Encryption: "k:" + random(), VAPID: a.VAPID.Private}
	c, _, err := Load(env, t.TempDir(), false)
	if err != nil || c.VAPID != a.VAPID {
		t.Fatalf("configured: %+v, %v", c.VAPID, err)
	}
	env.VAPID = "c2hvcnQ"
	if _, _, err := Load(env, "", false); err == nil {
		t.Fatal("short VAPID key accepted")
	}
}

// A key file an older version left empty or cut short is named in the error, which says what
// to do, instead of "unexpected end of JSON input".
func TestLoad_BrokenDevKeyFileSaysWhatToDo(t *testing.T) {
	for _, content := range []string{"", `{"session": "abc`, `{"session": "c2hvcnQ="}`} {
		dir := t.TempDir()
		path := filepath.Join(dir, devFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(Env{}, dir, true)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "Delete it") || !strings.Contains(err.Error(), "SMSRETIRE_ENCRYPTION_KEYS") {
			t.Errorf("content %q: err = %v", content, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("content %q: the broken file was changed to %q", content, b)
		}
	}
}

// Processes starting at once agree on one key file.
func TestLoad_ConcurrentFirstStartsAgree(t *testing.T) {
	dir := t.TempDir()
	keys := make([]Keys, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], _, errs[i] = Load(Env{}, dir, true) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || !bytes.Equal(keys[i].Session, keys[0].Session) {
			t.Fatalf("start %d: %v, same keys %v", i, errs[i], bytes.Equal(keys[i].Session, keys[0].Session))
		}
	}
}

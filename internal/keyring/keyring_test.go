package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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

package sealbox

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smsretire/smsretire/internal/keyring"
)

var (
	k1 = keyring.EncKey{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}
	k2 = keyring.EncKey{ID: "k2", Key: bytes.Repeat([]byte{2}, 32)}
)

func newBox(t *testing.T, keys ...keyring.EncKey) *Box {
	t.Helper()
	b, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeal_OpensToThePlaintext(t *testing.T) {
	b := newBox(t, k1)
	plain := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	ad := []byte("totp:alice")
	ct, id, err := b.Seal(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if id != "k1" {
		t.Errorf("key ID = %q, want k1", id)
	}
	if bytes.Contains(ct, plain) {
		t.Error("ciphertext contains the plaintext")
	}
	if len(ct) != 12+len(plain)+16 {
		t.Errorf("ciphertext is %d bytes, want nonce 12 + %d + tag 16", len(ct), len(plain))
	}
	got, err := b.Open(ct, id, ad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, want %q", got, plain)
	}
}

func TestSeal_UsesAFreshNonceEachTime(t *testing.T) {
	b := newBox(t, k1)
	a, _, err := b.Seal([]byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := b.Seal([]byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:12], c[:12]) || bytes.Equal(a, c) {
		t.Error("two seals of the same plaintext are identical")
	}
}

func TestOpen_RefusesAlteredCiphertext(t *testing.T) {
	b := newBox(t, k1)
	ct, id, err := b.Seal([]byte("secret"), []byte("totp:alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ct   []byte
	}{
		{"nonce bit flipped", flip(ct, 0)},
		{"body bit flipped", flip(ct, 12)},
		{"tag bit flipped", flip(ct, len(ct)-1)},
		{"truncated", ct[:len(ct)-1]},
		{"shorter than nonce and tag", ct[:20]},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.Open(tc.ct, id, []byte("totp:alice")); !errors.Is(err, ErrOpen) {
				t.Errorf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestOpen_RefusesOtherAdditionalData(t *testing.T) {
	b := newBox(t, k1)
	ct, id, err := b.Seal([]byte("secret"), []byte("totp:alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range []string{"totp:bob", "", "totp:alice "} {
		if _, err := b.Open(ct, id, []byte(ad)); !errors.Is(err, ErrOpen) {
			t.Errorf("Open with %q = %v, want ErrOpen", ad, err)
		}
	}
}

func TestOpen_RefusesUnknownKeyID(t *testing.T) {
	b := newBox(t, k1)
	ct, _, err := b.Seal([]byte("secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ct, "k9", nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open = %v, want ErrUnknownKey", err)
	}
}

func TestOpen_RefusesTheWrongKeyUnderAKnownID(t *testing.T) {
	ct, _, err := newBox(t, k1).Seal([]byte("secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	impostor := newBox(t, keyring.EncKey{ID: "k1", Key: k2.Key})
	if _, err := impostor.Open(ct, "k1", nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open = %v, want ErrOpen", err)
	}
}

func TestKeyRotation(t *testing.T) {
	ad := []byte("totp:alice")
	old := newBox(t, k1)
	oldCT, oldID, err := old.Seal([]byte("old secret"), ad)
	if err != nil {
		t.Fatal(err)
	}

	rotated := newBox(t, k2, k1)
	if got, err := rotated.Open(oldCT, oldID, ad); err != nil || string(got) != "old secret" {
		t.Fatalf("rotated box opens old data: %q, %v", got, err)
	}
	newCT, newID, err := rotated.Seal([]byte("new secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if newID != "k2" || rotated.NewestKeyID() != "k2" {
		t.Errorf("new seal uses %q (newest %q), want k2", newID, rotated.NewestKeyID())
	}
	if _, err := old.Open(newCT, newID, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old box opens k2 data: %v, want ErrUnknownKey", err)
	}

	retired := newBox(t, k2)
	if _, err := retired.Open(oldCT, oldID, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("box without k1 opens k1 data: %v, want ErrUnknownKey", err)
	}
	if got, err := retired.Open(newCT, newID, ad); err != nil || string(got) != "new secret" {
		t.Errorf("box with k2 opens k2 data: %q, %v", got, err)
	}
}

func TestReseal_MovesDataToTheNewestKey(t *testing.T) {
	ad := []byte("totp:alice")
	oldCT, oldID, err := newBox(t, k1).Seal([]byte("secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	ct, id, err := newBox(t, k2, k1).Reseal(oldCT, oldID, ad)
	if err != nil {
		t.Fatal(err)
	}
	if id != "k2" {
		t.Errorf("Reseal key ID = %q, want k2", id)
	}
	if got, err := newBox(t, k2).Open(ct, id, ad); err != nil || string(got) != "secret" {
		t.Errorf("resealed data opens with k2 alone: %q, %v", got, err)
	}
	if _, _, err := newBox(t, k2, k1).Reseal(oldCT, oldID, []byte("totp:bob")); !errors.Is(err, ErrOpen) {
		t.Errorf("Reseal with other additional data = %v, want ErrOpen", err)
	}
}

func TestNew_RefusesBadKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []keyring.EncKey
	}{
		{"none", nil},
		{"short key", []keyring.EncKey{{ID: "k1", Key: make([]byte, 16)}}},
		{"long key", []keyring.EncKey{{ID: "k1", Key: make([]byte, 33)}}},
		{"empty ID", []keyring.EncKey{{ID: "", Key: k1.Key}}},
		{"duplicate ID", []keyring.EncKey{k1, {ID: "k1", Key: k2.Key}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.keys); err == nil {
				t.Error("New accepted the keys")
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

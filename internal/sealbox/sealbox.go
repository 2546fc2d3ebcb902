// Package sealbox encrypts small secrets at rest, such as TOTP secrets, with AES-256-GCM. Each
// ciphertext is stored beside the ID of the key that sealed it, so keys can rotate: new data is
// sealed with the newest key while older keys stay listed to open what they sealed.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/smsretire/smsretire/internal/keyring"
)

// ErrUnknownKey means the ciphertext names a key the box does not hold (retired too early, or
// configured elsewhere).
var ErrUnknownKey = errors.New("sealbox: unknown key ID")

// ErrOpen means the ciphertext does not open: it was altered, truncated, or sealed for other
// additional data.
var ErrOpen = errors.New("sealbox: ciphertext does not open")

// Box seals with the newest of its keys and opens with any of them.
type Box struct {
	newest string
	aeads  map[string]cipher.AEAD
}

// New returns a box for keys, newest first; each key must be 32 bytes and have its own ID.
func New(keys []keyring.EncKey) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("sealbox: no keys")
	}
	b := &Box{newest: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if k.ID == "" {
			return nil, errors.New("sealbox: key without ID")
		}
		if _, dup := b.aeads[k.ID]; dup {
			return nil, fmt.Errorf("sealbox: key ID %q twice", k.ID)
		}
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("sealbox: key %q must be 32 bytes, not %d", k.ID, len(k.Key))
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("sealbox: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("sealbox: key %q: %w", k.ID, err)
		}
		b.aeads[k.ID] = aead
	}
	return b, nil
}

// NewestKeyID names the key that seals new data; a stored key ID that differs marks data that
// Reseal would move to it.
func (b *Box) NewestKeyID() string { return b.newest }

// Seal encrypts plaintext with the newest key and a random 96-bit nonce, which prefixes the
// returned ciphertext. additionalData binds the ciphertext to its owner (such as "totp:"+userID):
// Open must be given the same.
func (b *Box) Seal(plaintext, additionalData []byte) (ciphertext []byte, keyID string, err error) {
	aead := b.aeads[b.newest]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("sealbox: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, additionalData), b.newest, nil
}

// Open decrypts a ciphertext that Seal made with the key keyID and the same additionalData.
// It returns ErrUnknownKey for a key the box does not hold and ErrOpen for anything altered.
func (b *Box) Open(ciphertext []byte, keyID string, additionalData []byte) ([]byte, error) {
	aead, ok := b.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	n := aead.NonceSize()
	if len(ciphertext) < n+aead.Overhead() {
		return nil, ErrOpen
	}
	plaintext, err := aead.Open(nil, ciphertext[:n], ciphertext[n:], additionalData)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// Reseal opens a ciphertext and seals its plaintext again with the newest key, for moving data
// off a key that is about to be retired.
func (b *Box) Reseal(ciphertext []byte, keyID string, additionalData []byte) ([]byte, string, error) {
	plaintext, err := b.Open(ciphertext, keyID, additionalData)
	if err != nil {
		return nil, "", err
	}
	defer clear(plaintext)
	return b.Seal(plaintext, additionalData)
}

package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
)

// ErrIDLast4 reports ID digits that are not 4 letters or digits.
var ErrIDLast4 = errors.New("id_last4: want the last 4 characters of the ID document, letters or digits")

// NormalizeIDLast4 trims and upper-cases the last characters of an ID document (Chinese ID
// numbers may end in X) and checks that there are exactly 4 letters or digits.
func NormalizeIDLast4(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 4 {
		return "", ErrIDLast4
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
			return "", ErrIDLast4
		}
	}
	return s, nil
}

// IDHasher makes the keyed hashes under which ID digits are stored. The user ID is mixed in, so
// equal digits of two users do not give equal hashes.
type IDHasher struct{ key []byte }

// NewIDHasher returns a hasher with a key of at least 32 bytes.
func NewIDHasher(key []byte) *IDHasher { return &IDHasher{key: key} }

// Hash returns the keyed hash of a user's normalised ID digits.
func (h *IDHasher) Hash(userID, last4 string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("smsretire id-last4\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(last4))
	return m.Sum(nil)
}

// Match reports, in constant time, whether last4 hashes to stored.
func (h *IDHasher) Match(userID, last4 string, stored []byte) bool {
	n, err := NormalizeIDLast4(last4)
	if err != nil || len(stored) == 0 {
		return false
	}
	return hmac.Equal(h.Hash(userID, n), stored)
}

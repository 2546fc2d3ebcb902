package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors returned by NoticeSigner.Parse. Neither says whether the account exists.
var (
	ErrTokenInvalid = errors.New("notice token invalid")
	ErrTokenExpired = errors.New("notice token expired")
)

const tokenVersion = "n1"

// maxTokenLen bounds what Parse will look at, so a stranger cannot make it work hard.
const maxTokenLen = 512

// NoticeSigner signs and checks the tokens in personal notice links. A token carries the user
// ID and an expiry, with an HMAC-SHA256 over both.
type NoticeSigner struct {
	key []byte
}

// NewNoticeSigner returns a signer using key, which must hold at least 32 bytes.
func NewNoticeSigner(key []byte) (*NoticeSigner, error) {
	if len(key) < 32 {
		return nil, errors.New("notice token key: need at least 32 bytes")
	}
	return &NoticeSigner{key: key}, nil
}

// Sign returns a URL-safe token for userID that is valid until expires.
func (s *NoticeSigner) Sign(userID string, expires time.Time) string {
	payload := tokenVersion + "." + base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." +
		strconv.FormatInt(expires.Unix(), 36)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Parse checks a token and returns the user ID it was signed for.
func (s *NoticeSigner) Parse(token string, now time.Time) (string, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return "", ErrTokenInvalid
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", ErrTokenInvalid
	}
	payload, sig := token[:i], token[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return "", ErrTokenInvalid
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != tokenVersion {
		return "", ErrTokenInvalid
	}
	id, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(id) == 0 {
		return "", ErrTokenInvalid
	}
	exp, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil {
		return "", ErrTokenInvalid
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", ErrTokenExpired
	}
	return string(id), nil
}

func (s *NoticeSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("smsretire notice\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Package device recognises the browsers a user signs in on, so that a sign-in from one they have
// not used before sends them a notice.
//
// A device is a browser profile holding a random token in a long-lived cookie (Lifetime), seen
// with one browser family ("Chrome on Windows", from its User-Agent). The database keeps only a
// keyed hash of the token with the family, per user, and when it was first and last seen: no IP
// address, no fingerprint. The same profile with another browser family (a copied cookie) counts
// as another device; a browser that lost its cookie (private windows, cleared data) counts as new,
// which errs on the side of telling the user. The cookie is made at the first verification or
// sign-in and renewed at each; rows unused for Lifetime are deleted by the retention job.
package device

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/useragent"
)

// Lifetime is how long a device is remembered after its last use: the cookie's lifetime, and the
// age at which the retention job deletes its row.
const Lifetime = 365 * 24 * time.Hour

// Service recognises devices.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	key     []byte
	notices *securitynotice.Service
}

// New returns the device service; key keys the stored hashes of the tokens (give it a key of its
// own, such as keyring.Derive(keys.Hash, "devices", 32)).
func New(st *store.SQL, clk clock.Clock, key []byte, notices *securitynotice.Service) *Service {
	return &Service{st: st, clock: clk, key: key, notices: notices}
}

// Seen is what recognising a browser found.
type Seen struct {
	Token string // the token the browser keeps from now on: the one it sent, or a new one
	New   bool   // the user had not used this device before
}

// SignedIn records a sign-in of userID on the browser that sent token ("" or a malformed one when
// it has none) and, when the user had not used that device before, writes the new-device notice
// and the history entry, in one transaction.
func (s *Service) SignedIn(ctx context.Context, userID, token string, c audit.Client) (Seen, error) {
	return s.see(ctx, userID, token, c, true)
}

// Verified records that userID verified their identity on the browser, without a notice: a code
// to their phone or email, or support, verified them, and a sign-in there later is no surprise.
func (s *Service) Verified(ctx context.Context, userID, token string, c audit.Client) (Seen, error) {
	return s.see(ctx, userID, token, c, false)
}

func (s *Service) see(ctx context.Context, userID, token string, c audit.Client, tell bool) (Seen, error) {
	if !wellFormed(token) {
		var err error
		if token, err = newToken(); err != nil {
			return Seen{}, err
		}
	}
	now := s.clock.Now()
	seen := Seen{Token: token}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if seen.New, err = tx.SeeDevice(ctx, s.id(token), userID, useragent.Family(c.UserAgent), now); err != nil || !seen.New || !tell {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.DeviceNew.Event(userID, c, now, nil)); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.NewDevice, Client: c, At: now})
	})
	if err != nil {
		return Seen{}, fmt.Errorf("device: %w", err)
	}
	return seen, nil
}

// CheckupDue reports whether someone who verified or signed in on the browser holding token has a
// check-up due, so the portal can ask them, without naming the account, to sign in once.
func (s *Service) CheckupDue(ctx context.Context, token string) (bool, error) {
	if !wellFormed(token) {
		return false, nil
	}
	return s.st.CheckupDueOnDevice(ctx, s.id(token), s.clock.Now())
}

// id is the stored form of a token.
func (s *Service) id(token string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("smsretire device\x00" + token))
	return hex.EncodeToString(m.Sum(nil))
}

const tokenBytes = 32

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("device token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormed reports whether token has the form newToken gives: anything else is no token.
func wellFormed(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

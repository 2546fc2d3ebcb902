// Package partner opens launches from partner sites: a partner's backend signs a short-lived
// token naming one of its signed-in users, and the portal, framed in the partner's page, opens
// that user's journey. A token works once on any instance (its nonce is taken in the database),
// for at most MaxLifetime, and only under the key configured for its partner ([[partner]]).
package partner

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/store"
)

// Limits of a launch token.
const (
	MaxLifetime = 5 * time.Minute  // from now (or from its iat) to its exp
	Skew        = 30 * time.Second // clocks of the partner and the portal may differ by this much
	MaxToken    = 4096             // bytes of a compact token
	minNonce    = 16               // characters of a nonce, such as 16 random bytes in hex or base64
	maxNonce    = 128
	maxUserID   = 128
)

// The refusals of a launch. Every one means the same to the user (start again from the partner's
// site); the log and the tests tell them apart.
var (
	ErrUnknownPartner = errors.New("partner: no such partner")
	ErrInvalid        = errors.New("partner: launch token invalid")
	ErrExpired        = errors.New("partner: launch token expired")
	ErrReplayed       = errors.New("partner: launch token used before")
	ErrUnknownUser    = errors.New("partner: launch token names no user of the roster")
)

// Claims are what a launch token carries: iss (the partner's ID), aud (the portal's base URL),
// sub (the user's account ID), exp, jti (the nonce), optional iat and nbf, and optional origin
// (which of the partner's origins frames the portal, to send messages to; the first by default).
type Claims struct {
	jwt.Claims
	Origin string `json:"origin,omitempty"`
}

// Launch is an accepted launch: whom, from which partner, and where its messages go.
type Launch struct {
	Partner config.Partner
	UserID  string
	Origin  string // one of Partner.Origins
	Nonce   string
	Expires time.Time
}

// Parse checks a launch token for partner p, addressed to audience (the portal's base URL), at
// now: signed with the partner's key and algorithm, issued by the partner, naming a user and a
// nonce, valid now and for at most MaxLifetime. It does not take the nonce (see Service.Open).
func Parse(p config.Partner, audience, token string, now time.Time) (Launch, error) {
	if len(token) == 0 || len(token) > MaxToken {
		return Launch{}, fmt.Errorf("%w: %d bytes", ErrInvalid, len(token))
	}
	var key any
	var alg jose.SignatureAlgorithm
	switch k := p.PublicKey.(type) {
	case nil:
		if len(p.HMACSecret) == 0 {
			return Launch{}, fmt.Errorf("%w: partner %s has no key", ErrInvalid, p.ID)
		}
		key, alg = p.HMACSecret, jose.HS256
	case ed25519.PublicKey:
		key, alg = k, jose.EdDSA
	case *ecdsa.PublicKey:
		key, alg = k, jose.ES256
	default:
		return Launch{}, fmt.Errorf("%w: partner %s has a key of type %T", ErrInvalid, p.ID, k)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return Launch{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var c Claims
	if err := tok.Claims(key, &c); err != nil {
		return Launch{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case c.Expiry == nil:
		return Launch{}, fmt.Errorf("%w: no exp", ErrInvalid)
	case c.Subject == "" || len(c.Subject) > maxUserID:
		return Launch{}, fmt.Errorf("%w: sub of %d bytes", ErrInvalid, len(c.Subject))
	case len(c.ID) < minNonce || len(c.ID) > maxNonce:
		return Launch{}, fmt.Errorf("%w: jti (the nonce) of %d bytes, want %d to %d", ErrInvalid, len(c.ID), minNonce, maxNonce)
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: p.ID, AnyAudience: jwt.Audience{audience}, Time: now}, Skew)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return Launch{}, fmt.Errorf("%w: %w", ErrExpired, err)
	case err != nil:
		return Launch{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	exp := c.Expiry.Time()
	if exp.Sub(now) > MaxLifetime+Skew {
		return Launch{}, fmt.Errorf("%w: exp %s is more than %s ahead", ErrInvalid, exp.Sub(now), MaxLifetime)
	}
	if c.IssuedAt != nil && exp.Sub(c.IssuedAt.Time()) > MaxLifetime {
		return Launch{}, fmt.Errorf("%w: lives %s from iat, more than %s", ErrInvalid, exp.Sub(c.IssuedAt.Time()), MaxLifetime)
	}
	l := Launch{Partner: p, UserID: c.Subject, Origin: p.Origins[0], Nonce: c.ID, Expires: exp}
	if c.Origin != "" {
		found := false
		for _, o := range p.Origins {
			found = found || o == c.Origin
		}
		if !found {
			return Launch{}, fmt.Errorf("%w: origin %q is not one of the partner's", ErrInvalid, c.Origin)
		}
		l.Origin = c.Origin
	}
	return l, nil
}

// Service opens launches against the configured partners and the database.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	partners func(id string) (config.Partner, bool)
	audience string
}

// New returns the launch service: partners finds a configured partner by ID, audience is the
// portal's base URL, which tokens must name in aud.
func New(st *store.SQL, clk clock.Clock, partners func(id string) (config.Partner, bool), audience string) *Service {
	return &Service{st: st, clock: clk, partners: partners, audience: audience}
}

// Partner returns the configured partner with id.
func (s *Service) Partner(id string) (config.Partner, bool) { return s.partners(id) }

// Open accepts a launch token of the partner with partnerID once: it checks the token (Parse),
// that its user is in the roster, and takes its nonce, so the same token opens nothing again on
// any instance.
func (s *Service) Open(ctx context.Context, partnerID, token string) (Launch, error) {
	p, ok := s.partners(partnerID)
	if !ok {
		return Launch{}, ErrUnknownPartner
	}
	l, err := Parse(p, s.audience, token, s.clock.Now())
	if err != nil {
		return Launch{}, err
	}
	if _, err := s.st.UserByID(ctx, l.UserID); errors.Is(err, campaign.ErrUserNotFound) {
		return Launch{}, ErrUnknownUser
	} else if err != nil {
		return Launch{}, err
	}
	// The nonce is kept until the token could no longer be used anyway.
	taken, err := s.st.TakeLaunchNonce(ctx, nonceID(p.ID, l.Nonce), l.Expires.Add(Skew))
	if err != nil {
		return Launch{}, err
	}
	if !taken {
		return Launch{}, ErrReplayed
	}
	return l, nil
}

// nonceID is the stored ID of a partner's nonce.
func nonceID(partnerID, nonce string) string {
	sum := sha256.Sum256([]byte(partnerID + "\x00" + nonce))
	return hex.EncodeToString(sum[:])
}

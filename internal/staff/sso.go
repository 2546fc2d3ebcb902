package staff

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/smsretire/smsretire/internal/store"
)

// Staff may sign in through the company's own OpenID Connect provider (--staff-oidc-issuer): the
// authorization code flow with state, nonce and PKCE (S256), the ID token verified by go-oidc.
// The provider vouches for the email and, in a claim the operator names, the role; a staff member
// is made or brought up to date from them at each sign-in.

// SSOSettings configure the company's provider.
type SSOSettings struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RoleClaim    string // the ID token claim that carries the role
	RedirectURL  string // the portal's callback, registered at the provider
}

// SSO signs staff in through the company's provider, discovered on first use.
type SSO struct {
	set  SSOSettings
	mu   sync.Mutex
	prov *oidc.Provider
}

// NewSSO returns the company sign-in; nothing is fetched until a staff member uses it.
func NewSSO(set SSOSettings) *SSO { return &SSO{set: set} }

// ErrSSO refuses a company sign-in: the provider's answer did not verify, or it named no verified
// email or no staff role.
var ErrSSO = errors.New("staff: the company sign-in did not verify")

// SSOPending is what the browser keeps between going to the provider and coming back: compared
// and used at the callback, never shown.
type SSOPending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

func (s *SSO) provider(ctx context.Context) (*oidc.Provider, oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prov == nil {
		p, err := oidc.NewProvider(ctx, s.set.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, fmt.Errorf("discover %s: %w", s.set.Issuer, err)
		}
		s.prov = p
	}
	return s.prov, oauth2.Config{ClientID: s.set.ClientID, ClientSecret: s.set.ClientSecret, Endpoint: s.prov.Endpoint(),
		RedirectURL: s.set.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

// Start returns where to send the browser, and what it must keep for the callback.
func (s *SSO) Start(ctx context.Context) (string, SSOPending, error) {
	_, conf, err := s.provider(ctx)
	if err != nil {
		return "", SSOPending{}, err
	}
	p := SSOPending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	return conf.AuthCodeURL(p.State, oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce)), p, nil
}

// SSOIdentity is whom the provider vouched for.
type SSOIdentity struct {
	Subject string
	Email   string
	Name    string
	Role    Role
}

// Finish exchanges the callback's code with the pending PKCE verifier, verifies the ID token
// (issuer, audience, expiry, signature, nonce) and reads the verified email and the role claim.
// The caller has compared the callback's state with p.State.
func (s *SSO) Finish(ctx context.Context, code string, p SSOPending) (SSOIdentity, error) {
	prov, conf, err := s.provider(ctx)
	if err != nil {
		return SSOIdentity{}, err
	}
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return SSOIdentity{}, fmt.Errorf("%w: exchange: %v", ErrSSO, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return SSOIdentity{}, fmt.Errorf("%w: no ID token", ErrSSO)
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: s.set.ClientID}).Verify(ctx, raw)
	if err != nil {
		return SSOIdentity{}, fmt.Errorf("%w: %v", ErrSSO, err)
	}
	if idt.Nonce == "" || idt.Nonce != p.Nonce {
		return SSOIdentity{}, fmt.Errorf("%w: nonce", ErrSSO)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return SSOIdentity{}, fmt.Errorf("%w: claims: %v", ErrSSO, err)
	}
	email, _ := claims["email"].(string)
	if verified, ok := claims["email_verified"].(bool); ok && !verified {
		email = ""
	}
	email, err = NormalizeEmail(email)
	if err != nil {
		return SSOIdentity{}, fmt.Errorf("%w: no verified email", ErrSSO)
	}
	role, ok := highestRole(claims[s.set.RoleClaim])
	if !ok {
		return SSOIdentity{}, fmt.Errorf("%w: no staff role in %q", ErrSSO, s.set.RoleClaim)
	}
	name, _ := claims["name"].(string)
	return SSOIdentity{Subject: idt.Subject, Email: email, Name: name, Role: role}, nil
}

// highestRole reads a role claim: a role's name, or a list of names (other values ignored), of
// which the most allowed counts.
func highestRole(v any) (Role, bool) {
	var names []string
	switch v := v.(type) {
	case string:
		names = []string{v}
	case []any:
		for _, n := range v {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	best := Role("")
	for _, n := range names {
		if r, ok := ParseRole(n); ok && r.rank() > best.rank() {
			best = r
		}
	}
	return best, best != ""
}

// SignInSSO signs in the staff member the company's provider vouched for: made active with the
// provider's role when new, their role brought up to date otherwise; a member an admin disabled
// stays out (ErrNotActive). It is recorded, with the role given.
func (s *Service) SignInSSO(ctx context.Context, id SSOIdentity, clientIP string) (Member, error) {
	now := s.clock.Now()
	m, err := s.ByEmail(ctx, id.Email)
	switch {
	case errors.Is(err, ErrNotFound):
		sid, err := randomID()
		if err != nil {
			return Member{}, err
		}
		m = Member{ID: sid, Email: id.Email, Role: id.Role, DisplayName: id.Name, Status: Active, CreatedAt: now, CreatedBy: "sso"}
		err = s.st.InTx(ctx, func(tx *store.Tx) error {
			err := tx.InsertStaff(ctx, store.StaffMember{ID: m.ID, Email: m.Email, Role: string(m.Role), DisplayName: m.DisplayName,
				Status: string(m.Status), CreatedAt: now, CreatedBy: m.CreatedBy, UpdatedAt: now})
			if err != nil {
				return err
			}
			return Record(ctx, tx, Entry{Actor: m.Actor(clientIP), Action: ActionSignIn, At: now,
				Detail: map[string]string{"kind": "sso", "role": string(id.Role), "new": "true", "sub": id.Subject}})
		})
		return m, err
	case err != nil:
		return Member{}, err
	case m.Status == Disabled:
		return Member{}, ErrNotActive
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if m.Role != id.Role || m.Status != Active {
			if err := tx.SetStaffRoleActive(ctx, m.ID, string(id.Role), now); err != nil {
				return err
			}
		}
		return Record(ctx, tx, Entry{Actor: Actor{StaffID: m.ID, Name: m.Email, Role: id.Role, ClientIP: clientIP}, Action: ActionSignIn, At: now,
			Detail: map[string]string{"kind": "sso", "role": string(id.Role), "was": string(m.Role), "sub": id.Subject}})
	})
	if err != nil {
		return Member{}, err
	}
	m.Role, m.Status = id.Role, Active
	return m, nil
}

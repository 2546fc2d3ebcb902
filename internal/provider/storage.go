package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// storage is op.Storage over the store: authorization requests, codes and access tokens in the
// database, so any instance can finish what another began; clients from the configuration; the
// signing keys of the Service.
type storage struct{ s *Service }

var (
	_ op.Storage                        = storage{}
	_ op.CanSetUserinfoFromRequest      = storage{}
	_ op.CanTerminateSessionFromRequest = storage{}
)

// authRequest is a stored request as the library reads it.
type authRequest struct {
	r   store.AuthRequest
	now time.Time
}

func (a authRequest) GetID() string         { return a.r.ID }
func (a authRequest) GetACR() string        { return a.r.ACR }
func (a authRequest) GetAMR() []string      { return strings.Fields(a.r.AMR) }
func (a authRequest) GetAudience() []string { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time {
	return a.r.AuthTime
}
func (a authRequest) GetClientID() string { return a.r.ClientID }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}
func (a authRequest) GetScopes() []string { return strings.Fields(a.r.Scopes) }
func (a authRequest) GetState() string    { return a.r.State }
func (a authRequest) GetSubject() string  { return a.r.Subject }

// Done reports whether the user signed in for the request and it may still yield its code.
func (a authRequest) Done() bool {
	return !a.r.DoneAt.IsZero() && a.r.ClosedAt.IsZero() && a.r.CodeExpiresAt.IsZero() && a.now.Before(a.r.ExpiresAt)
}

// errNotFound is a request, code or token that does not exist (or no longer counts).
type errNotFound struct{ what string }

func (e errNotFound) Error() string { return e.what + " not found" }
func (errNotFound) IsNotFound()     {}

// CreateAuthRequest stores a request the library parsed and Precheck and the library validated.
// hintSubject is the subject of an id_token_hint, a hint like login_hint.
func (st storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	s := st.s
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient()
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	browser, ok := browserFrom(ctx)
	if !ok {
		return nil, errors.New("provider: authorization request without a browser binding")
	}
	hint := strings.TrimSpace(req.LoginHint)
	if hint == "" {
		hint = hintSubject
	} else if hintSubject != "" && hintSubject != hint {
		return nil, oidc.ErrInvalidRequest().WithDescription("login_hint and id_token_hint name different users")
	}
	if len(hint) > 128 {
		return nil, oidc.ErrInvalidRequest().WithDescription("login_hint is too long")
	}
	var scopes []string
	for _, sc := range req.Scopes {
		if slices.Contains(c.c.Scopes, sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	row := store.AuthRequest{
		ID: id, ClientID: c.c.ID, RedirectURI: req.RedirectURI, Scopes: strings.Join(scopes, " "), State: req.State, Nonce: req.Nonce,
		ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge, Prompt: strings.Join(req.Prompt, " "),
		LoginHint: hint, ACRValues: strings.Join(req.ACRValues, " "), UILocales: req.UILocales.String(), Browser: browser,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.LoginLifetime),
	}
	if req.MaxAge != nil {
		v := int64(*req.MaxAge)
		row.MaxAge = &v
	}
	if err := s.st.CreateAuthRequest(ctx, row); err != nil {
		return nil, err
	}
	return authRequest{r: row, now: now}, nil
}

// AuthRequestByID returns a request by ID for the callback that hands out its code.
func (st storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := st.s.st.AuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound{"auth request"}
	}
	if err != nil {
		return nil, err
	}
	return authRequest{r: r, now: st.s.clock.Now()}, nil
}

// AuthRequestByCode returns the request whose code the client presents. A code seen before is a
// replay: everything it led to is revoked and the request closed, so a stolen code is worth
// nothing even when the thief was first.
func (st storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s := st.s
	r, err := s.st.AuthRequestByCode(ctx, hashCode(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound{"code"}
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if !r.ExchangedAt.IsZero() {
		if err := s.replayed(ctx, r, now); err != nil {
			return nil, err
		}
		return nil, errors.New("code used before: its tokens are revoked")
	}
	if !r.ClosedAt.IsZero() || !now.Before(r.CodeExpiresAt) {
		return nil, errors.New("code expired")
	}
	return authRequest{r: r, now: now}, nil
}

// SaveAuthCode stores the hash of the request's one code; a request that has one refuses another.
func (st storage) SaveAuthCode(ctx context.Context, id, code string) error {
	s := st.s
	ok, err := s.st.SaveAuthCode(ctx, id, hashCode(code), s.clock.Now().Add(s.cfg.CodeLifetime))
	if err != nil {
		return err
	}
	if !ok {
		return oidc.ErrInvalidRequest().WithDescription("the code of this request was issued already")
	}
	return nil
}

// DeleteAuthRequest closes the request after its tokens were issued. The row stays until it
// expires, so that a replay of its code is recognised and revokes the tokens.
func (st storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return st.s.st.CloseAuthRequest(ctx, id, st.s.clock.Now())
}

// CreateAccessToken uses up the code of the request and stores the access token, in one
// transaction: of racing exchanges of one code exactly one gets a token, and a late one is a
// replay.
func (st storage) CreateAccessToken(ctx context.Context, tr op.TokenRequest) (string, time.Time, error) {
	s := st.s
	a, ok := tr.(authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	id, err := randomID()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.clock.Now()
	exp := now.Add(s.cfg.AccessTokenLifetime)
	won := false
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if won, err = tx.ExchangeCode(ctx, a.r.ID, now); err != nil || !won {
			return err
		}
		return tx.CreateAccessToken(ctx, store.AccessToken{ID: id, AuthRequestID: a.r.ID, ClientID: a.r.ClientID, Subject: a.r.Subject,
			Scopes: a.r.Scopes, CreatedAt: now, ExpiresAt: exp})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	if !won {
		if err := s.replayed(ctx, a.r, now); err != nil {
			return "", time.Time{}, err
		}
		return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	// The library turns the expiry into expires_in against the system's time, as it dates ID
	// tokens; the stored expiry, which is what counts, follows the service's clock.
	return id, time.Now().Add(s.cfg.AccessTokenLifetime), nil
}

// CreateAccessAndRefreshTokens is refused: no refresh tokens are issued.
func (st storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

// TokenRequestByRefreshToken is refused: no refresh tokens are issued.
func (st storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession revokes the user's tokens at the client.
func (st storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	_, err := st.s.st.RevokeSubjectTokens(ctx, userID, clientID, st.s.clock.Now())
	return err
}

// TerminateSessionFromRequest ends a sign-out that a service started (RP-initiated logout): the
// user's tokens at the service are revoked, and when the ID token hint names the user of this
// browser's session, that session ends too (see WithSignOut).
func (st storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if req.UserID != "" && req.ClientID != "" {
		if err := st.TerminateSession(ctx, req.UserID, req.ClientID); err != nil {
			return "", err
		}
	}
	if end, ok := ctx.Value(signOutKey{}).(func(userID string) error); ok && req.UserID != "" {
		if err := end(req.UserID); err != nil {
			return "", err
		}
	}
	return req.RedirectURI, nil
}

// RevokeToken revokes an access token of the client (RFC 7009); an unknown token is no error.
func (st storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if userID == "" {
		return nil // not one of our access tokens; there are no refresh tokens
	}
	if _, err := st.s.st.RevokeAccessToken(ctx, tokenOrID, clientID, st.s.clock.Now()); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo knows no refresh tokens.
func (st storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey returns the key that signs now: the first configured.
func (st storage) SigningKey(context.Context) (op.SigningKey, error) {
	return st.s.keys[0], nil
}

// SignatureAlgorithms lists the algorithms of the published keys.
func (st storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	var out []jose.SignatureAlgorithm
	for _, k := range st.s.keys {
		if !slices.Contains(out, k.alg) {
			out = append(out, k.alg)
		}
	}
	return out, nil
}

// KeySet publishes the public half of every configured key, the retired ones too, so that
// tokens they signed verify until they are removed from the configuration.
func (st storage) KeySet(context.Context) ([]op.Key, error) {
	out := make([]op.Key, len(st.s.keys))
	for i, k := range st.s.keys {
		out[i] = public{k}
	}
	return out, nil
}

// GetClientByClientID returns a configured client; an unknown one is a plain error.
func (st storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := st.s.clients[id]
	if !ok {
		return nil, errNotFound{"client"}
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (st storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := st.s.clients[id]
	if !ok || c.c.Public {
		return errors.New("unknown client")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.c.Secret)) != 1 {
		return errors.New("wrong client secret")
	}
	return nil
}

// SetUserinfoFromScopes does nothing: SetUserinfoFromRequest fills the ID token.
func (st storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims for the scopes the request holds.
func (st storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return st.s.userinfo(ctx, info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live access token.
func (st storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := st.s.st.AccessTokenByID(ctx, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound{"token"}
	}
	if err != nil {
		return err
	}
	if t.Subject != subject || !t.RevokedAt.IsZero() || !st.s.clock.Now().Before(t.ExpiresAt) {
		return errors.New("access token revoked or expired")
	}
	return st.s.userinfo(ctx, info, t.Subject, strings.Fields(t.Scopes))
}

// SetIntrospectionFromToken is not offered: the introspection endpoint is not served.
func (st storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not offered")
}

// GetPrivateClaimsFromScopes adds no claims of its own.
func (st storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID knows no client keys: clients authenticate with a secret or not at all.
func (st storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound{"client key"}
}

// ValidateJWTProfileScopes refuses: the JWT profile grant is not offered.
func (st storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health reports whether the database answers.
func (st storage) Health(ctx context.Context) error { return st.s.st.Ping(ctx) }

// replayed handles a code presented again: it revokes every token the code led to and closes the
// request, and records it in the user's history, in one transaction.
func (s *Service) replayed(ctx context.Context, r store.AuthRequest, now time.Time) error {
	ctx = context.WithoutCancel(ctx)
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.RevokeAccessTokens(ctx, r.ID, now)
		if err != nil {
			return err
		}
		if n == 0 || r.Subject == "" {
			return nil
		}
		ev := audit.OIDCCodeReplayed.Event(r.Subject, audit.Client{}, now, map[string]string{"client": r.ClientID, "revoked": fmt.Sprint(n)})
		ev.Actor = "system"
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("code replay: %w", err)
	}
	return s.st.CloseAuthRequest(ctx, r.ID, now)
}

// userinfo fills the claims of scopes for userID: profile gives the name and language, email the
// address (verified when it is the user's email factor), phone the full number in E.164. Nothing
// else about the user, and never a masked number, leaves the portal.
func (s *Service) userinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	info.Subject = userID
	if !slices.ContainsFunc(scopes, func(sc string) bool {
		return sc == oidc.ScopeProfile || sc == oidc.ScopeEmail || sc == oidc.ScopePhone
	}) {
		return nil
	}
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, campaign.ErrUserNotFound) {
		return errNotFound{"user"}
	}
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.Name = u.Name
			if u.Locale != "" {
				info.Locale = oidc.NewLocale(langTag(u.Locale))
			}
		case oidc.ScopeEmail:
			email, verified, err := s.email(ctx, u)
			if err != nil {
				return err
			}
			if email != "" {
				info.Email, info.EmailVerified = email, oidc.Bool(verified)
			}
		case oidc.ScopePhone:
			if u.Phone != "" {
				// The number the operator's roster holds, which SMS codes went to.
				info.PhoneNumber, info.PhoneNumberVerified = u.Phone, true
			}
		}
	}
	return nil
}

// email returns the user's address: the email factor's, which a code confirmed, or else the
// roster's, which nobody here confirmed.
func (s *Service) email(ctx context.Context, u campaign.User) (string, bool, error) {
	factors, err := s.st.Factors(ctx, u.ID)
	if err != nil {
		return "", false, err
	}
	for _, f := range factors {
		if f.Kind == store.FactorEmail && f.Email != "" {
			return f.Email, true, nil
		}
	}
	return u.Email, false, nil
}

// hashCode is what the store keeps of a code: its SHA-256. A code is a sealed random value, so a
// plain hash suffices.
func hashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

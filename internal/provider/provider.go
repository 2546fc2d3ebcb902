// Package provider makes smsretire an OpenID Connect provider for the operator's services: a
// service sends the user here for their verification step (authorization code flow with PKCE),
// the user signs in with the new factor — or, not yet migrated, meets the retirement notice on
// the way — and the service receives an ID token that says who (sub: the roster user ID), when
// (auth_time) and how (amr, RFC 8176; acr: phishing-resistant or not).
//
// The protocol is github.com/zitadel/oidc's pkg/op; this package maps it onto the store (storage:
// requests, single-use codes, access tokens), the configuration (clients, signing keys) and the
// portal's sessions (Satisfies, Complete). It knows nothing of HTTP beyond handing the library's
// handler to the web layer, which mounts it and serves the login step.
package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/store"
)

// Authentication context class references (acr) the ID token carries, from the OpenID Connect
// Extended Authentication Profile's ACR values: ACRPhishingResistant for a passkey, which answers
// only on this portal's origin; ACROneTimeCode for a code a person can be tricked into typing
// elsewhere (an app, email, recovery or SMS code).
const (
	ACRPhishingResistant = "phr"
	ACROneTimeCode       = "otp"
)

// Settings are what New needs beyond the store.
type Settings struct {
	Issuer    string      // BaseURL + the path the web layer mounts the handler at
	LoginPath string      // the login step's path; LoginURL adds ?id=
	OIDC      config.OIDC // lifetimes, reminders
	Clients   []config.Client
	Keys      Keys     // the first signs; all are published
	CryptoKey [32]byte // seals codes and access tokens (AES-256-GCM)
	Insecure  bool     // the issuer is http://, for development
	LogoutURI string   // where a sign-out without a registered URI lands
}

// Service is the provider.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	cfg      config.OIDC
	clients  map[string]client
	keys     Keys
	issuer   string
	provider *op.Provider
}

// New builds the provider.
func New(st *store.SQL, clk clock.Clock, set Settings) (*Service, error) {
	if len(set.Keys) == 0 {
		return nil, errors.New("provider: no signing key")
	}
	s := &Service{st: st, clock: clk, cfg: set.OIDC, keys: set.Keys, issuer: set.Issuer, clients: map[string]client{}}
	login := func(id string) string { return set.LoginPath + "?id=" + url.QueryEscape(id) }
	for _, c := range set.Clients {
		s.clients[c.ID] = client{c: c, loginURL: login, idTTL: set.OIDC.IDTokenLifetime}
	}
	opts := []op.Option{op.WithCrypto(op.NewAES256GCMCrypto(set.CryptoKey, "oidc-1"))}
	if set.Insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(&op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		DefaultLogoutRedirectURI: set.LogoutURI,
		SupportedUILocales:       []language.Tag{language.SimplifiedChinese, language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp", "c_hash", "at_hash",
			"name", "locale", "email", "email_verified", "phone_number", "phone_number_verified"},
	}, storage{s}, op.StaticIssuer(set.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	s.provider = p
	return s, nil
}

// Handler is the library's handler for the protocol's endpoints, relative to the issuer's path.
func (s *Service) Handler() http.Handler { return s.provider }

// Provider is the library's provider, for the web layer's wrappers of its endpoints.
func (s *Service) Provider() *op.Provider { return s.provider }

// Issuer returns the issuer URL.
func (s *Service) Issuer() string { return s.issuer }

// Client returns a configured client.
func (s *Service) Client(id string) (config.Client, bool) {
	c, ok := s.clients[id]
	return c.c, ok
}

// Discovery returns the discovery document (/.well-known/openid-configuration), narrowed to what
// is offered: the code flow with PKCE S256, client secrets (basic or post) or none, ES256/RS256.
func (s *Service) Discovery(ctx context.Context) *oidc.DiscoveryConfiguration {
	ctx = op.ContextWithIssuer(ctx, s.issuer)
	d := op.CreateDiscoveryConfig(ctx, s.provider, storage{s})
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.ACRValuesSupported = []string{ACRPhishingResistant, ACROneTimeCode}
	d.IntrospectionEndpoint, d.DeviceAuthorizationEndpoint, d.CheckSessionIframe = "", "", ""
	d.IntrospectionEndpointAuthMethodsSupported, d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil, nil
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.RevocationEndpointAuthSigningAlgValuesSupported, d.TokenEndpointAuthSigningAlgValuesSupported = nil, nil
	d.RequestObjectSigningAlgValuesSupported, d.RequestParameterSupported = nil, false
	return d
}

// Errors of Precheck.
var (
	// ErrUnknownClient: the client_id names no configured client. Answer with an error page:
	// nobody vouches for where a redirect would go.
	ErrUnknownClient = errors.New("unknown client")
	// ErrRedirectURI: the redirect_uri is not one of the client's, character for character.
	// Answer with an error page, never a redirect.
	ErrRedirectURI = errors.New("redirect_uri not registered for the client")
)

// RedirectError is a refusal sent back to the client's registered redirect URI (RFC 6749
// section 4.1.2.1), such as a request without PKCE.
type RedirectError struct {
	URL         string // where to send the browser: the redirect URI with error, description and state
	Code        string // the error code, such as invalid_request
	Description string
}

func (e *RedirectError) Error() string { return e.Code + ": " + e.Description }

// Precheck checks an authorization request's client and redirect URI before the library sees it,
// and what this provider insists on beyond the library: the code flow only (no implicit or
// hybrid flow) and PKCE with S256. An unknown client or redirect URI gives ErrUnknownClient or
// ErrRedirectURI; anything else wrong, once the redirect URI is known good, a *RedirectError.
func (s *Service) Precheck(q url.Values) error {
	c, ok := s.clients[q.Get("client_id")]
	if !ok || len(q["client_id"]) != 1 {
		return ErrUnknownClient
	}
	uri := q.Get("redirect_uri")
	if len(q["redirect_uri"]) != 1 || !slices.Contains(c.c.RedirectURIs, uri) {
		return ErrRedirectURI
	}
	refuse := func(code, desc string) error {
		u, _ := url.Parse(uri)
		v := u.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		return &RedirectError{URL: u.String(), Code: code, Description: desc}
	}
	switch {
	case q.Get("response_type") != string(oidc.ResponseTypeCode):
		return refuse("unsupported_response_type", "only the authorization code flow (response_type=code) is offered")
	case q.Get("code_challenge") == "":
		return refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
	case q.Get("code_challenge_method") != string(oidc.CodeChallengeMethodS256):
		return refuse("invalid_request", "code_challenge_method must be S256")
	case q.Get("request") != "" || q.Get("request_uri") != "":
		return refuse("request_not_supported", "request objects are not supported")
	case !slices.Contains(strings.Fields(q.Get("scope")), oidc.ScopeOpenID):
		return refuse("invalid_scope", "the openid scope is required")
	}
	switch rm := q.Get("response_mode"); rm {
	case "", string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost):
	default:
		return refuse("invalid_request", "response_mode must be query or form_post")
	}
	return nil
}

type browserKey struct{}

// WithBrowser puts the token of the browser's provider cookie on ctx for the authorization
// request the library is about to store: only that browser may then sign in for it and collect
// its code.
func WithBrowser(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, browserKey{}, BrowserHash(token))
}

func browserFrom(ctx context.Context) (string, bool) {
	h, ok := ctx.Value(browserKey{}).(string)
	return h, ok && h != ""
}

// BrowserHash is what a request stores of the browser's token.
func BrowserHash(token string) string {
	sum := sha256.Sum256([]byte("smsretire oidc browser\x00" + token))
	return hex.EncodeToString(sum[:])
}

// NewBrowserToken makes a random token for a browser's provider cookie.
func NewBrowserToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("browser token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

type signOutKey struct{}

// WithSignOut puts on ctx how to end this browser's session for a sign-out that a service
// started: end is called with the user the ID token hint names.
func WithSignOut(ctx context.Context, end func(userID string) error) context.Context {
	return context.WithValue(ctx, signOutKey{}, end)
}

// Request is an authorization request at the login step, as the pages need it.
type Request struct {
	ID                string
	Client            config.Client
	RedirectOrigin    string    // scheme://host[:port] of the redirect URI, where the sign-in ends
	LoginHint         string    // the operator's user ID, when the service named the user; only they may sign in
	PhishingResistant bool      // only a passkey will do (acr_values=phr, or the client requires it)
	PromptNone        bool      // the service asked not to show anything (prompt=none)
	Fresh             time.Time // an authentication before this does not count (prompt=login, max_age); zero: any
	ExpiresAt         time.Time
	Done              bool
}

// ErrNoRequest means the request is unknown, expired, finished, or was started in another
// browser.
var ErrNoRequest = errors.New("no such authorization request in this browser")

// LoginRequest returns the request id for the login step, if it is live and was started in the
// browser with token.
func (s *Service) LoginRequest(ctx context.Context, id, browserToken string) (Request, error) {
	if id == "" || len(id) > 64 || browserToken == "" {
		return Request{}, ErrNoRequest
	}
	r, err := s.st.AuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Request{}, ErrNoRequest
	}
	if err != nil {
		return Request{}, err
	}
	now := s.clock.Now()
	if r.Browser != BrowserHash(browserToken) || !r.ClosedAt.IsZero() || !now.Before(r.ExpiresAt) {
		return Request{}, ErrNoRequest
	}
	c, ok := s.clients[r.ClientID]
	if !ok { // the client was removed from the configuration since
		return Request{}, ErrNoRequest
	}
	req := Request{ID: r.ID, Client: c.c, LoginHint: r.LoginHint, ExpiresAt: r.ExpiresAt, Done: !r.DoneAt.IsZero(), RedirectOrigin: origin(r.RedirectURI),
		PhishingResistant: c.c.RequirePhishingResistant || slices.Contains(strings.Fields(r.ACRValues), ACRPhishingResistant) ||
			slices.Contains(strings.Fields(r.ACRValues), "phrh")}
	prompts := strings.Fields(r.Prompt)
	req.PromptNone = slices.Contains(prompts, oidc.PromptNone)
	if slices.Contains(prompts, oidc.PromptLogin) {
		req.Fresh = r.CreatedAt
	}
	if r.MaxAge != nil {
		if t := now.Add(-time.Duration(*r.MaxAge) * time.Second); t.After(req.Fresh) {
			req.Fresh = t
		}
	}
	return req, nil
}

// Auth is an authentication that may answer a request: whom, when, with what (amr values).
type Auth struct {
	Subject string
	At      time.Time
	Methods []string
}

// Shortfall says why an authentication does not answer a request.
type Shortfall string

// The shortfalls, in the order Check finds them.
const (
	ShortNone         Shortfall = ""
	ShortOtherAccount Shortfall = "other_account" // the service named another user
	ShortStale        Shortfall = "stale"         // too long ago for prompt=login or max_age
	ShortNotPhr       Shortfall = "not_phr"       // the service needs a passkey
)

// Check says whether a answers req: the user the service named (if it named one), recently
// enough, with a phishing-resistant method if that was asked.
func (req Request) Check(a Auth) Shortfall {
	switch {
	case req.LoginHint != "" && a.Subject != req.LoginHint:
		return ShortOtherAccount
	case !req.Fresh.IsZero() && a.At.Before(req.Fresh):
		return ShortStale
	case req.PhishingResistant && !signin.PhishingResistant(a.Methods):
		return ShortNotPhr
	}
	return ShortNone
}

// ErrShortfall wraps the Shortfall of an authentication Complete refused.
type ErrShortfall struct{ Short Shortfall }

func (e ErrShortfall) Error() string {
	return "authentication does not answer the request: " + string(e.Short)
}

// Complete records that a answered req, with the history entry, in one transaction, and returns
// the URL that hands the service its code. It checks again what Check checks; a request done,
// closed or expired meanwhile gives ErrNoRequest.
func (s *Service) Complete(ctx context.Context, req Request, a Auth, c audit.Client) (string, error) {
	if short := req.Check(a); short != ShortNone {
		return "", ErrShortfall{short}
	}
	acr := ACROneTimeCode
	if signin.PhishingResistant(a.Methods) {
		acr = ACRPhishingResistant
	}
	now := s.clock.Now()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.CompleteAuthRequest(ctx, req.ID, a.Subject, a.At, strings.Join(a.Methods, " "), acr, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoRequest
		}
		return tx.AppendEvent(ctx, audit.OIDCSignedIn.Event(a.Subject, c, now, map[string]string{"client": req.Client.ID, "amr": strings.Join(a.Methods, " ")}))
	})
	if err != nil {
		return "", err
	}
	return s.CallbackURL(req.ID), nil
}

// CallbackURL is where the browser collects the request's code: the library's callback, which
// redirects to the service.
func (s *Service) CallbackURL(id string) string {
	return strings.TrimSuffix(s.issuer, "/") + "/authorize/callback?id=" + url.QueryEscape(id)
}

// Refusal is why a request ends without a sign-in.
type Refusal int

// The refusals.
const (
	Cancelled     Refusal = iota // the user went back to the service without signing in: access_denied
	LoginRequired                // prompt=none, and this browser's session does not answer: login_required
)

// Refuse closes the request and returns the URL that tells the service why.
func (s *Service) Refuse(ctx context.Context, id string, why Refusal) (string, error) {
	r, err := s.st.AuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	if err := s.st.CloseAuthRequest(ctx, id, s.clock.Now()); err != nil {
		return "", err
	}
	e := oidc.ErrAccessDenied().WithDescription("the user did not sign in")
	if why == LoginRequired {
		e = oidc.ErrLoginRequired().WithDescription("the user must sign in")
	}
	e.State = r.State
	return op.AuthResponseURL(r.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseModeQuery, e, s.provider.Encoder())
}

// Sweep deletes the requests that expired before now minus a day, with their tokens once those
// expired too.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	return s.st.DeleteAuthRequestsBefore(ctx, s.clock.Now().Add(-24*time.Hour))
}

// origin is the scheme://host[:port] of an absolute URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func randomID() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func langTag(locale string) language.Tag {
	t, err := language.Parse(locale)
	if err != nil {
		return language.Und
	}
	return t
}

package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// The relying party of these tests: a confidential client whose redirect URI is never contacted
// (the test reads the code from the redirect), and a public one.
const (
	shopID       = "shop"
	shopSecret   = "shop-secret-0123456789-0123456789-abcdef"
	shopCallback = "http://127.0.0.1:9/callback"
	appID        = "app"
	appCallback  = "http://127.0.0.1:9/app"
)

func oidcClients(c *config.Config) {
	c.MinSendTime = 0
	c.Clients = []config.Client{
		{ID: shopID, Name: "示例商城", NameEN: "Example Shop", Secret: shopSecret, RedirectURIs: []string{shopCallback},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:9/"}},
		{ID: appID, Name: "手机应用", NameEN: "Phone App", Public: true, RedirectURIs: []string{appCallback}, Scopes: []string{"openid"}},
	}
}

// rp is a service signing users in through the provider with go-oidc and x/oauth2.
type rp struct {
	srv      *webtest.Server
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, srv *webtest.Server, clientID, secret, callback string) *rp {
	t.Helper()
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, srv.Config.BaseURL+"/oidc")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{srv: srv, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: endpoint(p, secret), RedirectURL: callback,
			Scopes: []string{oidc.ScopeOpenID, "email"}}}
}

// login is one sign-in in progress: the values the service keeps for it.
type login struct {
	state, nonce, verifier string
}

func newLogin() login {
	return login{state: oauth2.GenerateVerifier()[:20], nonce: oauth2.GenerateVerifier()[:20], verifier: oauth2.GenerateVerifier()}
}

// authURL is where the service sends the browser.
func (r *rp) authURL(l login, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(l.verifier), oidc.Nonce(l.nonce)}, opts...)
	return r.conf.AuthCodeURL(l.state, opts...)
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T, srv *webtest.Server) *browser { return &browser{t: t, c: srv.Client()} }

// get fetches u and returns the status, the Location resolved against u, and the body.
func (b *browser) do(method, u string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	loc := ""
	if l := resp.Header.Get("Location"); l != "" {
		base, _ := url.Parse(u)
		next, err := base.Parse(l)
		if err != nil {
			b.t.Fatalf("Location %q: %v", l, err)
		}
		loc = next.String()
	}
	return resp.StatusCode, loc, string(text)
}

func (b *browser) get(u string) (int, string, string) {
	b.t.Helper()
	return b.do(http.MethodGet, u, nil)
}

// follow GETs u and its redirects until one leads to stop (a prefix), and returns that URL.
func (b *browser) follow(u, stop string) string {
	b.t.Helper()
	for i := 0; i < 10; i++ {
		if strings.HasPrefix(u, stop) {
			return u
		}
		status, loc, body := b.get(u)
		if loc == "" {
			b.t.Fatalf("GET %s: %d without a redirect, stopped before %s: %.300s", u, status, stop, body)
		}
		u = loc
	}
	b.t.Fatalf("too many redirects before %s", stop)
	return ""
}

// signInTOTP signs in with the next code of the app whose secret is given, on the sign-in page
// the provider led to, and returns where the sign-in leads.
func (b *browser) signInTOTP(srv *webtest.Server, signinURL, account, secret string) string {
	b.t.Helper()
	if status, _, _ := b.get(signinURL); status != http.StatusOK {
		b.t.Fatalf("sign-in page %s: %d", signinURL, status)
	}
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	u, _ := url.Parse(signinURL)
	status, loc, body := b.do(http.MethodPost, u.Scheme+"://"+u.Host+"/signin/totp", url.Values{"account": {account}, "code": {code}})
	if status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %.400s", status, body)
	}
	return loc
}

// codeFrom reads the code and state from the redirect to the service's callback.
func codeFrom(t *testing.T, callback string) (code, state string) {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != "" {
		t.Fatalf("the service got an error: %s %s", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code"), q.Get("state")
}

// totpCode runs a whole TOTP sign-in for the service and returns the code it receives.
func (r *rp) totpCode(t *testing.T, b *browser, l login, userID, secret string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	signin := b.follow(r.authURL(l, opts...), r.srv.Config.BaseURL+"/signin")
	back := b.signInTOTP(r.srv, signin, userID, secret)
	cb := b.follow(back, r.conf.RedirectURL)
	code, state := codeFrom(t, cb)
	if state != l.state {
		t.Fatalf("state %q came back as %q", l.state, state)
	}
	return code
}

type idClaims struct {
	Sub      string   `json:"sub"`
	Nonce    string   `json:"nonce"`
	AuthTime int64    `json:"auth_time"`
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	Email    string   `json:"email"`
	Phone    string   `json:"phone_number"`
	Name     string   `json:"name"`
}

func (r *rp) exchange(t *testing.T, code, verifier string) (*oauth2.Token, idClaims, error) {
	t.Helper()
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, idClaims{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c idClaims
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return tok, c, nil
}

func oidcServer(t *testing.T, st *store.SQL, opts ...webtest.ServerOption) *webtest.Server {
	return webtest.NewServer(t, append([]webtest.ServerOption{webtest.WithStore(st), webtest.WithConfig(oidcClients)}, opts...)...)
}

func TestOIDC_TOTPSignInGivesTheService_SubAMRNonceAuthTime(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		srv := oidcServer(t, st)
		secret := enrolledTOTP(t, srv, "demo-zh")
		r := newRP(t, srv, shopID, shopSecret, shopCallback)
		l := newLogin()
		code := r.totpCode(t, newBrowser(t, srv), l, "demo-zh", secret, oauth2.SetAuthURLParam("login_hint", "demo-zh"))
		signedInAt := srv.Clock.Now()
		tok, c, err := r.exchange(t, code, l.verifier)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if c.Sub != "demo-zh" || c.Nonce != l.nonce || c.AuthTime != signedInAt.Unix() || strings.Join(c.AMR, " ") != "otp" || c.ACR != "otp" {
			t.Errorf("claims %+v; want sub demo-zh, the nonce, auth_time %d, amr [otp], acr otp", c, signedInAt.Unix())
		}
		if c.Email != "zhang.wei@example.com" || c.Phone != "" || c.Name != "" {
			t.Errorf("claims beyond the scope openid email: %+v", c)
		}
		info, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject != "demo-zh" || info.Email != "zhang.wei@example.com" {
			t.Errorf("userinfo = %+v, %v", info, err)
		}
		events, _ := srv.Store.Events(context.Background(), "demo-zh", 50)
		if !hasEvent(events, audit.OIDCSignedIn, "client", shopID) {
			t.Error("no history entry for the sign-in to the shop")
		}
	})
}

func hasEvent(events []audit.Event, typ audit.Type, key, value string) bool {
	for _, e := range events {
		if e.Type == typ && e.Detail[key] == value {
			return true
		}
	}
	return false
}

// An unknown client or a redirect URI not registered character for character gets an error page
// from the provider, never a redirect.
func TestOIDC_BadClientOrRedirectURIGetsAPageNeverARedirect(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	l := newLogin()
	cases := map[string]func(*rp){
		"unknown client":        func(r *rp) { r.conf.ClientID = "nobody" },
		"other redirect":        func(r *rp) { r.conf.RedirectURL = "https://evil.example/callback" },
		"redirect with a query": func(r *rp) { r.conf.RedirectURL = shopCallback + "?next=x" },
		"redirect, other case":  func(r *rp) { r.conf.RedirectURL = strings.ToUpper(shopCallback[:4]) + shopCallback[4:] },
		"another client's":      func(r *rp) { r.conf.RedirectURL = appCallback },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			bad := *r
			change(&bad)
			status, loc, body := newBrowser(t, srv).get(bad.authURL(l))
			if status != http.StatusBadRequest || loc != "" {
				t.Fatalf("status %d, Location %q; want 400 and no redirect", status, loc)
			}
			if !strings.Contains(body, "<h1>") || strings.Contains(body, `href="https://evil.example`) {
				t.Errorf("error page: %.300s", body)
			}
		})
	}
}

// Without PKCE, or with the plain method, or for the implicit flow, the service hears the error
// at its registered redirect URI, with its state.
func TestOIDC_PKCEAndTheCodeFlowAreRequired(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	cases := map[string]struct {
		url  func(l login) string
		want string
	}{
		"no PKCE": {func(l login) string { return r.conf.AuthCodeURL(l.state, oidc.Nonce(l.nonce)) }, "invalid_request"},
		"plain PKCE": {func(l login) string {
			return r.conf.AuthCodeURL(l.state, oauth2.SetAuthURLParam("code_challenge", l.verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		}, "invalid_request"},
		"implicit": {func(l login) string { return r.authURL(l, oauth2.SetAuthURLParam("response_type", "id_token")) }, "unsupported_response_type"},
		"hybrid":   {func(l login) string { return r.authURL(l, oauth2.SetAuthURLParam("response_type", "code id_token")) }, "unsupported_response_type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := newLogin()
			status, loc, _ := newBrowser(t, srv).get(tc.url(l))
			u, _ := url.Parse(loc)
			if status != http.StatusFound || !strings.HasPrefix(loc, shopCallback+"?") || u.Query().Get("error") != tc.want || u.Query().Get("state") != l.state {
				t.Errorf("status %d, Location %q; want a redirect to the callback with %s and the state", status, loc, tc.want)
			}
			if u.Query().Get("code") != "" {
				t.Error("a code was issued")
			}
		})
	}
}

func TestOIDC_TokenExchangeRefusals(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		srv := oidcServer(t, st)
		secret := enrolledTOTP(t, srv, "demo-en")
		r := newRP(t, srv, shopID, shopSecret, shopCallback)

		t.Run("wrong verifier", func(t *testing.T) {
			b := newBrowser(t, srv)
			l := newLogin()
			code := r.totpCode(t, b, l, "demo-en", secret)
			if _, _, err := r.exchange(t, code, oauth2.GenerateVerifier()); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("exchange with another verifier = %v, want invalid_grant", err)
			}
			if _, _, err := r.exchange(t, code, ""); err == nil {
				t.Error("exchange without a verifier succeeded")
			}
		})
		t.Run("wrong client secret", func(t *testing.T) {
			b := newBrowser(t, srv)
			l := newLogin()
			code := r.totpCode(t, b, l, "demo-en", secret)
			bad := *r
			bad.conf.ClientSecret = "not-the-secret"
			if _, _, err := bad.exchange(t, code, l.verifier); err == nil || !strings.Contains(err.Error(), "unauthorized_client") && !strings.Contains(err.Error(), "invalid_client") {
				t.Errorf("exchange with a wrong secret = %v", err)
			}
			// The public client may not take the shop's code either.
			pub := newRP(t, srv, appID, "", shopCallback)
			if _, _, err := pub.exchange(t, code, l.verifier); err == nil {
				t.Error("another client exchanged the shop's code")
			}
		})
		t.Run("expired code", func(t *testing.T) {
			b := newBrowser(t, srv)
			l := newLogin()
			code := r.totpCode(t, b, l, "demo-en", secret)
			srv.Clock.Advance(config.DefaultCodeLifetime)
			if _, _, err := r.exchange(t, code, l.verifier); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("exchange after the code's lifetime = %v, want invalid_grant", err)
			}
		})
		t.Run("replayed code revokes its tokens", func(t *testing.T) {
			b := newBrowser(t, srv)
			l := newLogin()
			code := r.totpCode(t, b, l, "demo-en", secret)
			tok, _, err := r.exchange(t, code, l.verifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err != nil {
				t.Fatalf("userinfo before the replay: %v", err)
			}
			if _, _, err := r.exchange(t, code, l.verifier); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("second exchange = %v, want invalid_grant", err)
			}
			if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
				t.Error("the access token of a replayed code still opens userinfo")
			}
			events, _ := srv.Store.Events(context.Background(), "demo-en", 50)
			if !hasEvent(events, audit.OIDCCodeReplayed, "client", shopID) {
				t.Error("no history entry for the replay")
			}
		})
		t.Run("a reloaded callback gives no second code", func(t *testing.T) {
			b := newBrowser(t, srv)
			l := newLogin()
			signin := b.follow(r.authURL(l), srv.Config.BaseURL+"/signin")
			back := b.signInTOTP(srv, signin, "demo-en", secret)
			_, callback, _ := b.get(back)
			_, first, _ := b.get(callback)
			_, again, _ := b.get(callback)
			if code, _ := codeFrom(t, first); code == "" {
				t.Fatal("no code")
			}
			if u, _ := url.Parse(again); u.Query().Get("code") != "" {
				t.Errorf("a second code from the same request: %s", again)
			}
		})
	})
}

// The callback hands out the code only to the browser that started the request, and the login
// step only serves that browser: a link passed to someone else signs nobody in for the sender.
func TestOIDC_RequestBelongsToTheBrowserThatStartedIt(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	secret := enrolledTOTP(t, srv, "demo-en")
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	attacker, victim := newBrowser(t, srv), newBrowser(t, srv)
	_, login, _ := attacker.get(r.authURL(newLogin()))
	if !strings.Contains(login, "/oidc/login?id=") {
		t.Fatalf("authorize led to %q", login)
	}
	if status, loc, _ := victim.get(login); status != http.StatusBadRequest || loc != "" {
		t.Errorf("another browser at the login step: %d %q, want 400", status, loc)
	}
	// Signed in on its own, the victim's session completes nothing for the attacker's request.
	signin := victim.follow(r.authURL(newLogin()), srv.Config.BaseURL+"/signin")
	victim.signInTOTP(srv, signin, "demo-en", secret)
	id := strings.SplitN(login, "id=", 2)[1]
	if status, loc, _ := victim.get(srv.Config.BaseURL + "/oidc/authorize/callback?id=" + id); status != http.StatusBadRequest || loc != "" {
		t.Errorf("another browser at the callback: %d %q, want 400", status, loc)
	}
}

// Of 60 racing exchanges of one code, on two instances of one PostgreSQL database too, exactly
// one gets tokens.
func TestOIDC_ParallelExchangesOfOneCode(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		first := oidcServer(t, stores[0])
		servers := []*webtest.Server{first}
		if len(stores) > 1 {
			servers = append(servers, oidcServer(t, stores[1], webtest.WithKeys(first.Keys), webtest.WithClock(first.Clock), webtest.WithoutDemoUsers()))
		}
		secret := enrolledTOTP(t, first, "demo-en")
		r := newRP(t, first, shopID, shopSecret, shopCallback)
		l := newLogin()
		code := r.totpCode(t, newBrowser(t, first), l, "demo-en", secret)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				srv := servers[i%len(servers)]
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {shopCallback}, "code_verifier": {l.verifier}}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oidc/oauth/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(shopID, shopSecret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var body struct {
					IDToken string `json:"id_token"`
					Error   string `json:"error"`
				}
				json.NewDecoder(resp.Body).Decode(&body)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case resp.StatusCode == http.StatusOK && body.IDToken != "":
					won++
				case resp.StatusCode >= 500:
					t.Errorf("status %d", resp.StatusCode)
				}
			}(i)
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of 60 parallel exchanges got tokens, want exactly 1", won)
		}
	})
}

// pemKey makes an EC P-256 signing key in PEM.
func pemKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// Rotation: with a new key first and the old one still listed, tokens signed by the old key
// verify; once it is removed, they no longer do; new tokens carry the new key's ID.
func TestOIDC_KeyRotation(t *testing.T) {
	st := testsupport.SQLite(t)
	oldKey, newKey := config.SigningKey{ID: "2026-05", PEM: pemKey(t)}, config.SigningKey{ID: "2026-11", PEM: pemKey(t)}
	withKeys := func(keys ...config.SigningKey) webtest.ServerOption {
		return webtest.WithConfig(func(c *config.Config) { c.OIDC.SigningKeys = keys })
	}
	before := oidcServer(t, st, withKeys(oldKey))
	secret := enrolledTOTP(t, before, "demo-en")
	r := newRP(t, before, shopID, shopSecret, shopCallback)
	l := newLogin()
	tok, _, err := r.exchange(t, r.totpCode(t, newBrowser(t, before), l, "demo-en", secret), l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	oldToken, _ := tok.Extra("id_token").(string)

	verifyWith := func(srv *webtest.Server) error {
		ks := oidc.NewRemoteKeySet(context.Background(), srv.Config.BaseURL+"/oidc/keys")
		v := oidc.NewVerifier(before.Config.BaseURL+"/oidc", ks, &oidc.Config{ClientID: shopID, SupportedSigningAlgs: []string{"ES256"}})
		_, err := v.Verify(context.Background(), oldToken)
		return err
	}
	rotating := oidcServer(t, st, withKeys(newKey, oldKey), webtest.WithKeys(before.Keys), webtest.WithClock(before.Clock), webtest.WithoutDemoUsers())
	if err := verifyWith(rotating); err != nil {
		t.Errorf("a token of the old key, with the old key still listed: %v", err)
	}
	r2 := newRP(t, rotating, shopID, shopSecret, shopCallback)
	l2 := newLogin()
	tok2, _, err := r2.exchange(t, r2.totpCode(t, newBrowser(t, rotating), l2, "demo-en", secret), l2.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if kid := keyID(t, tok2.Extra("id_token").(string)); kid != "2026-11" {
		t.Errorf("new token signed by %q, want the new key 2026-11", kid)
	}
	after := oidcServer(t, st, withKeys(newKey), webtest.WithKeys(before.Keys), webtest.WithClock(before.Clock), webtest.WithoutDemoUsers())
	if err := verifyWith(after); err == nil {
		t.Error("a token of a removed key still verifies")
	}
}

// keyID reads the kid of a JWT's header.
func keyID(t *testing.T, jwt string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	part := strings.SplitN(jwt, ".", 2)[0]
	b, err := base64URL(part)
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("JWT header %q", part)
	}
	return h.Kid
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// endpoint is the provider's, with the client authentication fixed (basic for a secret, none for a
// public client), so that a refusal is not retried another way.
func endpoint(p *oidc.Provider, secret string) oauth2.Endpoint {
	e := p.Endpoint()
	e.AuthStyle = oauth2.AuthStyleInHeader
	if secret == "" {
		e.AuthStyle = oauth2.AuthStyleInParams
	}
	return e
}

// A browser signed in already goes straight back to the service; prompt=login and max_age ask
// for a fresh sign-in, and a service that names another account gets only that account.
func TestOIDC_ASessionAnswersUnlessAFreshOrOtherSignInIsAsked(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	secret := enrolledTOTP(t, srv, "demo-en")
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	b := newBrowser(t, srv)
	l := newLogin()
	r.totpCode(t, b, l, "demo-en", secret)
	srv.Clock.Advance(5 * time.Minute)

	again := newLogin()
	cb := b.follow(r.authURL(again), shopCallback)
	code, _ := codeFrom(t, cb)
	if _, c, err := r.exchange(t, code, again.verifier); err != nil || c.Sub != "demo-en" {
		t.Fatalf("second sign-in from the session: %+v, %v", c, err)
	}
	for name, opt := range map[string]oauth2.AuthCodeOption{
		"prompt=login": oauth2.SetAuthURLParam("prompt", "login"),
		"max_age=60":   oauth2.SetAuthURLParam("max_age", "60"),
		"other user":   oauth2.SetAuthURLParam("login_hint", "demo-zh"),
	} {
		to := b.follow(r.authURL(newLogin(), opt), srv.Config.BaseURL)
		for !strings.HasPrefix(to, srv.Config.BaseURL+"/signin") && !strings.HasPrefix(to, srv.Config.BaseURL+"/oidc/nudge") {
			_, next, _ := b.get(to)
			if next == "" || strings.HasPrefix(next, shopCallback) {
				t.Fatalf("%s: the session answered without a new sign-in (%s)", name, next)
			}
			to = next
		}
	}
	// prompt=none with a session that does not answer: login_required, at once.
	_, loc, _ := b.get(r.authURL(newLogin(), oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("max_age", "1")))
	cb = b.follow(loc, shopCallback)
	if u, _ := url.Parse(cb); u.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none led to %s, want login_required", cb)
	}
}

// The service's sign-out (RP-initiated logout) with the ID token as hint revokes the user's tokens
// there, ends this browser's session of that user, and returns to a registered URI with the
// state; an unregistered one is refused.
func TestOIDC_EndSession(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	secret := enrolledTOTP(t, srv, "demo-en")
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	b := newBrowser(t, srv)
	l := newLogin()
	tok, _, err := r.exchange(t, r.totpCode(t, b, l, "demo-en", secret), l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := tok.Extra("id_token").(string)
	end := srv.Config.BaseURL + "/oidc/end_session?" + url.Values{"id_token_hint": {hint}, "state": {"bye"},
		"post_logout_redirect_uri": {"https://evil.example/"}}.Encode()
	if status, loc, _ := b.get(end); status == http.StatusFound && strings.HasPrefix(loc, "https://evil.example") {
		t.Fatalf("sign-out redirected to an unregistered URI: %s", loc)
	}
	end = srv.Config.BaseURL + "/oidc/end_session?" + url.Values{"id_token_hint": {hint}, "state": {"bye"},
		"post_logout_redirect_uri": {"http://127.0.0.1:9/"}}.Encode()
	status, loc, _ := b.get(end)
	if status != http.StatusFound || loc != "http://127.0.0.1:9/?state=bye" {
		t.Errorf("sign-out: %d to %q", status, loc)
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the access token still opens userinfo after sign-out")
	}
	if status, _, _ := b.get(srv.Config.BaseURL + "/security"); status != http.StatusUnauthorized {
		t.Errorf("My security after the service's sign-out: %d, want 401 (signed out)", status)
	}
}

// Going back to the service without signing in tells it access_denied, with its state.
func TestOIDC_CancelTellsTheServiceAccessDenied(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	b := newBrowser(t, srv)
	l := newLogin()
	_, login, _ := b.get(r.authURL(l))
	b.get(login)
	id := strings.SplitN(login, "id=", 2)[1]
	status, loc, _ := b.do(http.MethodPost, srv.Config.BaseURL+"/oidc/login/cancel", url.Values{"id": {id}})
	u, _ := url.Parse(loc)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, shopCallback) || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != l.state {
		t.Errorf("cancel: %d to %q", status, loc)
	}
	if status, _, _ := b.get(login); status != http.StatusBadRequest {
		t.Errorf("the login step after cancelling: %d, want 400", status)
	}
}

// A recovery code is a one-time code too (amr otp); the phone scope gives the roster's number in
// E.164, never a masked one, and nothing of a scope not asked.
func TestOIDC_RecoveryCodeAndThePhoneScope(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	c := verifiedClient(t, srv, "demo-hk")
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil)
	page := srv.Get(t, c, "/enroll/recovery", nil)
	recovery := strings.TrimSpace(page.Doc.Find(".recovery-codes code").First().Text())
	if recovery == "" {
		t.Fatal("no recovery code shown")
	}
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	r.conf.Scopes = []string{oidc.ScopeOpenID, "phone"}
	b := newBrowser(t, srv)
	l := newLogin()
	signin := b.follow(r.authURL(l, oauth2.SetAuthURLParam("login_hint", "demo-hk")), srv.Config.BaseURL+"/signin")
	b.get(signin)
	_, back, body := b.do(http.MethodPost, srv.Config.BaseURL+"/signin/recovery", url.Values{"code": {recovery}})
	if back == "" {
		t.Fatalf("recovery sign-in did not lead on: %.300s", body)
	}
	cb := b.follow(back, shopCallback)
	got, _ := codeFrom(t, cb)
	_, claims, err := r.exchange(t, got, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "demo-hk" || strings.Join(claims.AMR, " ") != "otp" || claims.Phone != "+85291234567" || claims.Email != "" || claims.Name != "" {
		t.Errorf("claims %+v; want demo-hk, amr otp, the phone in E.164 and nothing else", claims)
	}
}

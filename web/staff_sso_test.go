package web_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web/webtest"
)

// companyProvider is a small OpenID Connect provider on loopback, standing in for a company's:
// discovery, keys, an authorization endpoint that approves at once whoever claims says, and a
// token endpoint that checks the client, the redirect URI and PKCE (S256) before it signs an ID
// token with the request's nonce.
type companyProvider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	claims map[string]any // the next sign-in's claims beyond iss, sub, aud, exp, iat, nonce
	nonce  string         // when set, the nonce the ID token carries instead of the request's
	codes  map[string]authRequest
}

type authRequest struct{ nonce, challenge, redirect string }

const companyClient, companySecret = "smsretire-staff", "s3cret-of-the-company"

func newCompanyProvider(t *testing.T) *companyProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &companyProvider{t: t, key: key, codes: map[string]authRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/keys", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != companyClient || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := base64.RawURLEncoding.EncodeToString(key.N.Bytes()[:8]) + q.Get("state")[:8]
		p.mu.Lock()
		p.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		p.mu.Lock()
		req, found := p.codes[r.FormValue("code")]
		delete(p.codes, r.FormValue("code"))
		claims, nonce := p.claims, p.nonce
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		switch {
		case id != companyClient || secret != companySecret:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		case !found || req.redirect != r.FormValue("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		if nonce == "" {
			nonce = req.nonce
		}
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
		all := map[string]any{"iss": p.srv.URL, "aud": companyClient, "exp": time.Now().Add(5 * time.Minute).Unix(),
			"iat": time.Now().Unix(), "nonce": nonce}
		for k, v := range claims {
			all[k] = v
		}
		raw, err := jwt.Signed(sig).Claims(all).Serialize()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": raw})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *companyProvider) next(claims map[string]any, nonce string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims, p.nonce = claims, nonce
}

// ssoSignIn goes from the portal's company sign-in to the provider and back in a new browser, and
// returns the portal's answer to the callback.
func ssoSignIn(t *testing.T, s *webtest.Server, p *companyProvider, c *http.Client, next string) *webtest.Response {
	t.Helper()
	path := "/staff/signin/sso"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	r := s.Get(t, c, path, nil)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, p.srv.URL+"/authorize?") {
		t.Fatalf("company sign-in start: %d to %q", r.StatusCode, loc)
	}
	resp, err := c.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, s.Config.BaseURL+"/staff/signin/sso/callback?") {
		t.Fatalf("provider: %d to %q", resp.StatusCode, back)
	}
	return s.Get(t, c, strings.TrimPrefix(back, s.Config.BaseURL), nil)
}

// Staff sign in through the company's provider: state, nonce and PKCE checked, the email and the
// role from the ID token; a new member is made, a known one's role follows the provider, a
// disabled one stays out, and a token without a role or with another nonce signs no one in.
func TestStaffSSO_CompanyProvider(t *testing.T) {
	p := newCompanyProvider(t)
	s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) {
		c.StaffOIDCIssuer, c.StaffOIDCClientID, c.StaffOIDCClientSecret = p.srv.URL, companyClient, companySecret
		c.StaffOIDCRoleClaim = "groups"
	}))
	ctx := context.Background()
	// The provider's callback comes to the base URL's host (localhost), where the cookies are.
	s.URL = s.Config.BaseURL

	if r := s.Get(t, s.Client(), "/staff/signin", nil); r.Doc.Find(`a[href="/staff/signin/sso"]`).Length() != 1 {
		t.Error("the staff sign-in offers no company sign-in")
	}

	p.next(map[string]any{"sub": "c-1", "email": "Dana@Company.example", "email_verified": true, "name": "Dana",
		"groups": []any{"staff", "agent", "supervisor"}}, "")
	c := s.Client()
	r := ssoSignIn(t, s, p, c, "/staff/admin/staff")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/admin/staff" {
		t.Fatalf("callback: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Doc.Find("main").Text())
	}
	m, err := s.App.Staff.ByEmail(ctx, "dana@company.example")
	if err != nil || m.Role != staff.Supervisor || m.Status != staff.Active || m.DisplayName != "Dana" || m.CreatedBy != "sso" {
		t.Fatalf("member: %+v %v", m, err)
	}
	if r := s.Get(t, c, "/staff", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("console: %d", r.StatusCode)
	}
	if r := s.Get(t, c, "/staff/admin/staff", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("a supervisor opened the staff list: %d", r.StatusCode)
	}

	// The provider now says admin: the role follows.
	p.next(map[string]any{"sub": "c-1", "email": "dana@company.example", "groups": "admin"}, "")
	if r := ssoSignIn(t, s, p, c, ""); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff" {
		t.Fatalf("second sign-in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := s.Get(t, c, "/staff/admin/staff", nil); r.StatusCode != http.StatusOK {
		t.Errorf("as admin, the staff list: %d", r.StatusCode)
	}

	refused := []struct {
		name   string
		claims map[string]any
		nonce  string
	}{
		{"no role", map[string]any{"sub": "c-2", "email": "eli@company.example", "groups": []any{"staff"}}, ""},
		{"email not verified", map[string]any{"sub": "c-3", "email": "fay@company.example", "email_verified": false, "groups": "agent"}, ""},
		{"another nonce", map[string]any{"sub": "c-4", "email": "gus@company.example", "groups": "agent"}, "not-the-request's"},
	}
	for _, tc := range refused {
		p.next(tc.claims, tc.nonce)
		if r := ssoSignIn(t, s, p, s.Client(), ""); r.StatusCode != http.StatusForbidden || r.Doc.Find("#blocked").Length() != 1 {
			t.Errorf("%s: %d", tc.name, r.StatusCode)
		}
	}
	for _, email := range []string{"eli@company.example", "fay@company.example", "gus@company.example"} {
		if _, err := s.App.Staff.ByEmail(ctx, email); err == nil {
			t.Errorf("a refused sign-in made %s a staff member", email)
		}
	}

	// A callback whose state is not this browser's: refused, and the code is never exchanged.
	p.next(map[string]any{"sub": "c-1", "email": "dana@company.example", "groups": "admin"}, "")
	other := s.Client()
	if r := s.Get(t, other, "/staff/signin/sso/callback?code=x&state=y", nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("callback without a start: %d", r.StatusCode)
	}
	s.Get(t, other, "/staff/signin/sso", nil)
	if r := s.Get(t, other, "/staff/signin/sso/callback?code=x&state=forged", nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state: %d", r.StatusCode)
	}

	// Disabled by an admin: the provider's word does not bring them back.
	if err := s.App.Staff.Disable(ctx, staff.CLI("test"), m.ID, "left"); err != nil {
		t.Fatal(err)
	}
	if r := ssoSignIn(t, s, p, s.Client(), ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("disabled member: %d", r.StatusCode)
	}
	log, _ := s.App.Staff.Audit(ctx, staff.Filter{StaffID: m.ID, Action: string(staff.ActionSignIn)})
	if len(log) != 2 || log[0].Detail["kind"] != "sso" || log[0].StaffRole != "admin" || log[0].Detail["was"] != "supervisor" || log[1].Detail["new"] != "true" {
		t.Errorf("audit log: %+v", log)
	}
}

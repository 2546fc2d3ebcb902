// Package shop is the example service "示例商城 / Example Shop" that `smsretire serve --demo` runs
// beside the portal: one of the operator's services, signing its users in through smsretire's
// OpenID Connect provider with an independent client library (github.com/coreos/go-oidc and
// golang.org/x/oauth2) and showing what the ID token says. It is what README's client example
// does, as a program: the authorization code flow with PKCE, state and nonce checked, the ID
// token verified against the provider's published keys.
package shop

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

//go:embed page.html style.css
var pages embed.FS

var page = template.Must(template.ParseFS(pages, "page.html"))

// Config is how the shop reaches the provider and where it is itself.
type Config struct {
	Issuer       string // the provider's issuer: the portal's base URL + /oidc
	ClientID     string
	ClientSecret string
	BaseURL      string // where the shop is reached, such as http://localhost:8081
	Log          *slog.Logger
}

// RedirectURL is the shop's callback, as the provider must have it registered.
func RedirectURL(baseURL string) string { return strings.TrimRight(baseURL, "/") + "/callback" }

// Shop is the example service's HTTP handler.
type Shop struct {
	cfg  Config
	key  []byte // signs the cookie that holds a sign-in in progress
	mux  *http.ServeMux
	mu   sync.Mutex
	prov *oidc.Provider // found on first use, when the portal is up
}

// New returns the shop.
func New(cfg Config) (*Shop, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	s := &Shop{cfg: cfg, key: key, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("GET /callback", s.callback)
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		b, _ := pages.ReadFile("style.css")
		w.Write(b)
	})
	return s, nil
}

// ServeHTTP answers the shop's pages with headers of its own: it is another site than the portal.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self' "+origin(s.cfg.Issuer)+"; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// provider discovers the provider once it answers; a failure is tried again on the next request.
func (s *Shop) provider(ctx context.Context) (*oidc.Provider, oauth2.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prov == nil {
		p, err := oidc.NewProvider(ctx, s.cfg.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, fmt.Errorf("discover %s: %w", s.cfg.Issuer, err)
		}
		s.prov = p
	}
	return s.prov, oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: s.prov.Endpoint(),
		RedirectURL: RedirectURL(s.cfg.BaseURL), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}, nil
}

// view is what page.html shows.
type view struct {
	T      map[string]string
	Lang   string
	Claims []claim
	Raw    string
	Error  string
}

type claim struct{ Name, Value string }

func (s *Shop) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	v.Lang, v.T = texts(r.Header.Get("Accept-Language"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		s.cfg.Log.Error("shop: render", "err", err)
	}
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) { s.render(w, r, http.StatusOK, view{}) }

// pending is a sign-in in progress, kept in a signed cookie: what the callback must check.
type pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

const pendingCookie = "example_shop_login"

// login sends the browser to the provider: state, nonce and a PKCE verifier made here and kept in
// a cookie; the account (login_hint), a passkey (acr_values=phr) and a fresh sign-in
// (prompt=login) as the form asks.
func (s *Shop) login(w http.ResponseWriter, r *http.Request) {
	_, conf, err := s.provider(r.Context())
	if err != nil {
		s.cfg.Log.Warn("shop", "err", err)
		s.render(w, r, http.StatusBadGateway, view{Error: "provider"})
		return
	}
	p := pending{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce)}
	if hint := strings.TrimSpace(r.FormValue("login_hint")); hint != "" && len(hint) <= 64 {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	if r.FormValue("passkey") != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", "phr"))
	}
	if r.FormValue("fresh") != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	b, _ := json.Marshal(p)
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: s.sign(b), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: int((30 * time.Minute).Seconds())})
	http.Redirect(w, r, conf.AuthCodeURL(p.State, opts...), http.StatusSeeOther)
}

// callback checks the state, exchanges the code with the PKCE verifier, verifies the ID token and
// its nonce, and shows the claims.
func (s *Shop) callback(w http.ResponseWriter, r *http.Request) {
	prov, conf, err := s.provider(r.Context())
	if err != nil {
		s.render(w, r, http.StatusBadGateway, view{Error: "provider"})
		return
	}
	var p pending
	ck, err := r.Cookie(pendingCookie)
	if err == nil {
		err = s.open(ck.Value, &p)
	}
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/", MaxAge: -1})
	q := r.URL.Query()
	switch {
	case err != nil || p.State == "" || q.Get("state") != p.State:
		s.render(w, r, http.StatusBadRequest, view{Error: "state"})
		return
	case q.Get("error") != "":
		s.render(w, r, http.StatusOK, view{Error: "refused", Raw: q.Get("error") + ": " + q.Get("error_description")})
		return
	}
	tok, err := conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		s.cfg.Log.Warn("shop: exchange", "err", err)
		s.render(w, r, http.StatusBadGateway, view{Error: "exchange"})
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := prov.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}).Verify(r.Context(), raw)
	if err != nil || id.Nonce != p.Nonce {
		s.cfg.Log.Warn("shop: ID token", "err", err)
		s.render(w, r, http.StatusBadGateway, view{Error: "token"})
		return
	}
	var all map[string]any
	if err := id.Claims(&all); err != nil {
		s.render(w, r, http.StatusBadGateway, view{Error: "token"})
		return
	}
	pretty, _ := json.MarshalIndent(all, "", "  ")
	s.render(w, r, http.StatusOK, view{Claims: claimsOf(all), Raw: string(pretty)})
}

// claimsOf lists the claims that say who signed in and how, in a fixed order, the others after.
func claimsOf(all map[string]any) []claim {
	first := []string{"sub", "amr", "acr", "auth_time", "nonce", "name", "email", "phone_number"}
	var out []claim
	seen := map[string]bool{}
	add := func(k string) {
		v, ok := all[k]
		if !ok || seen[k] {
			return
		}
		seen[k] = true
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			out = append(out, claim{k, strings.Join(parts, " ")})
		case float64:
			if k == "auth_time" || k == "iat" || k == "exp" {
				out = append(out, claim{k, fmt.Sprintf("%.0f (%s)", x, time.Unix(int64(x), 0).UTC().Format(time.RFC3339))})
			} else {
				out = append(out, claim{k, fmt.Sprint(x)})
			}
		default:
			out = append(out, claim{k, fmt.Sprint(x)})
		}
	}
	for _, k := range first {
		add(k)
	}
	rest := make([]string, 0, len(all))
	for k := range all {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		add(k)
	}
	return out
}

// sign and open keep a sign-in in progress in a cookie the browser cannot change.
func (s *Shop) sign(b []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Shop) open(v string, into any) error {
	body, mac, ok := strings.Cut(v, ".")
	if !ok {
		return errors.New("malformed")
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil {
		return errors.New("malformed")
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	if !hmac.Equal(m.Sum(nil), sum) {
		return errors.New("forged")
	}
	return json.Unmarshal(b, into)
}

func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// texts picks the page's language from Accept-Language: English when the browser prefers it,
// else Chinese.
func texts(acceptLanguage string) (string, map[string]string) {
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh-Hans", zh
		case strings.HasPrefix(tag, "en"):
			return "en", en
		}
	}
	return "zh-Hans", zh
}

var zh = map[string]string{
	"title": "示例商城", "lead": "这是运营方的一个示例服务：它通过 smsretire 的 OpenID Connect 登录用户，并显示 ID 令牌中的声明。",
	"hint": "您在本商城的用户 ID（可选，作为 login_hint）", "passkey": "要求防钓鱼登录（只接受通行密钥，acr_values=phr）",
	"fresh": "要求重新验证（prompt=login）", "submit": "用 smsretire 登录", "signed_in": "已登录",
	"claims": "ID 令牌中的声明", "raw": "完整内容", "again": "再次登录",
	"err.provider": "无法连接登录服务，请稍后再试。", "err.state": "登录已过期或不是在这个浏览器发起的，请重新登录。",
	"err.refused": "登录没有完成：", "err.exchange": "无法换取令牌，请重新登录。", "err.token": "ID 令牌无法验证，请重新登录。",
}

var en = map[string]string{
	"title": "Example Shop", "lead": "One of the operator's services, for trying it out: it signs users in through smsretire's OpenID Connect provider and shows the claims of the ID token.",
	"hint": "Your user ID at the shop (optional, sent as login_hint)", "passkey": "Require a phishing-resistant sign-in (passkey only, acr_values=phr)",
	"fresh": "Require a fresh sign-in (prompt=login)", "submit": "Sign in with smsretire", "signed_in": "Signed in",
	"claims": "Claims of the ID token", "raw": "All of it", "again": "Sign in again",
	"err.provider": "The sign-in service cannot be reached; try again later.", "err.state": "The sign-in expired or was started in another browser; sign in again.",
	"err.refused": "The sign-in did not complete: ", "err.exchange": "The code could not be exchanged; sign in again.", "err.token": "The ID token did not verify; sign in again.",
}

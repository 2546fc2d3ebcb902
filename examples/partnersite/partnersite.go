// Package partnersite is the demo partner site "示例合作方 / Example Partner" that `smsretire serve
// --demo` runs beside the portal, on another origin: a site where the user is already signed in,
// whose backend signs a launch token (what README's partner section shows, with go-jose) and whose
// page frames the portal with the iframe tag and the portal's partner.js, showing the messages the
// portal sends.
package partnersite

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

//go:embed page.html page.js style.css
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// Config is who the partner is to the portal, and where each of them is.
type Config struct {
	PortalURL string   // where the browser reaches the portal, such as http://localhost:8080
	Audience  string   // the portal's --base-url, which tokens name in aud
	PartnerID string   // the [[partner]] id
	Secret    []byte   // its hmac_secret
	BaseURL   string   // where this site is, such as http://127.0.0.1:8082
	Users     []string // the accounts the page offers to launch
	Log       *slog.Logger
	Now       func() time.Time // the clock tokens are signed by; time.Now when nil
}

// Site is the demo partner site's HTTP handler.
type Site struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the site.
func New(cfg Config) *Site {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PortalURL = strings.TrimRight(cfg.PortalURL, "/")
	s := &Site{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, name := range []string{"page.js", "style.css"} {
		s.mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, r *http.Request) {
			b, _ := files.ReadFile(name)
			ct := "text/css; charset=utf-8"
			if strings.HasSuffix(name, ".js") {
				ct = "text/javascript; charset=utf-8"
			}
			w.Header().Set("Content-Type", ct)
			w.Write(b)
		})
	}
	return s
}

// ServeHTTP answers with headers of the site's own: another site than the portal, which it frames.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' "+s.cfg.PortalURL+"; style-src 'self'; frame-src "+
		s.cfg.PortalURL+"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// view is what page.html shows.
type view struct {
	Users     []string
	User      string
	LaunchURL string
	Portal    string
}

// home lists the demo users; with ?user=ID it is that user's page, which frames the portal with a
// launch token signed just now.
func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	v := view{Users: s.cfg.Users, Portal: s.cfg.PortalURL}
	if u := r.URL.Query().Get("user"); u != "" && slices.Contains(s.cfg.Users, u) {
		token, err := s.LaunchToken(u, s.cfg.Now())
		if err != nil {
			s.cfg.Log.Error("partner site: sign", "err", err)
			http.Error(w, "cannot sign", http.StatusInternalServerError)
			return
		}
		v.User = u
		v.LaunchURL = s.cfg.PortalURL + "/embed/launch?partner=" + url.QueryEscape(s.cfg.PartnerID) + "&token=" + url.QueryEscape(token)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		s.cfg.Log.Error("partner site: render", "err", err)
	}
}

// LaunchToken signs a launch of userID at now, as a partner's backend does: HS256 under the
// shared secret, issued by the partner to the portal, for two minutes, with a random nonce.
func (s *Site) LaunchToken(userID string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: s.cfg.Secret}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	claims := jwt.Claims{Issuer: s.cfg.PartnerID, Audience: jwt.Audience{s.cfg.Audience}, Subject: userID,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)), ID: hex.EncodeToString(nonce)}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign launch: %w", err)
	}
	return tok, nil
}

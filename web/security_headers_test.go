package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/static"
	"github.com/smsretire/smsretire/views"
	"github.com/smsretire/smsretire/web/webtest"
)

// frameRule is who may show a route's pages in a frame: the CSP frame-ancestors value, and the
// X-Frame-Options header ("" when it must not be sent).
type frameRule struct {
	ancestors     string
	xFrameOptions string
	framed        bool // passkeys allowed in the frame, no Cross-Origin-Opener-Policy
}

// noFraming is the rule of every route unless its group declares another in frameRules.
var noFraming = frameRule{ancestors: "'none'", xFrameOptions: "DENY"}

// frameRules are the route groups, by route name prefix, that may be framed. The embedded pages
// (issue 21) declare theirs here: their partners' origins in frame-ancestors, and no
// X-Frame-Options, which cannot name them and would forbid the frame.
var frameRules = map[string]frameRule{
	"embed.": {ancestors: testPartnerOrigin, framed: true}, // the test partner's (withPartner)
}

// frameRuleOf returns the frame rule of the route named name ("" for a request no route
// answered).
func frameRuleOf(name string) frameRule {
	best, rule := "", noFraming
	for prefix, r := range frameRules {
		if strings.HasPrefix(name, prefix) && len(prefix) > len(best) {
			best, rule = prefix, r
		}
	}
	return rule
}

// routeName returns the name of the route that answers r, or "".
func routeName(e *echo.Echo, r *http.Request) string {
	if r.Method == http.MethodHead { // routed as GET (headAsGet)
		get := *r
		get.Method = http.MethodGet
		r = &get
	}
	key := routeOf(e, r)
	for _, rt := range e.Routes() {
		if rt.Method+" "+rt.Path == key {
			return rt.Name
		}
	}
	return ""
}

// clientOrigin reports whether origin is that of a redirect URI of a configured client.
func clientOrigin(s *webtest.Server, origin string) bool {
	for _, c := range s.Config.Clients {
		for _, u := range c.RedirectURIs {
			if strings.HasPrefix(u, origin+"/") {
				return true
			}
		}
	}
	return false
}

// checkSecurityHeaders asserts the hardening headers of one answer, whatever its status.
func checkSecurityHeaders(t *testing.T, s *webtest.Server, what string, r *webtest.Response, https bool) {
	t.Helper()
	h := r.Header
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (%d): "+format, append([]any{what, r.StatusCode}, args...)...)
	}
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name != "" {
			directives[name] = value
		}
	}
	// While a user signs in for a service, its forms' redirects may end at the service's
	// registered redirect URI: form-action names that origin beside 'self'.
	if fa := directives["form-action"]; fa != "'self'" {
		extra := strings.TrimPrefix(fa, "'self' ")
		if !clientOrigin(s, extra) {
			fail("CSP form-action %q, want 'self' or 'self' and a registered service's origin", fa)
		}
		directives["form-action"] = "'self'"
		csp = strings.Replace(csp, fa, "'self'", 1)
	}
	for name, want := range map[string]string{"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "object-src": "'none'", "base-uri": "'none'", "form-action": "'self'"} {
		if got := directives[name]; got != want {
			fail("CSP %s %q, want %q (CSP %q)", name, got, want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "*") || strings.Contains(csp, "http:") {
		fail("CSP allows unsafe or foreign code: %q", csp)
	}
	rule := frameRuleOf(routeName(s.Echo, r.Request))
	if r.StatusCode == http.StatusForbidden && r.Request.Header.Get("Sec-Fetch-Site") == "cross-site" {
		rule = noFraming // refused before the route's group sets its own rule
	}
	if got := directives["frame-ancestors"]; got != rule.ancestors {
		fail("CSP frame-ancestors %q, want %q", got, rule.ancestors)
	}
	if got := h.Get("X-Frame-Options"); got != rule.xFrameOptions {
		fail("X-Frame-Options %q, want %q", got, rule.xFrameOptions)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		fail("X-Content-Type-Options %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" { // notice links carry a token
		fail("Referrer-Policy %q, want no-referrer", got)
	}
	pp := h.Get("Permissions-Policy")
	for _, off := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()"} {
		if !strings.Contains(pp, off) {
			fail("Permissions-Policy %q does not turn off %s", pp, off)
		}
	}
	if rule.framed {
		// A frame may make and use passkeys when the partner's iframe delegates it; the page's own
		// policy allows it for itself, and no opener policy stands between it and the partner.
		for _, f := range []string{"publickey-credentials-create", "publickey-credentials-get"} {
			if !strings.Contains(pp, f+`=(self "`+rule.ancestors+`")`) {
				fail("Permissions-Policy %q does not allow %s in the frame", pp, f)
			}
		}
		if coop := h.Get("Cross-Origin-Opener-Policy"); coop != "" {
			fail("Cross-Origin-Opener-Policy %q on a framed page", coop)
		}
	} else {
		if strings.Contains(pp, "publickey-credentials") {
			fail("Permissions-Policy %q restricts passkeys", pp)
		}
		if coop := h.Get("Cross-Origin-Opener-Policy"); coop != "same-origin" {
			fail("Cross-Origin-Opener-Policy %q, want same-origin", coop)
		}
	}
	if got := h.Get("Strict-Transport-Security"); https && got != "max-age=31536000; includeSubDomains" {
		fail("Strict-Transport-Security %q with an https base URL, want a year with subdomains", got)
	} else if !https && got != "" {
		fail("Strict-Transport-Security %q with an http base URL", got)
	}
	cache := h.Get("Cache-Control")
	if strings.HasPrefix(r.Request.URL.Path, "/static/") && r.StatusCode == http.StatusOK {
		// The same for everyone, never personal.
		if !strings.HasPrefix(cache, "public") || len(h.Values("Set-Cookie")) > 0 {
			fail("static file: Cache-Control %q, %d cookies", cache, len(h.Values("Set-Cookie")))
		}
	} else if cache != "no-store" {
		// Pages, redirects and errors may carry personal data or a session: kept by no cache.
		fail("Cache-Control %q, want no-store", cache)
	}
}

// concretePath fills a route's parameters with sample values.
func concretePath(path, version string) string {
	var parts []string
	for _, seg := range strings.Split(path, "/") {
		switch {
		case seg == "*":
			seg = version + "/css/app.css"
		case seg == ":partner":
			seg = testPartnerID
		case strings.HasPrefix(seg, ":token"):
			seg = "n1.not-a-token"
		case strings.HasPrefix(seg, ":"):
			seg = "1"
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, "/")
}

// TestSecurityHeaders_EveryRoute asserts the hardening headers on every answer the portal gives:
// each route of e.Routes() asked anonymously by its method, by HEAD, by the method it does not
// take (405), cross-origin (403) and with a trailing slash (redirect), plus a page that does not
// exist, with an http and with an https base URL; and every answer of the tour (pages of signed-in
// and verified users, forms with errors, htmx fragments, redirects, 401, 403, 410, 413, 429).
func TestSecurityHeaders_EveryRoute(t *testing.T) {
	set, err := static.Files()
	if err != nil {
		t.Fatal(err)
	}
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://attacker.example"}}
	for _, base := range []struct {
		name  string
		https bool
		opts  []webtest.ServerOption
	}{
		{"http", false, []webtest.ServerOption{withPartner(true)}},
		{"https", true, []webtest.ServerOption{withPartner(true), webtest.WithConfig(func(c *config.Config) { c.BaseURL = "https://portal.example" })}},
	} {
		t.Run(base.name, func(t *testing.T) {
			s := webtest.NewServer(t, base.opts...)
			c := s.Client()
			seen := map[int]bool{}
			check := func(method, path string, header http.Header) {
				t.Helper()
				var form url.Values
				if method == http.MethodPost {
					form = url.Values{}
				}
				r := s.Do(t, c, method, path, form, header)
				seen[r.StatusCode] = true
				checkSecurityHeaders(t, s, method+" "+path, r, base.https)
			}
			for _, rt := range s.Echo.Routes() {
				path := concretePath(rt.Path, set.Version)
				if rt.Name == views.RouteEmbedLaunch {
					// The partner is in the query: the launch frames for it (a refused launch too).
					check(rt.Method, path+"?partner="+testPartnerID, nil)
					check(http.MethodHead, path+"?partner="+testPartnerID, nil)
					continue
				}
				check(rt.Method, path, nil)
				check(rt.Method, path+"/", nil)
				switch rt.Method {
				case http.MethodGet:
					check(http.MethodHead, path, nil)
					check(http.MethodPost, path, nil)
				case http.MethodPost:
					check(http.MethodPost, path, crossSite)
					check(http.MethodGet, path, nil)
				}
			}
			check(http.MethodGet, "/no/such/page", nil)
			check(http.MethodOptions, "/", nil)
			check(http.MethodGet, "/static/css/nope.css", nil)
			for _, status := range []int{http.StatusOK, http.StatusSeeOther, http.StatusMovedPermanently, http.StatusForbidden, http.StatusNotFound} {
				if !seen[status] {
					t.Errorf("no answer had status %d: the walk does not reach what it means to", status)
				}
			}
		})
	}
	t.Run("tour", func(t *testing.T) {
		for _, lang := range i18n.Languages {
			s := tourServer(t)
			n := 0
			tourVisit(t, s, lang, func(st stop) {
				checkSecurityHeaders(t, s, st.name+" in "+lang, st.resp, false)
				n++
			})
			if n < 50 {
				t.Errorf("%s: checked %d answers of the tour", lang, n)
			}
		}
	})
}

func TestFrameRuleOf_GroupsDeclareTheirOwn(t *testing.T) {
	saved := frameRules
	t.Cleanup(func() { frameRules = saved })
	frameRules = map[string]frameRule{"embed.": {ancestors: "https://partner.example", xFrameOptions: ""}}
	if got := frameRuleOf("embed.notice"); got.ancestors != "https://partner.example" || got.xFrameOptions != "" {
		t.Errorf("embed.notice: %+v", got)
	}
	for _, name := range []string{"home", "", "security.show"} {
		if got := frameRuleOf(name); got != noFraming {
			t.Errorf("%q: %+v, want no framing", name, got)
		}
	}
}

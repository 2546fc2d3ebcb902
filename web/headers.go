package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// contentSecurityPolicy is the strict policy of every page: no inline script, nothing from
// elsewhere. frameAncestors says who may frame the page: 'none', or an embedded page's partners.
// Forms post to the portal only, and their answers may lead nowhere else, but for formTargets:
// the service a user signs in for, which a sign-in's redirects end at.
func contentSecurityPolicy(frameAncestors string, formTargets ...string) string {
	formAction := strings.Join(append([]string{"'self'"}, formTargets...), " ")
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action " + formAction + "; frame-ancestors " + frameAncestors
}

// securityHeaders sets the hardening headers of every response, the strict CSP among them. It runs
// before routing, so redirects and refusals have them too; a group's header middleware may
// replace some for its routes (frameAncestors).
func (h *handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	staticPrefix := strings.TrimSuffix(h.path(views.RouteStatic), "*")
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy("'none'"))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if h.cfg.SecureCookies() {
			hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		hd.Set("Cache-Control", "no-store") // a static file that is found says how to cache it
		if !strings.HasPrefix(c.Request().URL.Path, staticPrefix) {
			hd.Add("Vary", "Cookie, Accept-Language, HX-Request")
		}
		return next(c)
	}
}

// frameAncestors lets the origins given frame a group's pages, as a partner's site frames an
// embedded page: CSP frame-ancestors names them, and X-Frame-Options, which cannot, goes. With no
// origins nothing may frame the pages, as everywhere else.
func (h *handler) frameAncestors(origins []string) echo.MiddlewareFunc {
	policy := "'none'"
	if len(origins) > 0 {
		policy = strings.Join(origins, " ")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			hd := c.Response().Header()
			hd.Set("Content-Security-Policy", contentSecurityPolicy(policy))
			if len(origins) > 0 {
				hd.Del("X-Frame-Options")
			}
			return next(c)
		}
	}
}

// crossOriginProtection refuses cross-origin state changes with Go's CrossOriginProtection, which
// reads Sec-Fetch-Site and Origin, so no tokens are needed. Go accepts an Origin whose host is
// the request's Host whatever its scheme; here, when a browser sends Origin without
// Sec-Fetch-Site, its scheme must also be --base-url's, so a page on http:// cannot post to the
// portal on https://. --base-url's own origin is trusted even when a proxy changed the Host. A
// request with neither header passes: it comes from a script, not a browser, which always sends
// one of them (Go's documented behaviour).
func (h *handler) crossOriginProtection() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	base, err := url.Parse(h.cfg.BaseURL)
	scheme := "http"
	if err == nil && base.Scheme != "" && base.Host != "" {
		scheme = base.Scheme
		// The configuration was validated: the origin is well formed.
		_ = cop.AddTrustedOrigin(base.Scheme + "://" + base.Host)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if h.app.Provider != nil && oidcServerEndpoint(r.URL.Path) {
				return next(c) // called by services' servers with credentials, never with the user's cookie
			}
			err := cop.Check(r)
			if err == nil && r.Header.Get("Sec-Fetch-Site") == "" && !safeMethod(r.Method) {
				if origin := r.Header.Get("Origin"); origin != "" {
					if o, perr := url.Parse(origin); perr != nil || o.Scheme != scheme {
						err = errSchemeMismatch
					}
				}
			}
			if err != nil {
				return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused").SetInternal(err)
			}
			return next(c)
		}
	}
}

var errSchemeMismatch = errors.New("cross-origin request: the Origin's scheme is not the portal's")

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

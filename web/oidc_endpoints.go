package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/provider"
	"github.com/smsretire/smsretire/views"
)

// The provider's cookie, beside the user cookie: it binds authorization requests to the browser
// that started them and carries the request the user is signing in for, across the renewals of
// the user cookie at verification and sign-in.
const (
	oidcCookie   = "smsretire_oidc"
	ckBrowser    = "browser" // the browser's token; requests store its hash
	ckOIDCReq    = "req"     // the request the user is signing in for now
	ckOIDCLater  = "later"   // the request whose "remind me later" the current verification is for
	oidcCookieMx = 24 * 60 * 60
)

// oidcCookieOf returns the request's provider cookie; one that fails to decode gives a fresh one.
func (h *handler) oidcCookieOf(c echo.Context) *sessions.Session {
	s, err := h.cookies.Get(c.Request(), oidcCookie)
	if err != nil {
		s, _ = h.cookies.New(c.Request(), oidcCookie)
	}
	opts := *h.cookies.Options
	opts.MaxAge = oidcCookieMx
	s.Options = &opts
	return s
}

// browserToken returns the browser's token from the provider cookie, making one when there is none.
func (h *handler) browserToken(c echo.Context) (string, error) {
	ck := h.oidcCookieOf(c)
	if t := stringValue(ck.Values[ckBrowser]); t != "" {
		return t, nil
	}
	t, err := provider.NewBrowserToken()
	if err != nil {
		return "", err
	}
	ck.Values[ckBrowser] = t
	return t, ck.Save(c.Request(), c.Response())
}

// oidcDiscovery serves /.well-known/openid-configuration under the issuer.
func (h *handler) oidcDiscovery(c echo.Context) error {
	return c.JSON(http.StatusOK, h.app.Provider.Discovery(h.ctx(c)))
}

// oidcAuthorize receives a service's authorization request. The client and its redirect URI are
// checked here first: an unknown client or a redirect URI that is not registered exactly gets an
// error page, never a redirect; a request without PKCE S256 or for another flow than the code flow
// goes back to the service with the error. The library then validates and stores the request,
// bound to this browser, and sends the browser to the login step.
func (h *handler) oidcAuthorize(c echo.Context) error {
	q := c.Request().URL.Query()
	err := h.app.Provider.Precheck(q)
	var back *provider.RedirectError
	switch {
	case errors.Is(err, provider.ErrUnknownClient):
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.client")
	case errors.Is(err, provider.ErrRedirectURI):
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.redirect_uri")
	case errors.As(err, &back):
		return c.Redirect(http.StatusFound, back.URL)
	case err != nil:
		return err
	}
	token, err := h.browserToken(c)
	if err != nil {
		return err
	}
	r := c.Request().WithContext(provider.WithBrowser(h.ctx(c), token))
	op.Authorize(c.Response(), r, h.app.Provider.Provider())
	return nil
}

// oidcCallback hands the service its code, only to the browser that started the request.
func (h *handler) oidcCallback(c echo.Context) error {
	if _, err := h.app.Provider.LoginRequest(h.ctx(c), c.QueryParam("id"), stringValue(h.oidcCookieOf(c).Values[ckBrowser])); err != nil {
		if errors.Is(err, provider.ErrNoRequest) {
			return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
		}
		return err
	}
	return h.oidcLibrary(c)
}

// oidcToken serves the token endpoint for the authorization code grant only.
func (h *handler) oidcToken(c echo.Context) error {
	if gt := c.FormValue("grant_type"); gt != "authorization_code" {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type",
			"error_description": "only the authorization_code grant is offered"})
	}
	return h.oidcLibrary(c)
}

// oidcEndSession is the sign-out a service starts: its tokens for the user are revoked and, when
// the ID token hint names the user signed in with this browser, the session ends too.
func (h *handler) oidcEndSession(c echo.Context) error {
	ctx := provider.WithSignOut(h.ctx(c), func(userID string) error {
		ss, ok, err := h.currentSession(c)
		if err != nil || !ok || ss.Subject != userID {
			return err
		}
		if err := h.app.Sessions.End(h.ctx(c), ss, client(c)); err != nil {
			return err
		}
		return h.saveCookie(c, h.renewCookie(c))
	})
	c.SetRequest(c.Request().WithContext(ctx))
	return h.oidcLibrary(c)
}

// oidcLibrary hands the request to the library's router, which sees paths relative to the issuer.
func (h *handler) oidcLibrary(c echo.Context) error {
	http.StripPrefix(app.OIDCPath, h.app.Provider.Handler()).ServeHTTP(c.Response(), c.Request())
	return nil
}

// oidcErrorPage answers a request the provider cannot take with a page that explains it, in the
// user's language, and no redirect.
func (h *handler) oidcErrorPage(c echo.Context, status int, key string) error {
	return render(c, status, views.Error(views.ErrorPage{Page: h.page(c), Status: status, Key: key}))
}

// oidcPath reports whether path is one of the provider's protocol endpoints that services call
// from their servers (or a public client's code), which carry no cookie and need no CSRF check.
func oidcServerEndpoint(path string) bool {
	switch strings.TrimPrefix(path, app.OIDCPath) {
	case "/oauth/token", "/userinfo", "/revoke":
		return true
	}
	return false
}

// Package web is the Echo server: routes, middleware and the thin handlers that parse a request,
// call the domain and render a view.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/static"
)

// handler holds what every handler shares; each route is a method on it.
type handler struct {
	app          *app.App
	echo         *echo.Echo // its router reverses route names into paths
	cfg          config.Config
	store        *store.SQL
	cat          *i18n.Catalog
	clock        clock.Clock
	log          *slog.Logger
	cookies      *sessions.CookieStore
	loc          *time.Location
	assetVersion string
	assets       *static.Set
	paths        map[string]string // route name → path, of the routes without parameters
	ident        *identity.Service
	enroll       *enroll.Service
	totp         *totp.Service
	passkeys     *passkey.Service
	signins      *signin.Service
	recovery     *recovery.Service
	qrImages     *qrImages // QR sign-in codes' images, drawn once per code

	// Route groups prepared for what comes next (see routes.go).
	staff, embed, oidc *group
	twins              embedTwins            // the journey's routes that are also embedded
	embedCookies       *sessions.CookieStore // the cookie inside a partner's frame (embed.go)
}

// New builds the Echo server with every route and middleware, on the services of a.
func New(a *app.App) (*echo.Echo, error) {
	assets, err := static.Files()
	if err != nil {
		return nil, err
	}
	h := &handler{
		app:          a,
		qrImages:     newQRImages(),
		cfg:          a.Config,
		store:        a.Store,
		cat:          a.Catalog,
		clock:        a.Clock,
		log:          a.Logger,
		cookies:      newCookieStore(a.Config, a.Keys),
		loc:          a.Config.Location(),
		assetVersion: assets.Version,
		assets:       assets,
		ident:        a.Identity,
		enroll:       a.Enroll,
		totp:         a.TOTP,
		passkeys:     a.Passkeys,
		signins:      a.SignIn,
		recovery:     a.Recovery,
	}
	e := echo.New()
	h.echo = e
	h.embedCookies = newCookieStoreEmbedded(h.cookies)
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.handleError
	ranges, err := a.Config.ProxyRanges()
	if err != nil {
		return nil, err
	}
	if len(ranges) == 0 {
		e.IPExtractor = echo.ExtractIPDirect()
	} else {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, r := range ranges {
			opts = append(opts, echo.TrustIPRange(r))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	h.routes(e)
	h.middleware(e) // after the routes: it names some of them
	// Routes' paths by name, looked up once: pages ask for a dozen each, and Echo's Reverse walks
	// every route each time. A name that several routes share is left to Reverse.
	h.paths = map[string]string{}
	shared := map[string]bool{}
	for _, r := range e.Routes() {
		if _, seen := h.paths[r.Name]; seen {
			shared[r.Name] = true
		}
		h.paths[r.Name] = r.Path
	}
	for name := range shared {
		delete(h.paths, name)
	}
	return e, nil
}

func (h *handler) now() time.Time { return h.clock.Now() }

func (h *handler) ctx(c echo.Context) context.Context { return c.Request().Context() }

// path returns the path of the named route (views.Route…) with its parameters in order. A name
// no route has is a programming error that every test of the page finds.
func (h *handler) path(route string, params ...any) string {
	if p, ok := h.paths[route]; ok {
		if len(params) == 0 && !strings.ContainsAny(p, `:*\`) {
			return p
		}
		return reverse(p, params)
	}
	p := h.echo.Reverse(route, params...)
	if p == "" {
		panic("web: no route named " + route)
	}
	return p
}

// reverse fills a route's path with params in order, as Echo's Router.Reverse does: each ":name"
// or "*" up to the next slash becomes the next parameter; a backslash escapes a colon.
func reverse(path string, params []any) string {
	var b strings.Builder
	b.Grow(len(path) + 32)
	n := 0
	for i, l := 0, len(path); i < l; i++ {
		backslash := path[i] == '\\'
		if backslash && i+1 < l && path[i+1] == ':' {
			i++
		}
		if n < len(params) && (path[i] == '*' || (!backslash && path[i] == ':')) {
			for ; i < l && path[i] != '/'; i++ {
			}
			if s, ok := params[n].(string); ok {
				b.WriteString(s)
			} else {
				fmt.Fprintf(&b, "%v", params[n])
			}
			n++
		}
		if i < l {
			b.WriteByte(path[i])
		}
	}
	return b.String()
}

// redirectTo answers with a redirect to the named route, which takes no parameters; see redirect.
func (h *handler) redirectTo(c echo.Context, route string) error {
	return redirect(c, h.path(route))
}

// Package web is the Echo server: routes, middleware and the thin handlers that parse a request,
// call the domain and render a view.
package web

import (
	"context"
	"log/slog"
	"net/http"
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
	cfg          config.Config
	store        *store.SQL
	cat          *i18n.Catalog
	clock        clock.Clock
	log          *slog.Logger
	sessions     *sessions.CookieStore
	loc          *time.Location
	assetVersion string
	assets       *static.Set
	ident        *identity.Service
	enroll       *enroll.Service
	totp         *totp.Service
	passkeys     *passkey.Service
	signins      *signin.Service
	recovery     *recovery.Service
}

// New builds the Echo server with every route and middleware, on the services of a.
func New(a *app.App) (*echo.Echo, error) {
	assets, err := static.Files()
	if err != nil {
		return nil, err
	}
	h := &handler{
		app:          a,
		cfg:          a.Config,
		store:        a.Store,
		cat:          a.Catalog,
		clock:        a.Clock,
		log:          a.Logger,
		sessions:     newCookieStore(a.Config, a.Keys),
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
	h.middleware(e)
	h.routes(e)
	return e, nil
}

// Server wraps the Echo handler in an http.Server with the configured timeouts.
func Server(cfg config.Config, e *echo.Echo) *http.Server {
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func (h *handler) now() time.Time { return h.clock.Now() }

func (h *handler) ctx(c echo.Context) context.Context { return c.Request().Context() }

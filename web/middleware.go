package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/views"
)

const langCookie = "lang"

// middleware installs the stack, outermost first.
func (h *handler) middleware(e *echo.Echo) {
	// The hardening headers come first, so that every answer has them: the trailing-slash
	// redirect below answers before routing.
	e.Pre(h.securityHeaders)
	e.Pre(headAsGet)
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusMovedPermanently}))
	e.Use(headStaysHead)
	e.Use(middleware.RequestID())
	e.Use(h.requestLogger())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		h.log.Error("panic", "err", err, "request_id", requestID(c), "stack", string(stack))
		return err
	}}))
	// The page context comes before anything that can refuse a request, so that every error page
	// is in the user's language.
	e.Use(h.pageContext)
	e.Use(middleware.BodyLimit("64K"))
	e.Use(crossOriginProtection())
}

// headAsGet routes HEAD like GET: Echo's router reads the method of the request that net/http
// holds, so the method is changed there until routing is done (see headStaysHead).
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			r.Method = http.MethodGet
			c.Set(headKey, r)
		}
		return next(c)
	}
}

const headKey = "head_request"

// headStaysHead runs after routing: it gives net/http back its HEAD request, so that no body is
// sent after the headers (a body there would be read as the answer to the client's next request
// on the connection), and the handlers a copy that says GET.
func headStaysHead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if head, ok := c.Get(headKey).(*http.Request); ok {
			get := *head
			head.Method = http.MethodHead
			c.SetRequest(&get)
		}
		return next(c)
	}
}

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// requestLogger writes one JSON line per request, with its request ID.
func (h *handler) requestLogger() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true, LogRemoteIP: true,
		Skipper: func(c echo.Context) bool {
			p := c.Request().URL.Path
			return p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/static/")
		},
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			} else if v.Status >= 400 {
				level = slog.LevelWarn
			}
			path := v.URIPath
			if route := c.Path(); strings.Contains(route, ":") {
				path = route // keep tokens in URLs out of the logs
			}
			attrs := []slog.Attr{
				slog.String("method", v.Method), slog.String("path", path), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID), slog.String("ip", v.RemoteIP),
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			h.log.LogAttrs(context.Background(), level, "request", attrs...)
			return nil
		},
	})
}

// securityHeaders sets a strict CSP without inline script and the other hardening headers.
func (h *handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if h.cfg.SecureCookies() {
			hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		hd.Set("Cache-Control", "no-store") // a static file that is found says how to cache it
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			hd.Add("Vary", "Cookie, Accept-Language, HX-Request")
		}
		return next(c)
	}
}

// crossOriginProtection refuses cross-origin state changes with Go's CrossOriginProtection, which
// reads Sec-Fetch-Site and Origin, so no tokens are needed.
func crossOriginProtection() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return echo.NewHTTPError(http.StatusForbidden, "cross-origin request refused").SetInternal(err)
			}
			return next(c)
		}
	}
}

const pageKey = "page"

// pageContext builds the per-request page context every view embeds.
func (h *handler) pageContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		choice := ""
		if ck, err := r.Cookie(langCookie); err == nil {
			choice = ck.Value
		}
		lang := h.cat.Negotiate(choice, r.Header.Get("Accept-Language"))
		c.Set(pageKey, views.Page{
			T:            h.cat.For(lang),
			Path:         returnPath(c),
			RequestID:    requestID(c),
			HTMX:         r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Request-Type") != "full",
			SupportEmail: h.cfg.SupportEmail,
			SupportPhone: h.cfg.SupportPhone,
			AssetVersion: h.assetVersion,
			Demo:         h.cfg.Demo,
			Location:     h.loc,
		})
		return next(c)
	}
}

// returnPath is where the language switch leads back to: this page, or for a page that answers a
// form post, the post's URL when a page can be fetched there, else home.
func returnPath(c echo.Context) string {
	r := c.Request()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	e := c.Echo()
	probe := e.NewContext(nil, nil)
	e.Router().Find(http.MethodGet, r.URL.Path, probe)
	for _, rt := range e.Routes() {
		if rt.Method == http.MethodGet && rt.Path == probe.Path() {
			return r.URL.RequestURI()
		}
	}
	return "/"
}

// page returns the request's page context.
func (h *handler) page(c echo.Context) views.Page {
	p, ok := c.Get(pageKey).(views.Page)
	if !ok {
		return views.Page{T: h.cat.For(i18n.Chinese), AssetVersion: h.assetVersion, Location: h.loc}
	}
	return p
}

// pageFor returns the page context in a user's roster language when the browser made no choice.
func (h *handler) pageFor(c echo.Context, userLocale string) views.Page {
	p := h.page(c)
	if _, err := c.Request().Cookie(langCookie); errors.Is(err, http.ErrNoCookie) {
		if l := i18n.Supported(userLocale); l != "" {
			p.T = h.cat.For(l)
		}
	}
	return p
}

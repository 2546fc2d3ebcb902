package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/smsretire/smsretire/views"
)

const langCookie = "lang"

// middleware installs the stack, outermost first.
func (h *handler) middleware(e *echo.Echo) {
	// The hardening headers come first, so that every answer has them: the trailing-slash
	// redirect below answers before routing, and error pages and refusals come later. A route
	// group may replace some for its routes (frameAncestors).
	e.Pre(h.securityHeaders)
	e.Pre(headAsGet)
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: http.StatusMovedPermanently}))
	e.Use(headStaysHead)
	e.Use(middleware.RequestID())
	e.Use(h.countRequests(e))
	e.Use(h.requestLogger())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		h.log.Error("panic", "err", err, "request_id", requestID(c), "stack", string(stack))
		return err
	}}))
	// The page context comes before anything that can refuse a request, so that every error page
	// is in the user's language.
	e.Use(h.pageContext)
	e.Use(middleware.BodyLimit("64K"))
	e.Use(h.crossOriginProtection())
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

// requestLogger writes one JSON line per request, with its request ID and the status the client
// got: an error a handler returns is turned into its page by the error handler first, so a
// failure logs as the 500 (at ERROR) or 4xx (at WARN) that was sent, not as 200.
func (h *handler) requestLogger() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true, LogRemoteIP: true,
		HandleError: true,
		Skipper: func(c echo.Context) bool {
			switch c.Path() {
			case h.path(views.RouteHealthz), h.path(views.RouteReadyz), h.path(views.RouteStatic):
				return true
			}
			return false
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
		service, serviceOrigin := h.serviceContext(c, lang)
		if serviceOrigin != "" {
			// A form on the way (a sign-in, a code) ends, through redirects, at the service.
			c.Response().Header().Set("Content-Security-Policy", contentSecurityPolicy("'none'", serviceOrigin))
		}
		c.Set(pageKey, views.Page{
			T:            h.cat.For(lang),
			Paths:        h.path,
			Path:         h.returnPath(c),
			RequestID:    requestID(c),
			HTMX:         r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Request-Type") != "full",
			SupportEmail: h.cfg.SupportEmail,
			SupportPhone: h.cfg.SupportPhone,
			AssetVersion: h.assetVersion,
			Demo:         h.cfg.Demo,
			Location:     h.loc,
			Service:      service,
			Now:          h.now(),
			Approver:     h.cfg.PushApproval && h.approverBrowser(c),
		})
		return next(c)
	}
}

// returnPath is where the language switch leads back to: this page, or for a page that answers a
// form post, the post's URL when a page can be fetched there, else home.
func (h *handler) returnPath(c echo.Context) string {
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
	return h.path(views.RouteHome)
}

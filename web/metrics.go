package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsretire/smsretire/internal/app"
)

// MetricsHandler serves the app's Prometheus metrics: what `smsretire serve` answers on
// --metrics-addr, a listener of its own, so /metrics is never on the portal's address.
func MetricsHandler(a *app.App) http.Handler {
	return promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: nil, Timeout: 20 * time.Second})
}

// countRequests counts every answer by its route's name (never the raw path, which holds
// tokens), method and the status the client got, and times it.
func (h *handler) countRequests(e *echo.Echo) echo.MiddlewareFunc {
	names := map[string]string{}
	for _, r := range e.Routes() {
		names[r.Method+" "+r.Path] = r.Name
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				status = errorStatus(err)
			}
			method := c.Request().Method
			route, ok := names[method+" "+c.Path()]
			if !ok {
				route = "unmatched"
			}
			h.app.Metrics.Request(route, method, status, time.Since(start))
			return err
		}
	}
}

// errorStatus is the status the central error handler answers an error with.
func errorStatus(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Code == http.StatusMethodNotAllowed {
			return http.StatusNotFound
		}
		return he.Code
	}
	return http.StatusInternalServerError
}

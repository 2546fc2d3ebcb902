package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// manifest is the web app manifest that makes the portal installable (a PWA): its name in the
// page language, its icons, and My security to start at, where a phone approves sign-ins.
func (h *handler) manifest(c echo.Context) error {
	p := h.page(c)
	body, err := json.Marshal(map[string]any{
		"name":             p.T.T("site.name"),
		"short_name":       p.T.T("site.name"),
		"lang":             p.Lang(),
		"start_url":        h.path(views.RouteSecurityShow),
		"scope":            "/",
		"display":          "standalone",
		"background_color": "#ffffff",
		"theme_color":      "#0b5cad",
		"icons": []map[string]string{
			{"src": p.Asset("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
			{"src": p.Asset("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
		},
	})
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/manifest+json", body)
}

// serviceWorker serves static/js/sw.js at /sw.js, so that its scope is the whole portal; like every
// page it is not stored (no-store), so browsers always get the current one.
func (h *handler) serviceWorker(c echo.Context) error {
	f, ok := h.assets.Open("js/sw.js")
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	hd := c.Response().Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(f.Plain))
	return nil
}

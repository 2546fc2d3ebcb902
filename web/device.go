package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/device"
)

// deviceCookie carries the browser's device token (internal/device): random, long-lived, set at
// the first verification or sign-in and renewed at each, so a sign-in from another browser can be
// told. It is not signed: the database keeps only its keyed hash, and a made-up value names no
// device.
const deviceCookie = "smsretire_device"

// deviceToken returns the browser's device token, or "" when it has none.
func deviceToken(c echo.Context) string {
	ck, err := c.Request().Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// keepDevice sets the device cookie to token for another device.Lifetime.
func (h *handler) keepDevice(c echo.Context, token string) {
	http.SetCookie(c.Response(), &http.Cookie{Name: deviceCookie, Value: token, Path: "/", MaxAge: int(device.Lifetime.Seconds()),
		HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode})
}

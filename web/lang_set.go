package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/i18n"
)

// langSet remembers the chosen language in a cookie and returns to the page the user was on.
func (h *handler) langSet(c echo.Context) error {
	lang := i18n.Supported(c.FormValue("lang"))
	if lang == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown language")
	}
	c.SetCookie(&http.Cookie{
		Name: langCookie, Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return redirect(c, localPath(c.FormValue("next")))
}

// localPath returns next when it is a path on this site, else "/": no open redirects.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return u.RequestURI()
}

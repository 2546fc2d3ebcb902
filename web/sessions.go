package web

import (
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/keyring"
)

const sessionName = "smsretire"

func newCookieStore(cfg config.Config, keys keyring.Keys) *sessions.CookieStore {
	st := sessions.NewCookieStore(keyring.Derive(keys.Session, "cookie hash", 64), keyring.Derive(keys.Session, "cookie block", 32))
	st.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(cfg.SessionMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
	}
	return st
}

// session returns the request's session; a cookie that fails to decode gives a fresh one.
func (h *handler) session(c echo.Context) *sessions.Session {
	s, err := h.sessions.Get(c.Request(), sessionName)
	if err != nil {
		s, _ = h.sessions.New(c.Request(), sessionName)
	}
	return s
}

func (h *handler) saveSession(c echo.Context, s *sessions.Session) error {
	return s.Save(c.Request(), c.Response())
}

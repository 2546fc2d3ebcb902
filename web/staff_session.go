package web

import (
	"fmt"
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/session"
)

// startStaffSession signs staff member staffID in (methods: the amr values of how) with a new
// staff session, which replaces any staff session of this browser, and sets the staff cookie:
// its own cookie, apart from the users', living as long as the session may.
func (h *handler) startStaffSession(c echo.Context, staffID string, methods []string) (session.Session, error) {
	old, _, err := h.loadSession(c, session.Staff)
	if err != nil {
		return session.Session{}, err
	}
	ss, token, err := h.app.Sessions.Start(h.ctx(c), session.Staff, staffID, methods, client(c), old)
	if err != nil {
		return session.Session{}, err
	}
	c.Set(ctxCurrentSession+":"+string(session.Staff), ss)
	ck, err := sessionCookie(h.cookies, h.app.Sessions.Rules(session.Staff), token)
	if err != nil {
		return session.Session{}, err
	}
	c.SetCookie(ck)
	return ss, nil
}

// endStaffSession signs the staff member of this browser out and clears the staff cookie.
func (h *handler) endStaffSession(c echo.Context) error {
	ss, ok, err := h.loadSession(c, session.Staff)
	if err != nil {
		return err
	}
	if ok {
		if err := h.app.Sessions.End(h.ctx(c), ss, client(c)); err != nil {
			return err
		}
	}
	ck, err := sessionCookie(h.cookies, h.app.Sessions.Rules(session.Staff), "")
	if err != nil {
		return err
	}
	ck.MaxAge, ck.Value = -1, ""
	c.SetCookie(ck)
	return nil
}

// sessionCookie is the cookie of a session kind that carries token, signed and encrypted as the
// users' cookie is, and kept by the browser as long as the kind's sessions may live.
func sessionCookie(st *sessions.CookieStore, r session.Rules, token string) (*http.Cookie, error) {
	v, err := securecookie.EncodeMulti(r.Cookie, map[any]any{ckSession: token}, st.Codecs...)
	if err != nil {
		return nil, fmt.Errorf("session cookie: %w", err)
	}
	opts := *st.Options
	opts.MaxAge = int(r.MaxAge.Seconds())
	return sessions.NewCookie(r.Cookie, v, &opts), nil
}

// SessionCookie returns the cookie a browser holds after signing in with a session of kind k
// whose token is token, as a sign-in sets it. Tests (web/webtest) use it to sign staff in
// without the ceremony.
func SessionCookie(a *app.App, k session.Kind, token string) (*http.Cookie, error) {
	return sessionCookie(newCookieStore(a.Config, a.Keys), a.Sessions.Rules(k), token)
}

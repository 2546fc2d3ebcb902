package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// signOut ends the session, and with it the verifications of its user, and says so on the
// sign-in page.
func (h *handler) signOut(c echo.Context) error {
	ss, ok, err := h.currentSession(c)
	if err != nil {
		return err
	}
	if ok {
		if err := h.app.Sessions.End(h.ctx(c), ss, client(c)); err != nil {
			return err
		}
	}
	if !h.signInMemoryOf(c).Remember { // kept for this browser session only: not after signing out
		if err := h.forgetSignIn(c); err != nil {
			return err
		}
	}
	ck := h.renewCookie(c)
	ck.AddFlash("signin.signed_out", flashNotice)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSignInShow)
}

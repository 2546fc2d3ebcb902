package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
)

// signOut ends the session and says so on the sign-in page.
func (h *handler) signOut(c echo.Context) error {
	sess := h.session(c)
	if ss, ok := h.currentSession(c); ok {
		uid := ss.UserID
		if _, err := h.store.EndSession(h.ctx(c), uid, ss.ID, h.now()); err != nil {
			return err
		}
		ev := campaign.Event{UserID: uid, Type: "session.ended", IP: c.RealIP(), UserAgent: c.Request().UserAgent(), CreatedAt: h.now()}
		if err := h.store.AppendEvent(h.ctx(c), ev); err != nil {
			return err
		}
	}
	for k := range sess.Values {
		delete(sess.Values, k)
	}
	sess.AddFlash("signin.signed_out", "notice")
	if err := h.saveSession(c, sess); err != nil {
		return err
	}
	return redirect(c, "/signin")
}

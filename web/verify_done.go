package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// verifyDone confirms the verification and leads on to enrollment.
func (h *handler) verifyDone(c echo.Context) error {
	uid, at, ok := h.verifiedUser(h.session(c))
	if uid == "" {
		return h.needSubject(c)
	}
	if !ok { // the time to use the confirmation has run out: it no longer leads anywhere
		return h.needVerify(c)
	}
	p := h.page(c)
	if u, err := h.store.UserByID(h.ctx(c), uid); err == nil {
		p = h.pageFor(c, u.Locale)
	}
	m := views.VerifyDonePage{Page: p, ContinueURL: "/enroll", Minutes: minutesUntil(h.now(), at.Add(h.cfg.ElevatedWindow))}
	return render(c, http.StatusOK, views.VerifyDone(m))
}

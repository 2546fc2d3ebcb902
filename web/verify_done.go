package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// verifyDone confirms the verification and leads on to enrollment, or back to My security for a
// signed-in user who verified again.
func (h *handler) verifyDone(c echo.Context) error {
	g := grantOf(c)
	u, err := h.store.UserByID(h.ctx(c), g.UserID)
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	ss, signedIn, err := h.currentSession(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VerifyDone(views.VerifyDonePage{Page: p, Minutes: minutesUntil(h.now(), g.ExpiresAt),
		Deadline: h.deadlineView(u), Way: views.Way{Step: views.StepVerify, Back: h.noticeBack(c, p)}, SignedIn: signedIn && ss.Subject == g.UserID}))
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// verifyDone confirms the verification and leads on to enrollment.
func (h *handler) verifyDone(c echo.Context) error {
	g := grantOf(c)
	p, err := h.accountPage(c, g.UserID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VerifyDone(views.VerifyDonePage{Page: p, Minutes: minutesUntil(h.now(), g.ExpiresAt)}))
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// homeShow renders the landing page; a browser whose user has a check-up due is asked to sign in
// once.
func (h *handler) homeShow(c echo.Context) error {
	due, err := h.app.Devices.CheckupDue(h.ctx(c), deviceToken(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Home(views.HomePage{Page: h.page(c), CheckupDue: due}))
}

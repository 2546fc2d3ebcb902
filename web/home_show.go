package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// homeShow renders the landing page.
func (h *handler) homeShow(c echo.Context) error {
	return render(c, http.StatusOK, views.Home(views.HomePage{Page: h.page(c)}))
}

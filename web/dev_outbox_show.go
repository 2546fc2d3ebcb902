package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// devOutboxShow lists the messages delivered so far, codes included: --demo only, where the
// log gateways send nothing and this page stands in for the phone and the mailbox.
func (h *handler) devOutboxShow(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, views.DevOutbox(views.DevOutboxPage{Page: h.page(c), Messages: h.app.Devbox.List()}))
}

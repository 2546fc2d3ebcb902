package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/views"
)

// handleError is the one place errors become pages: 4xx are logged as warnings, 5xx as errors,
// and the user gets a friendly page in their language with no internal detail.
func (h *handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, campaign.ErrChangesLocked) {
		// A change that reached the domain while a "this wasn't me" locks the account's changes.
		if err := h.changesLocked(c); err != nil {
			h.log.Error("render locked page", "err", err)
		}
		return
	}
	status := errorStatus(err)
	if status >= 500 {
		h.log.Error("handler error", "err", err, "path", c.Request().URL.Path, "request_id", requestID(c))
	}
	key := "error.server"
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		key = "error.not_found"
	case http.StatusForbidden:
		key = "error.forbidden"
	case http.StatusTooManyRequests:
		key = "error.too_many"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		key = "error.bad_request"
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	if err := render(c, status, views.Error(views.ErrorPage{Page: h.page(c), Status: status, Key: key})); err != nil {
		h.log.Error("render error page", "err", err)
		c.String(status, http.StatusText(status))
	}
}

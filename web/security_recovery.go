package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// securityRecoveryRegenerate makes a new set of recovery codes, voiding the old, and shows them once.
func (h *handler) securityRecoveryRegenerate(c echo.Context) error {
	ck := h.cookie(c)
	codes, err := h.recovery.Regenerate(h.ctx(c), userOf(c), client(c), h.now())
	if err != nil {
		return err
	}
	setRecoveryCodes(ck, codes)
	delete(ck.Values, ckEnrollResult)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteEnrollRecoveryShow)
}

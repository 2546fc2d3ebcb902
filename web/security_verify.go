package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// securityVerify starts a verification of the signed-in user's identity, the way a "this wasn't
// me" lock is lifted: the account is known, so the verification pages name it.
func (h *handler) securityVerify(c echo.Context) error {
	ck := h.cookie(c)
	setSubject(ck, identity.ForUser(userOf(c), true))
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyChoose)
}

package web

import (
	"github.com/labstack/echo/v4"
)

// securityRecoveryRegenerate makes a new set of recovery codes, voiding the old, and shows them once.
func (h *handler) securityRecoveryRegenerate(c echo.Context) error {
	sess := h.session(c)
	uid, ok := h.freshUser(c)
	if !ok {
		return h.needFresh(c, "/security")
	}
	codes, err := h.recovery.Regenerate(h.ctx(c), uid, client(c), h.now())
	if err != nil {
		return err
	}
	setRecoveryCodes(sess, codes)
	delete(sess.Values, sessEnrollResult)
	if err := h.saveSession(c, sess); err != nil {
		return err
	}
	return redirect(c, "/enroll/recovery")
}

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// verifyCodeSend sends a code to the registered phone or email (or, for an unknown account,
// goes through the same motions) and leads to the code form.
func (h *handler) verifyCodeSend(c echo.Context) error {
	sess := h.session(c)
	sub, ok := h.subject(sess)
	if !ok {
		return h.needSubject(c)
	}
	ch, ok := identity.ParseChannel(c.FormValue("channel"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown channel")
	}
	sent, err := h.ident.SendCode(h.ctx(c), sub, ch, client(c))
	var wait identity.ErrResendWait
	if errors.As(err, &wait) && sess.Values[sessChannel] == string(ch) {
		// A code is on its way already: show its form with the time left.
		return redirect(c, "/verify/code")
	}
	if err != nil {
		m, merr := h.chooseModel(c, sess.Values[sessKnowledgeOK] == true)
		if merr != nil {
			return merr
		}
		msg, status, ok := h.verifyMessage(m.Page, err, 6)
		if !ok {
			return err
		}
		m.Message = msg
		return render(c, status, views.VerifyChoose(m))
	}
	sess.Values[sessChannel] = string(ch)
	sess.Values[sessResendAt] = sent.ResendAt.UnixMilli()
	if c.FormValue("resend") != "" {
		sess.AddFlash("resent")
	}
	if err := h.saveSession(c, sess); err != nil {
		return err
	}
	return redirect(c, "/verify/code")
}

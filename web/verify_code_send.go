package web

import (
	"errors"
	"net/http"

	"github.com/gorilla/sessions"
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
	resend := c.FormValue("resend") != "" && sess.Values[sessChannel] == string(ch)
	if resend && h.page(c).HTMX {
		return h.resendFragment(c, sess, sent, err)
	}
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

// resendFragment answers an htmx resend with the resend block alone: the new countdown and a
// "sent" note, or why no code was sent now.
func (h *handler) resendFragment(c echo.Context, sess *sessions.Session, sent identity.Sent, sendErr error) error {
	ch, _ := identity.ParseChannel(stringValue(sess.Values[sessChannel]))
	status := http.StatusOK
	if sendErr == nil {
		sess.Values[sessResendAt] = sent.ResendAt.UnixMilli()
		if err := h.saveSession(c, sess); err != nil {
			return err
		}
	}
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	if sendErr != nil {
		msg, st, ok := h.verifyMessage(m.Page, sendErr, 6)
		if !ok {
			return sendErr
		}
		m.ResendError, status = msg, st
	} else {
		m.Resent = true
	}
	return render(c, status, views.VerifyResend(m))
}

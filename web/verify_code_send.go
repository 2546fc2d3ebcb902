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
	ck := h.cookie(c)
	sub := subjectOf(c)
	ch, ok := identity.ParseChannel(c.FormValue("channel"))
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "unknown channel")
	}
	sent, err := h.ident.SendCode(h.ctx(c), sub, ch, client(c))
	resend := c.FormValue("resend") != "" && ck.Values[ckChannel] == string(ch)
	if resend && h.page(c).HTMX {
		return h.resendFragment(c, ck, sent, err)
	}
	var wait identity.ErrResendWait
	if errors.As(err, &wait) && ck.Values[ckChannel] == string(ch) {
		// A code is on its way already: show its form with the time left.
		return h.redirectTo(c, views.RouteVerifyCodeShow)
	}
	if err != nil {
		m, merr := h.chooseModel(c, ck.Values[ckKnowledgeOK] == true)
		if merr != nil {
			return merr
		}
		msg, status, ok := h.verifyMessage(m.Page, err, string(ch))
		if !ok {
			return err
		}
		if blocking(err) {
			m.Blocked = msg
		} else {
			m.Message = msg
		}
		return render(c, status, views.VerifyChoose(m))
	}
	ck.Values[ckChannel] = string(ch)
	ck.Values[ckResendAt] = sent.ResendAt.UnixMilli()
	if c.FormValue("resend") != "" {
		ck.AddFlash("resent")
	}
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyCodeShow)
}

// resendFragment answers an htmx resend with the resend block alone: the new countdown and a
// "sent" note, or why no code was sent now.
func (h *handler) resendFragment(c echo.Context, ck *sessions.Session, sent identity.Sent, sendErr error) error {
	ch, _ := identity.ParseChannel(stringValue(ck.Values[ckChannel]))
	status := http.StatusOK
	if sendErr == nil {
		ck.Values[ckResendAt] = sent.ResendAt.UnixMilli()
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	if sendErr != nil {
		msg, st, ok := h.verifyMessage(m.Page, sendErr, string(ch))
		if !ok {
			return sendErr
		}
		m.ResendError, status = msg, st
	} else {
		m.Resent = true
	}
	return render(c, status, views.VerifyResend(m))
}

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/views"
)

// notMeShow opens the "this wasn't me" link of a security email. Nothing happens yet: mail
// scanners and link previews open links too, so the page asks the person to confirm.
func (h *handler) notMeShow(c echo.Context) error {
	uid, err := h.app.SecurityNotices.Check(h.ctx(c), c.Param("token"))
	if err != nil {
		return h.notMeProblem(c, err)
	}
	p, err := h.accountPage(c, uid)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.NotMe(views.NotMePage{Page: p, Token: c.Param("token")}))
}

// notMeConfirm secures the account: every session and verification ends, changes are locked until
// the user verifies again, a changed contact detail is put back. This browser keeps nothing of a
// session and may verify the account's owner at once.
func (h *handler) notMeConfirm(c echo.Context) error {
	done, err := h.app.SecurityNotices.Disavow(h.ctx(c), c.Param("token"), client(c))
	if err != nil {
		return h.notMeProblem(c, err)
	}
	ck := h.renewCookie(c)
	setSubject(ck, identity.ForUser(done.UserID, true))
	if done.Reverted != "" {
		ck.AddFlash("notme.done.reverted."+done.Reverted, flashNotice)
	}
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteNotMeDone)
}

// notMeDone says what was done and what to do next: verify the identity again, and call support.
func (h *handler) notMeDone(c echo.Context) error {
	m := views.NotMeDonePage{Page: h.page(c)}
	if sub, ok := subjectIn(h.cookie(c)); ok && sub.UserID != "" {
		p, err := h.accountPage(c, sub.UserID)
		if err != nil {
			return err
		}
		m.Page, m.CanVerify = p, true
	}
	if flash := h.takeFlash(c); flash != "" {
		m.Reverted = m.T.T(flash)
	}
	return render(c, http.StatusOK, views.NotMeDone(m))
}

// notMeProblem answers a link that does not work, without saying whose it was.
func (h *handler) notMeProblem(c echo.Context, err error) error {
	m := views.NotMeProblemPage{Page: h.page(c)}
	switch {
	case errors.Is(err, securitynotice.ErrLinkUsed):
		m.Key, m.Status = "notme.used", http.StatusGone
	case errors.Is(err, securitynotice.ErrLinkExpired):
		m.Key, m.Status = "notme.expired", http.StatusGone
	case errors.Is(err, securitynotice.ErrLinkInvalid):
		m.Key, m.Status = "notme.invalid", http.StatusNotFound
	default:
		return err
	}
	return render(c, m.Status, views.NotMeProblem(m))
}

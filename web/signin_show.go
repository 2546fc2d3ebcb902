package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// Session keys of a sign-in in progress.
const (
	sessSignInSubject = "signin_sub"
	sessSignInUser    = "signin_uid"
	sessSignInAccount = "signin_account"
)

// signInShow renders the sign-in page with every way to sign in.
func (h *handler) signInShow(c echo.Context) error {
	sess := h.session(c)
	if next := c.QueryParam("next"); next != "" {
		sess.Values[sessNext] = localPath(next)
		if err := h.saveSession(c, sess); err != nil {
			return err
		}
	}
	p := h.page(c)
	if uid := stringValue(sess.Values[sessUser]); uid != "" {
		if u, err := h.store.UserByID(h.ctx(c), uid); err == nil {
			p = h.pageFor(c, u.Locale) // straight after enrollment, the account's language
		}
	}
	m := views.SignInPage{Page: p, Account: stringValue(sess.Values[sessSignInAccount]), EmailSent: stringValue(sess.Values[sessSignInSubject]) != "",
		StepUp: c.QueryParam("stepup") != ""}
	if flash := h.takeFlash(c); flash != "" {
		m.Notice = m.T.T(flash)
	}
	return render(c, http.StatusOK, views.SignIn(m))
}

// signInError re-renders the sign-in page with one message next to its field.
func (h *handler) signInError(c echo.Context, status int, account, field, msg string) error {
	sess := h.session(c)
	m := views.SignInPage{Page: h.page(c), Account: account, EmailSent: stringValue(sess.Values[sessSignInSubject]) != "",
		Errors: views.Errors{{Field: field, Message: msg}}}
	if field == "recovery-code" || field == "recovery-account" {
		m.Open = "recovery"
	}
	return render(c, status, views.SignIn(m))
}

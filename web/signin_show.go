package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// signInShow renders the sign-in page with every way to sign in.
func (h *handler) signInShow(c echo.Context) error {
	ck := h.cookie(c)
	if next := c.QueryParam("next"); next != "" {
		ck.Values[ckNext] = localPath(next)
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	p, err := h.knownUserPage(c)
	if err != nil {
		return err
	}
	m := views.SignInPage{Page: p, Account: stringValue(ck.Values[ckSignInAccount]), EmailSent: stringValue(ck.Values[ckSignInSubject]) != "",
		StepUp: c.QueryParam("stepup") != ""}
	if flash := h.takeFlash(c); flash != "" {
		m.Notice = m.T.T(flash)
	}
	return render(c, http.StatusOK, views.SignIn(m))
}

// signInError re-renders the sign-in page with one message next to its field.
func (h *handler) signInError(c echo.Context, status int, account, field, msg string) error {
	ck := h.cookie(c)
	m := views.SignInPage{Page: h.page(c), Account: account, EmailSent: stringValue(ck.Values[ckSignInSubject]) != "",
		Errors: views.Errors{{Field: field, Message: msg}}}
	if field == "recovery-code" || field == "recovery-account" {
		m.Open = "recovery"
	}
	return render(c, status, views.SignIn(m))
}

// knownUserPage is the page context in the language of the account this browser verified (straight
// after enrollment) or is signed in to (a step-up), else the browser's.
func (h *handler) knownUserPage(c echo.Context) (views.Page, error) {
	g, verified, err := h.currentGrant(c)
	if err != nil {
		return views.Page{}, err
	}
	if verified {
		return h.accountPage(c, g.UserID)
	}
	ss, signedIn, err := h.currentSession(c)
	if err != nil {
		return views.Page{}, err
	}
	if signedIn {
		return h.accountPage(c, ss.Subject)
	}
	return h.page(c), nil
}

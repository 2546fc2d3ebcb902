package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/views"
)

// signInTOTP signs in with an authenticator app code.
func (h *handler) signInTOTP(c echo.Context) error {
	account, code := strings.TrimSpace(c.FormValue("account")), strings.TrimSpace(c.FormValue("code"))
	p := h.page(c)
	switch {
	case account == "" || validateAccount(account) != "":
		return h.signInError(c, http.StatusUnprocessableEntity, account, "totp-account", p.T.T("signin.err.account_required"))
	case code == "":
		return h.signInError(c, http.StatusUnprocessableEntity, account, "totp-code", p.T.T("signin.err.code_required"))
	}
	res, err := h.signins.TOTP(h.ctx(c), account, code, client(c))
	if err != nil {
		return h.signInFailed(c, err, account, "totp-code")
	}
	return h.signedIn(c, res.UserID)
}

// signInEmailSend sends a sign-in code to the account's email factor, if it has one.
func (h *handler) signInEmailSend(c echo.Context) error {
	account := strings.TrimSpace(c.FormValue("account"))
	p := h.page(c)
	if account == "" || validateAccount(account) != "" {
		return h.signInError(c, http.StatusUnprocessableEntity, account, "email-account", p.T.T("signin.err.account_required"))
	}
	sub, err := h.signins.SendEmailCode(h.ctx(c), account, client(c))
	var wait identity.ErrResendWait
	if err != nil && !errors.As(err, &wait) {
		return h.signInFailed(c, err, account, "email-account")
	}
	ck := h.cookie(c)
	ck.Values[ckSignInSubject] = sub.Key
	ck.Values[ckSignInUser] = sub.UserID
	ck.Values[ckSignInAccount] = account
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSignInShow)
}

// signInEmailCheck signs in with the emailed code.
func (h *handler) signInEmailCheck(c echo.Context) error {
	ck := h.cookie(c)
	key := stringValue(ck.Values[ckSignInSubject])
	if key == "" {
		return h.redirectTo(c, views.RouteSignInShow)
	}
	sub := identity.Subject{Key: key, UserID: stringValue(ck.Values[ckSignInUser])}
	account := stringValue(ck.Values[ckSignInAccount])
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return h.signInError(c, http.StatusUnprocessableEntity, account, "email-code", h.page(c).T.T("signin.err.code_required"))
	}
	res, err := h.signins.EmailCode(h.ctx(c), sub, code, client(c))
	if err != nil {
		return h.signInFailed(c, err, account, "email-code")
	}
	return h.signedIn(c, res.UserID)
}

// signInRecovery signs in with a recovery code.
func (h *handler) signInRecovery(c echo.Context) error {
	account, code := strings.TrimSpace(c.FormValue("account")), strings.TrimSpace(c.FormValue("code"))
	p := h.page(c)
	switch {
	case account == "" || validateAccount(account) != "":
		return h.signInError(c, http.StatusUnprocessableEntity, account, "recovery-account", p.T.T("signin.err.account_required"))
	case code == "":
		return h.signInError(c, http.StatusUnprocessableEntity, account, "recovery-code", p.T.T("signin.err.code_required"))
	}
	res, err := h.signins.Recovery(h.ctx(c), account, code, client(c))
	if err != nil {
		return h.signInFailed(c, err, account, "recovery-code")
	}
	return h.signedIn(c, res.UserID)
}

// signInFailed shows one answer for a wrong account or code; limits say how long to wait.
func (h *handler) signInFailed(c echo.Context, err error, account, field string) error {
	p := h.page(c)
	if errors.Is(err, signin.ErrFailed) || errors.Is(err, identity.ErrCodeExpired) || errors.Is(err, identity.ErrCodeFormat) {
		return h.signInError(c, http.StatusUnprocessableEntity, account, field, p.T.T("signin.err.failed"))
	}
	var wrong identity.ErrWrong
	if errors.As(err, &wrong) {
		return h.signInError(c, http.StatusUnprocessableEntity, account, field, p.T.T("signin.err.failed"))
	}
	var locked identity.ErrLocked
	if errors.As(err, &locked) {
		// Say which way is paused and which still work: another factor signs in and ends the lock.
		msg := p.T.Tf(signInLockedMessage(field), map[string]any{"Time": h.clockTime(locked.Until), "Minutes": minutesUntil(h.now(), locked.Until)})
		return h.signInError(c, http.StatusTooManyRequests, account, field, msg)
	}
	msg, status, ok := h.verifyMessage(p, err, 6)
	if !ok {
		return err
	}
	return h.signInError(c, status, account, field, msg)
}

// signedIn starts the signed-in session and lands on My security, or where a step-up asked to
// return to. The passkey finish answers with JSON itself.
func (h *handler) signedIn(c echo.Context, uid string) error {
	if err := h.startSignedIn(c, uid); err != nil {
		return err
	}
	return redirect(c, h.afterSignIn(c))
}

// afterSignIn returns where a sign-in lands, forgetting the remembered destination: back to the
// action that asked for a fresh authentication, else My security.
func (h *handler) afterSignIn(c echo.Context) string {
	ck := h.cookie(c)
	next := stringValue(ck.Values[ckNext])
	if next == "" {
		return h.path(views.RouteSecurityShow)
	}
	delete(ck.Values, ckNext)
	if err := h.saveCookie(c, ck); err != nil {
		h.log.Warn("save session", "err", err)
	}
	return localPath(next)
}

// signInLockedMessage names the message for a locked way to sign in, by the field it was typed in.
func signInLockedMessage(field string) string {
	switch {
	case strings.HasPrefix(field, "totp-"):
		return "signin.err.locked.totp"
	case strings.HasPrefix(field, "email-"):
		return "signin.err.locked.email"
	}
	return "signin.err.locked.recovery"
}

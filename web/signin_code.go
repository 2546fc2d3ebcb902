package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/views"
)

// signInAccountFor returns the account a sign-in is for: the one a service named, when the user
// signs in for one; else the one posted with the answer (which this device then holds as the
// chosen one), else the one chosen on this device.
func (h *handler) signInAccountFor(c echo.Context) (string, error) {
	if req, ok := h.signingInFor(c); ok && req.LoginHint != "" {
		return req.LoginHint, nil // a service named the account: only its factors count
	}
	mem := h.signInMemoryOf(c)
	a := strings.TrimSpace(c.FormValue("account"))
	if a == "" || a == mem.Account || validateAccount(a) != "" {
		if a != "" && a != mem.Account {
			return a, nil
		}
		return mem.Account, nil
	}
	mem.Account, mem.Shown = a, h.ident.Shown(a)
	return a, h.saveSignInMemory(c, mem)
}

// signInTOTP signs in with an authenticator app code.
func (h *handler) signInTOTP(c echo.Context) error {
	return h.signInWithCode(c, views.SignInTOTP, "totp-code", h.signins.TOTP)
}

// signInRecovery signs in with a recovery code.
func (h *handler) signInRecovery(c echo.Context) error {
	return h.signInWithCode(c, views.SignInRecovery, "recovery-code", h.signins.Recovery)
}

// signInWithCode signs in with the account and a code typed for it, one way (an authenticator
// app, a recovery code) that check answers for.
func (h *handler) signInWithCode(c echo.Context, way, field string, check func(ctx context.Context, account, code string, c audit.Client) (signin.Result, error)) error {
	account, err := h.signInAccountFor(c)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(c.FormValue("code"))
	switch {
	case validateAccount(account) != "":
		return h.signInAccountError(c, account, true, h.page(c).T.T("signin.err.account_required"))
	case code == "":
		return h.signInError(c, http.StatusUnprocessableEntity, way, field, h.page(c).T.T("signin.err.code_required"))
	}
	res, err := check(h.ctx(c), account, code, client(c))
	if err != nil {
		return h.signInFailed(c, err, way, field)
	}
	return h.signedIn(c, res, way)
}

// signInEmailSend sends a sign-in code to the account's email factor, if it has one.
func (h *handler) signInEmailSend(c echo.Context) error {
	account, err := h.signInAccountFor(c)
	if err != nil {
		return err
	}
	if validateAccount(account) != "" {
		return h.signInAccountError(c, account, true, h.page(c).T.T("signin.err.account_required"))
	}
	return h.sendSignInEmail(c, account)
}

// sendSignInEmail sends the code and shows the form for it, with the same words whether the
// account exists and has an email factor or not. A code still on its way is not sent again.
func (h *handler) sendSignInEmail(c echo.Context, account string) error {
	sub, err := h.signins.SendEmailCode(h.ctx(c), account, client(c))
	var wait identity.ErrResendWait
	if err != nil && !errors.As(err, &wait) {
		return h.signInFailed(c, err, views.SignInEmail, "email-send")
	}
	ck := h.cookie(c)
	ck.Values[ckSignInSubject] = sub.Key
	ck.Values[ckSignInUser] = sub.UserID
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.signInWay(c, views.SignInEmail)
}

// signInEmailCheck signs in with the emailed code.
func (h *handler) signInEmailCheck(c echo.Context) error {
	ck := h.cookie(c)
	key := stringValue(ck.Values[ckSignInSubject])
	if key == "" {
		return h.redirectTo(c, views.RouteSignInShow)
	}
	sub := identity.Subject{Key: key, UserID: stringValue(ck.Values[ckSignInUser])}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return h.signInError(c, http.StatusUnprocessableEntity, views.SignInEmail, "email-code", h.page(c).T.T("signin.err.code_required"))
	}
	res, err := h.signins.EmailCode(h.ctx(c), sub, code, client(c))
	if err != nil {
		return h.signInFailed(c, err, views.SignInEmail, "email-code")
	}
	return h.signedIn(c, res, views.SignInEmail)
}

// signInError re-renders the sign-in page with one message next to its field, the way it belongs
// to open and first.
func (h *handler) signInError(c echo.Context, status int, way, field, msg string) error {
	m, err := h.signInModel(c, way)
	if err != nil {
		return err
	}
	m.Errors = views.Errors{{Field: field, Message: msg}}
	return render(c, status, views.SignIn(m))
}

// signInBlocked re-renders the sign-in page saying that a way is paused: not a mistake to fix in a
// field, but what happened, until when and what still works.
func (h *handler) signInBlocked(c echo.Context, way, msg string) error {
	m, err := h.signInModel(c, way)
	if err != nil {
		return err
	}
	m.Blocked = msg
	return render(c, http.StatusTooManyRequests, views.SignIn(m))
}

// signInFailed shows one answer for a wrong account or code; a paused way says until when and
// what still works.
func (h *handler) signInFailed(c echo.Context, err error, way, field string) error {
	p := h.page(c)
	var wrong identity.ErrWrong
	if errors.Is(err, signin.ErrFailed) || errors.Is(err, identity.ErrCodeExpired) || errors.Is(err, identity.ErrCodeFormat) || errors.As(err, &wrong) {
		return h.signInError(c, http.StatusUnprocessableEntity, way, field, p.T.T("signin.err.failed"))
	}
	var locked identity.ErrLocked
	if errors.As(err, &locked) {
		// Say which way is paused and which still work: another factor signs in and ends the lock.
		return h.signInBlocked(c, way, p.T.Tf("signin.err.locked."+way, map[string]any{"Time": h.clockTime(locked.Until), "Minutes": minutesUntil(h.now(), locked.Until)}))
	}
	msg, status, ok := h.verifyMessage(p, err, wayEmail)
	if !ok {
		return err
	}
	if blocking(err) {
		return h.signInBlocked(c, way, msg)
	}
	return h.signInError(c, status, way, field, msg)
}

// signedIn starts the signed-in session, remembers on this device the way it took, and lands on
// My security, or where a step-up asked to return to. The passkey finish answers with JSON itself.
func (h *handler) signedIn(c echo.Context, res signin.Result, way string) error {
	if err := h.rememberWay(c, way); err != nil {
		return err
	}
	if err := h.startSignedIn(c, res.UserID, res.Methods); err != nil {
		return err
	}
	return redirect(c, h.afterSignIn(c))
}

// rememberWay records the way a sign-in took, for the next sign-in on this device.
func (h *handler) rememberWay(c echo.Context, way string) error {
	mem := h.signInMemoryOf(c)
	mem.Method = way
	return h.saveSignInMemory(c, mem)
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

package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/views"
)

// signInPasskeyOptions starts a discoverable login ceremony, also used for autofill.
func (h *handler) signInPasskeyOptions(c echo.Context) error {
	err := h.signins.StartPasskey(h.ctx(c), client(c))
	if errors.Is(err, signin.ErrTooManyCeremonies) {
		return jsonError(c, http.StatusTooManyRequests, h.page(c).T.T("error.too_many.body"))
	}
	if err != nil {
		return err
	}
	forUser := "" // a service that named the account admits only its passkeys
	if req, ok := h.signingInFor(c); ok {
		forUser = req.LoginHint
	}
	opts, _, err := h.passkeys.BeginLoginFor(h.ctx(c), forUser)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// signInPasskeyFinish verifies the assertion and signs the user in.
func (h *handler) signInPasskeyFinish(c echo.Context) error {
	p := h.page(c)
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxCeremonyBody))
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("signin.passkey.failed"))
	}
	fin, err := passkey.ParseFinish(body)
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("signin.passkey.failed"))
	}
	l, err := h.passkeys.FinishLogin(h.ctx(c), fin.Ceremony, fin.Credential, client(c))
	switch {
	case errors.Is(err, passkey.ErrOtherAccount):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("signin.passkey.other_account"))
	case errors.Is(err, passkey.ErrSignCountRegressed):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("signin.passkey.regressed"))
	case errors.Is(err, passkey.ErrCeremonyExpired), errors.Is(err, passkey.ErrUnknownCredential), errors.Is(err, passkey.ErrVerification):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("signin.passkey.failed"))
	case err != nil:
		return err
	}
	res, err := h.signins.Passkey(h.ctx(c), l, client(c))
	if err != nil {
		return err
	}
	if err := h.rememberWay(c, views.SignInPasskey); err != nil {
		return err
	}
	if err := h.startSignedIn(c, res.UserID, res.Methods); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": h.afterSignIn(c)})
}

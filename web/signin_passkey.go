package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/views"
)

// passkeyOptionsPerHour bounds the login ceremonies one client may start in an hour.
const passkeyOptionsPerHour = 120

// signInPasskeyOptions starts a discoverable login ceremony, also used for autofill.
func (h *handler) signInPasskeyOptions(c echo.Context) error {
	now := h.now()
	hour := now.Truncate(time.Hour)
	n, err := h.store.Hit(h.ctx(c), "passkey-options-ip:"+c.RealIP(), hour, hour.Add(time.Hour), now)
	if err != nil {
		return err
	}
	if n > passkeyOptionsPerHour {
		return jsonError(c, http.StatusTooManyRequests, h.page(c).T.T("error.too_many.body"))
	}
	opts, _, err := h.passkeys.BeginLogin(h.ctx(c))
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
	uid, f, err := h.passkeys.FinishLogin(h.ctx(c), fin.Ceremony, fin.Credential, client(c))
	switch {
	case errors.Is(err, passkey.ErrSignCountRegressed):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("signin.passkey.regressed"))
	case errors.Is(err, passkey.ErrCeremonyExpired), errors.Is(err, passkey.ErrUnknownCredential), errors.Is(err, passkey.ErrVerification):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("signin.passkey.failed"))
	case err != nil:
		return err
	}
	if err := h.signins.Passkey(h.ctx(c), uid, f.ID, client(c)); err != nil {
		return err
	}
	if err := h.rememberWay(c, views.SignInPasskey); err != nil {
		return err
	}
	if err := h.startSignedIn(c, uid); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": h.afterSignIn(c)})
}

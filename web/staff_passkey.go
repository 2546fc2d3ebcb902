package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// The staff's passkey ceremonies, for static/js/passkey.js: answered in JSON, in the page's
// language.

// staffSetupPasskeyOptions starts making a passkey from a setup link.
func (h *handler) staffSetupPasskeyOptions(c echo.Context) error {
	m, err := h.app.Staff.SetupLink(h.ctx(c), c.Param("token"))
	if err != nil {
		return jsonError(c, http.StatusGone, h.page(c).T.T("staff.setup.gone.body"))
	}
	opts, err := h.app.Staff.BeginPasskeySetup(h.ctx(c), m)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// staffSetupPasskeyFinish stores the new passkey, uses up the link and signs the member in.
func (h *handler) staffSetupPasskeyFinish(c echo.Context) error {
	p := h.page(c)
	token := c.Param("token")
	m, err := h.app.Staff.SetupLink(h.ctx(c), token)
	if err != nil {
		return jsonError(c, http.StatusGone, p.T.T("staff.setup.gone.body"))
	}
	fin, err := readFinish(c)
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("enroll.passkey.failed"))
	}
	if fin.Name == "" {
		fin.Name = passkeyName(p.T, c.Request().UserAgent())
	}
	err = h.app.Staff.FinishPasskeySetup(h.ctx(c), token, m, fin, c.RealIP())
	switch {
	case errors.Is(err, passkey.ErrAlreadyRegistered):
		return jsonError(c, http.StatusConflict, p.T.T("enroll.passkey.exists"))
	case errors.Is(err, staff.ErrPasskeyFailed):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("enroll.passkey.failed"))
	case errors.Is(err, staff.ErrLinkUsed), errors.Is(err, staff.ErrLinkExpired), errors.Is(err, staff.ErrLinkUnknown):
		return jsonError(c, http.StatusGone, p.T.T("staff.setup.gone.body"))
	case err != nil:
		return err
	}
	if _, err := h.startStaffSession(c, m.ID, []string{"hwk", "user"}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": h.path(views.RouteStaffHome)})
}

// staffSignInPasskeyOptions starts a staff passkey sign-in, counted per client as users' are.
func (h *handler) staffSignInPasskeyOptions(c echo.Context) error {
	err := h.signins.StartPasskey(h.ctx(c), client(c))
	if errors.Is(err, signin.ErrTooManyCeremonies) {
		return jsonError(c, http.StatusTooManyRequests, h.page(c).T.T("error.too_many.body"))
	}
	if err != nil {
		return err
	}
	opts, err := h.app.Staff.BeginPasskeySignIn(h.ctx(c))
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// staffSignInPasskeyFinish signs a staff member in with their passkey, and goes on to the console
// (or where they were going).
func (h *handler) staffSignInPasskeyFinish(c echo.Context) error {
	p := h.page(c)
	fin, err := readFinish(c)
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("staff.signin.passkey_failed"))
	}
	m, err := h.app.Staff.FinishPasskeySignIn(h.ctx(c), fin, c.RealIP())
	if errors.Is(err, staff.ErrPasskeyFailed) {
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("staff.signin.passkey_failed"))
	}
	if err != nil {
		return err
	}
	if _, err := h.startStaffSession(c, m.ID, []string{"hwk", "user"}); err != nil {
		return err
	}
	next := staffNext(c.QueryParam("next"))
	if next == "" {
		next = h.path(views.RouteStaffHome)
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": next})
}

// readFinish reads the body passkey.js posts to a finish URL.
func readFinish(c echo.Context) (passkey.Finish, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxCeremonyBody))
	if err != nil {
		return passkey.Finish{}, err
	}
	return passkey.ParseFinish(body)
}

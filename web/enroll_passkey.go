package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// maxCeremonyBody bounds a WebAuthn response body.
const maxCeremonyBody = 32 << 10

// enrollPasskeyShow renders the passkey page; the ceremony runs in static/js/passkey.js.
func (h *handler) enrollPasskeyShow(c echo.Context) error {
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	window, err := h.passkeyWindowURL(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EnrollPasskey(views.EnrollPasskeyPage{Page: p, Way: h.enrollWay(c, views.StepEnroll, h.chooseBack(p), h.chooseBack(p)),
		DefaultName: passkeyName(p.T, c.Request().UserAgent()), WindowURL: window}))
}

// enrollPasskeyOptions starts a registration ceremony, kept in the database for any instance.
func (h *handler) enrollPasskeyOptions(c echo.Context) error {
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return err
	}
	opts, _, err := h.passkeys.BeginRegistration(h.ctx(c), u, displayName(u))
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, opts)
}

// enrollPasskeyFinish verifies the new credential and adds it as a factor.
func (h *handler) enrollPasskeyFinish(c echo.Context) error {
	ck := h.cookie(c)
	uid := userOf(c)
	p, err := h.accountPage(c, uid) // the messages appear on the page, in its language
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxCeremonyBody))
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("enroll.passkey.failed"))
	}
	fin, err := passkey.ParseFinish(body)
	if err != nil {
		return jsonError(c, http.StatusBadRequest, p.T.T("enroll.passkey.failed"))
	}
	name := fin.Name
	if name == "" {
		name = passkeyName(p.T, c.Request().UserAgent())
	}
	f, err := h.passkeys.FinishRegistration(h.ctx(c), uid, fin.Ceremony, fin.Credential, name)
	switch {
	case errors.Is(err, passkey.ErrAlreadyRegistered):
		return jsonError(c, http.StatusConflict, p.T.T("enroll.passkey.exists"))
	case errors.Is(err, passkey.ErrCeremonyExpired), errors.Is(err, passkey.ErrVerification):
		return jsonError(c, http.StatusUnprocessableEntity, p.T.T("enroll.passkey.failed"))
	case err != nil:
		return err
	}
	added, err := h.enroll.Add(h.ctx(c), uid, f, client(c), nil)
	if err != nil {
		return err
	}
	if err := h.enrolledState(c, ck, added); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"redirect": h.page(c).URL(h.enrolledRoute(added))})
}

// passkeyName suggests a name for a passkey made in this browser, in the page language, so a user
// can tell several apart: "Android 上的 Chrome"; "通行密钥" when the browser is not recognised.
func passkeyName(t *i18n.Translator, ua string) string {
	if d := deviceName(t, ua); d != "" {
		return d
	}
	return t.T("enroll.passkey.default_name")
}

// displayName is what a passkey manager shows for the account: the name, or the masked phone.
func displayName(u campaign.User) string {
	if u.Name != "" {
		return u.Name
	}
	return phone.Mask(u.Phone)
}

func jsonError(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"error": msg})
}

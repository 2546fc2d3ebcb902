package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// enrollTOTPShow shows a new secret as a QR code and in groups of four. The secret lives in the
// encrypted session cookie; a ceremony row makes sure it is confirmed into one factor only.
func (h *handler) enrollTOTPShow(c echo.Context) error {
	ck := h.cookie(c)
	uid := userOf(c)
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return err
	}
	secret := stringValue(ck.Values[ckTOTPSecret])
	if secret == "" || stringValue(ck.Values[ckTOTPCeremony]) == "" {
		setup, err := h.totp.BeginSetup(h.ctx(c), uid, displayName(u), h.now()) // the app lists it as "service (name or 138****8001)"
		if err != nil {
			return err
		}
		secret = setup.Key.Secret
		ck.Values[ckTOTPSecret] = secret
		ck.Values[ckTOTPURL] = setup.Key.URL
		ck.Values[ckTOTPCeremony] = setup.Ceremony
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	m, err := h.totpModel(c, u.Locale, totp.Key{Secret: secret, URL: stringValue(ck.Values[ckTOTPURL])})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EnrollTOTP(m))
}

func (h *handler) totpModel(c echo.Context, locale string, key totp.Key) (views.EnrollTOTPPage, error) {
	qr, err := h.totp.QRDataURL(key, 240)
	if err != nil {
		return views.EnrollTOTPPage{}, err
	}
	p := h.pageFor(c, locale)
	issuer, account := key.Names()
	return views.EnrollTOTPPage{Page: p, Way: h.enrollWay(c, views.StepEnroll, h.chooseBack(p), h.chooseBack(p)), QRDataURL: qr, Secret: key.GroupedSecret(),
		Issuer: issuer, Account: account}, nil
}

// enrollTOTPConfirm checks a code from the app and adds the factor, once.
func (h *handler) enrollTOTPConfirm(c echo.Context) error {
	ck := h.cookie(c)
	uid := userOf(c)
	secret, ceremony := stringValue(ck.Values[ckTOTPSecret]), stringValue(ck.Values[ckTOTPCeremony])
	if secret == "" || ceremony == "" {
		return h.redirectTo(c, views.RouteEnrollTOTPShow)
	}
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	code := strings.TrimSpace(c.FormValue("code"))
	f, err := h.totp.Confirm(uid, p.T.T("enroll.totp.default_name"), secret, code, h.now())
	if errors.Is(err, totp.ErrWrongCode) {
		m, merr := h.totpModel(c, u.Locale, totp.Key{Secret: secret, URL: stringValue(ck.Values[ckTOTPURL])})
		if merr != nil {
			return merr
		}
		msg := p.T.T("enroll.totp.wrong")
		if code == "" {
			msg = p.T.T("verify.err.code_required")
		}
		m.Errors = views.Errors{{Field: "code", Message: msg}}
		return render(c, http.StatusUnprocessableEntity, views.EnrollTOTP(m))
	}
	if err != nil {
		return err
	}
	added, err := h.enroll.Add(h.ctx(c), uid, f, client(c), func(tx *store.Tx) error {
		return totp.TakeSetup(h.ctx(c), tx, ceremony, h.now())
	})
	if errors.Is(err, store.ErrNotFound) {
		// Confirmed by a double submit already, or the set-up time ran out.
		delete(ck.Values, ckTOTPSecret)
		delete(ck.Values, ckTOTPCeremony)
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
		if stringValue(ck.Values[ckEnrollResult]) != "" {
			return h.redirectTo(c, views.RouteEnrollDone)
		}
		return h.redirectTo(c, views.RouteEnrollTOTPShow)
	}
	if err != nil {
		return err
	}
	delete(ck.Values, ckTOTPSecret)
	delete(ck.Values, ckTOTPURL)
	delete(ck.Values, ckTOTPCeremony)
	return h.enrolled(c, ck, added)
}

package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// The setup link's secret waits in a cookie of its own, encrypted like the others, for the code
// that confirms it; it names the link it belongs to.
const (
	staffSetupCookie = "smsretire_staff_setup"
	ckSetupLink      = "link"
	ckSetupSecret    = "secret"
	ckSetupURL       = "url"
	ckSetupCeremony  = "ceremony"
)

// staffSetupShow opens a staff member's one-time setup link: a new authenticator app secret to
// scan, kept for this link while they type its first code.
func (h *handler) staffSetupShow(c echo.Context) error {
	token := c.Param("token")
	m, err := h.app.Staff.SetupLink(h.ctx(c), token)
	if err != nil {
		return h.staffSetupGone(c, err)
	}
	ck := h.staffSetupCookie(c)
	key := totp.Key{Secret: stringValue(ck.Values[ckSetupSecret]), URL: stringValue(ck.Values[ckSetupURL])}
	if stringValue(ck.Values[ckSetupLink]) != token || key.Secret == "" {
		setup, err := h.app.Staff.BeginTOTPSetup(h.ctx(c), m)
		if err != nil {
			return err
		}
		key = setup.Key
		ck.Values = map[any]any{ckSetupLink: token, ckSetupSecret: key.Secret, ckSetupURL: key.URL, ckSetupCeremony: setup.Ceremony}
		if err := ck.Save(c.Request(), c.Response()); err != nil {
			return err
		}
	}
	page, err := h.staffSetupModel(c, m, token, key)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.StaffSetup(page))
}

// staffSetupTOTP confirms the app's first code: the factor is stored, the link used up, the
// member active and signed in, in one transaction but the session.
func (h *handler) staffSetupTOTP(c echo.Context) error {
	token := c.Param("token")
	m, err := h.app.Staff.SetupLink(h.ctx(c), token)
	if err != nil {
		return h.staffSetupGone(c, err)
	}
	ck := h.staffSetupCookie(c)
	key := totp.Key{Secret: stringValue(ck.Values[ckSetupSecret]), URL: stringValue(ck.Values[ckSetupURL])}
	if stringValue(ck.Values[ckSetupLink]) != token || key.Secret == "" {
		return redirect(c, h.path(views.RouteStaffSetupShow, token))
	}
	code := strings.TrimSpace(c.FormValue("code"))
	err = h.app.Staff.FinishTOTPSetup(h.ctx(c), token, m, key.Secret, stringValue(ck.Values[ckSetupCeremony]), code, c.RealIP())
	if errors.Is(err, staff.ErrWrongCode) || errors.Is(err, staff.ErrSetupExpired) {
		page, merr := h.staffSetupModel(c, m, token, key)
		if merr != nil {
			return merr
		}
		msg := page.T.T("enroll.totp.wrong")
		switch {
		case code == "":
			msg = page.T.T("staff.signin.code_required")
		case errors.Is(err, staff.ErrSetupExpired):
			msg = page.T.T("staff.setup.expired")
			delete(ck.Values, ckSetupSecret) // the next visit shows a new secret
			if err := ck.Save(c.Request(), c.Response()); err != nil {
				return err
			}
		}
		page.Errors = views.Errors{{Field: "code", Message: msg}}
		return render(c, http.StatusUnprocessableEntity, views.StaffSetup(page))
	}
	if err != nil {
		return h.staffSetupGone(c, err)
	}
	ck.Options.MaxAge = -1
	ck.Values = map[any]any{}
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	if _, err := h.startStaffSession(c, m.ID, []string{"otp"}); err != nil {
		return err
	}
	if err := h.app.Staff.Log(h.ctx(c), staff.Entry{Actor: m.Actor(c.RealIP()), Action: staff.ActionSignIn,
		Detail: map[string]string{"kind": "totp", "after": "set_up"}}); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteStaffHome)
}

func (h *handler) staffSetupModel(c echo.Context, m staff.Member, token string, key totp.Key) (views.StaffSetupPage, error) {
	qr, err := key.QRDataURL(240)
	if err != nil {
		return views.StaffSetupPage{}, err
	}
	issuer, account := key.Names()
	return views.StaffSetupPage{Page: h.page(c), Email: m.Email, Role: string(m.Role), Token: token, QRDataURL: qr,
		Secret: key.GroupedSecret(), Issuer: issuer, Account: account}, nil
}

// staffSetupGone answers a setup link that does not work (any more): 410 for one used, expired
// or replaced, 404 for one that never was.
func (h *handler) staffSetupGone(c echo.Context, err error) error {
	status := http.StatusGone
	switch {
	case errors.Is(err, staff.ErrLinkUnknown):
		status = http.StatusNotFound
	case errors.Is(err, staff.ErrLinkUsed), errors.Is(err, staff.ErrLinkExpired), errors.Is(err, staff.ErrNotActive):
	default:
		return err
	}
	return render(c, status, views.Error(views.ErrorPage{Page: h.page(c), Status: status, Key: "staff.setup.gone", Staff: true}))
}

// staffSetupCookie returns the setup's cookie, fresh when there is none or it fails to decode.
func (h *handler) staffSetupCookie(c echo.Context) *sessions.Session {
	s, err := h.cookies.Get(c.Request(), staffSetupCookie)
	if err != nil {
		s, _ = h.cookies.New(c.Request(), staffSetupCookie)
	}
	opts := *h.cookies.Options
	opts.MaxAge = int(totp.SetupTTL.Seconds())
	s.Options = &opts
	return s
}

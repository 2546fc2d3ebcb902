package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// Staff sign-in through the company's OpenID Connect provider (--staff-oidc-issuer). What the
// browser must bring back — state, nonce, PKCE verifier, where to go after — waits in a cookie of
// its own, encrypted like the others, for ten minutes.
const (
	staffSSOCookie = "smsretire_staff_sso"
	ckSSOPending   = "pending"
	ckSSONext      = "next"
)

// staffSSOStart sends the browser to the company's provider.
func (h *handler) staffSSOStart(c echo.Context) error {
	to, pending, err := h.app.StaffSSO.Start(h.ctx(c))
	if err != nil {
		return err
	}
	b, err := json.Marshal(pending)
	if err != nil {
		return err
	}
	ck := h.staffSSOCookie(c)
	ck.Values = map[any]any{ckSSOPending: string(b), ckSSONext: staffNext(c.QueryParam("next"))}
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// staffSSOCallback takes the provider's answer: the state must be this browser's, the code is
// exchanged with its PKCE verifier and the ID token verified, and the staff member it names is
// signed in with a new staff session.
func (h *handler) staffSSOCallback(c echo.Context) error {
	ck := h.staffSSOCookie(c)
	var pending staff.SSOPending
	if err := json.Unmarshal([]byte(stringValue(ck.Values[ckSSOPending])), &pending); err != nil || pending.State == "" {
		return h.staffSSORefused(c, http.StatusBadRequest)
	}
	next := stringValue(ck.Values[ckSSONext])
	ck.Options.MaxAge = -1 // one answer per start, whatever it is
	ck.Values = map[any]any{}
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	state := c.QueryParam("state")
	if subtle.ConstantTimeCompare([]byte(state), []byte(pending.State)) != 1 || c.QueryParam("code") == "" {
		return h.staffSSORefused(c, http.StatusBadRequest)
	}
	id, err := h.app.StaffSSO.Finish(h.ctx(c), c.QueryParam("code"), pending)
	if errors.Is(err, staff.ErrSSO) {
		h.log.Warn("staff company sign-in refused", "err", err)
		return h.staffSSORefused(c, http.StatusForbidden)
	}
	if err != nil {
		return err
	}
	m, err := h.app.Staff.SignInSSO(h.ctx(c), id, c.RealIP())
	if errors.Is(err, staff.ErrNotActive) {
		return h.staffSSORefused(c, http.StatusForbidden)
	}
	if err != nil {
		return err
	}
	if _, err := h.startStaffSession(c, m.ID, []string{"fed"}); err != nil {
		return err
	}
	if next == "" {
		next = h.path(views.RouteStaffHome)
	}
	return redirect(c, next)
}

// staffSSORefused answers a company sign-in that did not work: the sign-in page with what
// happened.
func (h *handler) staffSSORefused(c echo.Context, status int) error {
	p := h.page(c)
	return render(c, status, views.StaffSignIn(views.StaffSignInPage{Page: p, SSO: true, Blocked: p.T.T("staff.signin.sso_failed")}))
}

func (h *handler) staffSSOCookie(c echo.Context) *sessions.Session {
	s, err := h.cookies.Get(c.Request(), staffSSOCookie)
	if err != nil {
		s, _ = h.cookies.New(c.Request(), staffSSOCookie)
	}
	opts := *h.cookies.Options
	opts.MaxAge = 600
	s.Options = &opts
	return s
}

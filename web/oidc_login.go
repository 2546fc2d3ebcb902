package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/provider"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/views"
)

// loginRequest returns the authorization request id if this browser started it and it is live.
func (h *handler) loginRequest(c echo.Context, id string) (provider.Request, error) {
	return h.app.Provider.LoginRequest(h.ctx(c), id, stringValue(h.oidcCookieOf(c).Values[ckBrowser]))
}

// signingInFor returns the request the user is signing in for now, if any: the pages on the way
// name its service, and the sign-in admits only the account it named.
func (h *handler) signingInFor(c echo.Context) (provider.Request, bool) {
	if h.app.Provider == nil {
		return provider.Request{}, false
	}
	id := stringValue(h.oidcCookieOf(c).Values[ckOIDCReq])
	if id == "" {
		return provider.Request{}, false
	}
	req, err := h.loginRequest(c, id)
	if err != nil || req.Done {
		return provider.Request{}, false
	}
	return req, true
}

// serviceContext is the page context's service while the user signs in for one, and the origin
// of its redirect URI, where the sign-in ends.
func (h *handler) serviceContext(c echo.Context, lang string) (*views.ServiceContext, string) {
	req, ok := h.signingInFor(c)
	if !ok {
		return nil, ""
	}
	return &views.ServiceContext{Name: req.Client.DisplayName(lang), RequestID: req.ID}, req.RedirectOrigin
}

// oidcLogin is the login step the provider sends the browser to. A session of this browser that
// answers the request (the named user, recently enough, with a passkey if one is needed)
// completes it at once; a user the service named who has not moved off SMS yet meets the notice
// first; everyone else signs in with a new factor on the sign-in page and comes back here.
func (h *handler) oidcLogin(c echo.Context) error {
	id := c.QueryParam("id")
	req, err := h.loginRequest(c, id)
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	ck := h.oidcCookieOf(c)
	ck.Values[ckOIDCReq] = req.ID
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	ss, ok, err := h.currentSession(c)
	if err != nil {
		return err
	}
	if ok {
		a := provider.Auth{Subject: ss.Subject, At: ss.AuthAt, Methods: ss.Methods}
		if req.Check(a) == provider.ShortNone {
			return h.oidcComplete(c, req, a)
		}
	}
	if req.PromptNone {
		to, err := h.app.Provider.Refuse(h.ctx(c), req.ID, provider.LoginRequired)
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusFound, to)
	}
	if req.LoginHint != "" && !req.PhishingResistant {
		u, err := h.store.UserByID(h.ctx(c), req.LoginHint)
		if err != nil && !errors.Is(err, campaign.ErrUserNotFound) {
			return err
		}
		if err == nil && u.SMSRetiredAt.IsZero() {
			return redirect(c, h.path(views.RouteOIDCNudge, req.ID))
		}
	}
	back := h.path(views.RouteOIDCLogin) + "?id=" + url.QueryEscape(req.ID)
	return redirect(c, h.path(views.RouteSignInShow)+"?next="+url.QueryEscape(back))
}

// oidcComplete records that a answers req and sends the browser to collect the service's code.
func (h *handler) oidcComplete(c echo.Context, req provider.Request, a provider.Auth) error {
	to, err := h.app.Provider.Complete(h.ctx(c), req, a, client(c))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	ck := h.oidcCookieOf(c)
	delete(ck.Values, ckOIDCReq)
	delete(ck.Values, ckOIDCLater)
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return redirect(c, to)
}

// oidcCancel goes back to the service without signing in: the service hears access_denied.
func (h *handler) oidcCancel(c echo.Context) error {
	req, err := h.loginRequest(c, c.FormValue("id"))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	to, err := h.app.Provider.Refuse(h.ctx(c), req.ID, provider.Cancelled)
	if err != nil {
		return err
	}
	ck := h.oidcCookieOf(c)
	delete(ck.Values, ckOIDCReq)
	delete(ck.Values, ckOIDCLater)
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return redirect(c, to)
}

// nudgeModel is the notice for req: for the account the service named, with its deadline and
// how many more "remind me later" it has; otherwise a general one that asks for the account.
func (h *handler) nudgeModel(c echo.Context, req provider.Request) (views.OIDCNudgePage, campaign.User, error) {
	m := views.OIDCNudgePage{Page: h.page(c), RequestID: req.ID, Later: h.cfg.OIDC.Reminders() > 0 && !req.PhishingResistant}
	if req.LoginHint == "" {
		return m, campaign.User{}, nil
	}
	u, err := h.store.UserByID(h.ctx(c), req.LoginHint)
	if err != nil {
		return m, u, err
	}
	m.Page = h.pageFor(c, u.Locale)
	m.Named, m.Deadline, m.DaysLeft = true, u.Deadline, u.DaysLeft(h.now(), h.loc)
	m.Past = u.PastDeadline(h.now(), h.loc)
	// "Later" shares the campaign's count of snoozes, against the sign-in's own limit.
	offer := h.app.Rollout.SignInOffer(u, h.now(), h.cfg.OIDC.Reminders())
	m.LaterLeft = offer.Left
	m.Later = m.Later && offer.Allowed
	return m, u, nil
}

// oidcNudge shows the retirement notice on the way to the service: set up now, or go on with an
// SMS code this time.
func (h *handler) oidcNudge(c echo.Context) error {
	req, err := h.loginRequest(c, c.Param("id"))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	m, u, err := h.nudgeModel(c, req)
	if err != nil {
		return err
	}
	if m.Named {
		if err := h.app.Rollout.NudgeShown(h.ctx(c), u.ID, req.Client.ID, client(c)); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, views.OIDCNudge(m))
}

// nudgeSubject is whom the notice's choice is about: the account the service named, or the one
// typed, found as the look-up finds it (an unknown account walks the same steps).
func (h *handler) nudgeSubject(c echo.Context, req provider.Request, prefix string) (identity.Subject, error, bool) {
	if req.LoginHint != "" {
		return identity.ForUser(req.LoginHint, true), nil, true
	}
	account := strings.TrimSpace(c.FormValue("account"))
	if msg := validateAccount(account); msg != "" {
		m, _, err := h.nudgeModel(c, req)
		if err != nil {
			return identity.Subject{}, err, false
		}
		m.Account = account
		m.Errors = views.Errors{{Field: prefix + "-account", Message: m.T.T(msg)}}
		return identity.Subject{}, render(c, http.StatusUnprocessableEntity, views.OIDCNudge(m)), false
	}
	sub, err := h.ident.Find(h.ctx(c), account)
	return sub, err, err == nil
}

// oidcNudgeSetUp starts the verification that leads to a new method; the pages on the way lead
// back to the service, where the user then signs in with it.
func (h *handler) oidcNudgeSetUp(c echo.Context) error {
	req, err := h.loginRequest(c, c.FormValue("id"))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	sub, err, ok := h.nudgeSubject(c, req, "setup")
	if !ok {
		return err
	}
	if sub.UserID != "" {
		if err := h.app.Rollout.NudgeSetUp(h.ctx(c), sub.UserID, req.Client.ID, client(c)); err != nil {
			return err
		}
	}
	ck := h.cookie(c)
	setSubject(ck, sub)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyChoose)
}

// oidcNudgeLater goes on with an SMS code this time, as before the retirement: the code is sent
// by the verification's own step, and once it is checked, oidcLaterDone returns to the service.
func (h *handler) oidcNudgeLater(c echo.Context) error {
	req, err := h.loginRequest(c, c.FormValue("id"))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	if req.PhishingResistant {
		return redirect(c, h.path(views.RouteOIDCNudge, req.ID))
	}
	sub, err, ok := h.nudgeSubject(c, req, "later")
	if !ok {
		return err
	}
	ck := h.cookie(c)
	setSubject(ck, sub)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	ock := h.oidcCookieOf(c)
	ock.Values[ckOIDCLater] = req.ID
	if err := ock.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	c.Set(ctxSubject, sub)
	c.Request().Form.Set("channel", string(identity.MethodPhone))
	return h.verifyCodeSend(c)
}

// afterVerified is where a verification by code leads: back to the service when it was the SMS
// code of "remind me later", else on to enrollment.
func (h *handler) afterVerified(c echo.Context, m identity.Method) string {
	ck := h.oidcCookieOf(c)
	id := stringValue(ck.Values[ckOIDCLater])
	if id == "" || m != identity.MethodPhone {
		return h.path(views.RouteVerifyDone)
	}
	return h.path(views.RouteOIDCLaterDone) + "?id=" + url.QueryEscape(id)
}

// oidcLaterDone takes one "remind me later" for the user who just verified with an SMS code and
// returns to the service with amr ["sms"]. When none is left, or the deadline passed, the user
// sets up a new method instead (the verification allows it).
func (h *handler) oidcLaterDone(c echo.Context) error {
	g := grantOf(c)
	req, err := h.loginRequest(c, c.QueryParam("id"))
	if errors.Is(err, provider.ErrNoRequest) {
		return h.oidcErrorPage(c, http.StatusBadRequest, "oidc.err.request")
	}
	if err != nil {
		return err
	}
	ck := h.oidcCookieOf(c)
	delete(ck.Values, ckOIDCLater)
	if err := ck.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	u, err := h.store.UserByID(h.ctx(c), g.UserID)
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	if g.Method != string(identity.MethodPhone) || !u.SMSRetiredAt.IsZero() {
		return h.redirectTo(c, views.RouteVerifyDone)
	}
	_, err = h.app.Rollout.SnoozeSignIn(h.ctx(c), u.ID, h.cfg.OIDC.Reminders(), req.Client.ID, client(c))
	if errors.Is(err, rollout.ErrSnoozeLimit) || errors.Is(err, rollout.ErrSnoozeTooLate) || errors.Is(err, rollout.ErrSnoozeNone) {
		return render(c, http.StatusOK, views.OIDCLaterUsed(views.OIDCLaterUsedPage{Page: p, Past: u.PastDeadline(h.now(), h.loc)}))
	}
	if err != nil {
		return err
	}
	a := provider.Auth{Subject: u.ID, At: g.VerifiedAt, Methods: []string{signin.AMRSMS}}
	if short := req.Check(a); short != provider.ShortNone {
		return h.oidcErrorPage(c, http.StatusForbidden, "oidc.err.other_account")
	}
	return h.oidcComplete(c, req, a)
}

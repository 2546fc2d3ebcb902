package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// approvalCookie binds a sign-in waiting for approval to the browser that asked for it: it
// carries the request's ID and the binding secret, without which nobody can read the request's
// state or complete it, so the number seen over a shoulder is useless elsewhere. HttpOnly,
// SameSite=Strict, and __Host- where the portal runs on HTTPS.
func (h *handler) approvalCookie() string {
	if h.cfg.SecureCookies() {
		return "__Host-smsretire_approval"
	}
	return "smsretire_approval"
}

const ckApprovalNumber = "approval_number" // the number the desktop shows, in the signed and encrypted cookie

// pushApprovalOn hides approval's routes when --push-approval=false.
func (h *handler) pushApprovalOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.cfg.PushApproval {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		return next(c)
	}
}

// signInApprovalStart asks the account's approver phones to approve this sign-in, and shows the
// number to type there. For an account that does not exist the page is the same.
func (h *handler) signInApprovalStart(c echo.Context) error {
	account, err := h.signInAccountFor(c)
	if err != nil {
		return err
	}
	if validateAccount(account) != "" {
		return h.signInAccountError(c, account, true, h.page(c).T.T("signin.err.account_required"))
	}
	return h.startApproval(c, account)
}

// startApproval opens the request for account and keeps its binding in this browser.
func (h *handler) startApproval(c echo.Context, account string) error {
	sub, err := h.ident.Find(h.ctx(c), account)
	if err != nil {
		return err
	}
	started, err := h.app.Approvals.Start(h.ctx(c), sub, client(c))
	var refused approval.ErrRefused
	if errors.As(err, &refused) {
		p := h.page(c)
		return h.signInBlocked(c, views.SignInApproval, p.T.Tf("signin.approval.refused."+refused.Reason,
			map[string]any{"Time": h.clockTime(refused.Until), "Minutes": minutesUntil(h.now(), refused.Until)}))
	}
	if err != nil {
		return err
	}
	http.SetCookie(c.Response(), &http.Cookie{Name: h.approvalCookie(), Value: started.ID + "." + started.Binding, Path: "/",
		MaxAge:   int(h.app.Approvals.Settings().TTL.Seconds() + h.app.Approvals.Settings().CompleteTTL.Seconds()),
		HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteStrictMode})
	ck := h.cookie(c)
	ck.Values[ckApprovalNumber] = started.Number
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSignInApprovalShow)
}

// approvalBinding returns the request ID and binding secret this browser holds; "" when none.
func (h *handler) approvalBinding(c echo.Context) (id, binding string) {
	ck, err := c.Request().Cookie(h.approvalCookie())
	if err != nil {
		return "", ""
	}
	id, binding, _ = strings.Cut(ck.Value, ".")
	return id, binding
}

// approvalModel reads the state of this browser's request.
func (h *handler) approvalModel(c echo.Context) (views.SignInApprovalPage, error) {
	id, binding := h.approvalBinding(c)
	state, err := h.app.Approvals.Status(h.ctx(c), id, binding)
	if err != nil {
		return views.SignInApprovalPage{}, err
	}
	m := views.SignInApprovalPage{Page: h.page(c), State: state, Number: stringValue(h.cookie(c).Values[ckApprovalNumber])}
	if state == store.ApprovalPending {
		if r, err := h.store.ApprovalRequest(h.ctx(c), id); err == nil {
			m.ExpiresAt = r.ExpiresAt
		}
	}
	return m, nil
}

// signInApprovalShow is the desktop's page while the phone answers; without a request bound to
// this browser it leads back to the sign-in page.
func (h *handler) signInApprovalShow(c echo.Context) error {
	m, err := h.approvalModel(c)
	if errors.Is(err, approval.ErrNotFound) {
		return h.redirectTo(c, views.RouteSignInShow)
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SignInApprovalWait(m))
}

// signInApprovalStatus answers the desktop's poll: 204 while the request is pending, else its new
// state. Only the browser that holds the binding may ask; the answer never carries a token.
func (h *handler) signInApprovalStatus(c echo.Context) error {
	if !h.page(c).HTMX {
		return h.redirectTo(c, views.RouteSignInApprovalShow)
	}
	m, err := h.approvalModel(c)
	if errors.Is(err, approval.ErrNotFound) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	if err != nil {
		return err
	}
	if m.State == store.ApprovalPending {
		return c.NoContent(http.StatusNoContent)
	}
	return render(c, http.StatusOK, views.SignInApprovalStatus(m))
}

// signInApprovalComplete signs this browser in once the phone approved: only with the binding,
// and once (a replay finds the request consumed). The new session records amr mca.
func (h *handler) signInApprovalComplete(c echo.Context) error {
	id, binding := h.approvalBinding(c)
	done, err := h.app.Approvals.Complete(h.ctx(c), id, binding, client(c))
	switch {
	case errors.Is(err, approval.ErrNotFound):
		return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusForbidden, Key: "error.approval_binding"}))
	case errors.Is(err, approval.ErrClosed):
		m, merr := h.approvalModel(c)
		if merr != nil {
			return merr
		}
		return render(c, http.StatusConflict, views.SignInApprovalWait(m))
	case err != nil:
		return err
	}
	http.SetCookie(c.Response(), &http.Cookie{Name: h.approvalCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteStrictMode})
	if err := h.rememberWay(c, views.SignInApproval); err != nil {
		return err
	}
	if err := h.startSignedInVia(c, done.UserID, done.Methods, approval.ViaPhone); err != nil {
		return err
	}
	return redirect(c, h.afterSignIn(c))
}

package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/push"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// approvalSection is My security's section on approving sign-ins with this device.
func (h *handler) approvalSection(c echo.Context) (views.ApprovalSection, map[string]bool, error) {
	if !h.cfg.PushApproval {
		return views.ApprovalSection{}, nil, nil
	}
	ss := sessionOf(c)
	approvers, err := h.app.Approvals.Approvers(h.ctx(c), ss.Subject)
	if err != nil {
		return views.ApprovalSection{}, nil, err
	}
	a := views.ApprovalSection{On: true, ThisApproves: approvers[ss.ID], PushAvailable: h.app.Push != nil}
	if a.PushAvailable {
		a.PublicKey = h.app.Keys.VAPID.Public
		if a.PushOn, err = h.store.PushSubscribed(h.ctx(c), ss.ID); err != nil {
			return a, nil, err
		}
	}
	return a, approvers, nil
}

// securityApproverAdd makes this device an approver of sign-ins (after a step-up, which its route
// requires); every page of it then shows requests waiting.
func (h *handler) securityApproverAdd(c echo.Context) error {
	ss := sessionOf(c)
	if err := h.app.Approvals.Enroll(h.ctx(c), ss.Subject, ss.ID, client(c)); err != nil {
		return err
	}
	ck := h.cookie(c)
	ck.Values[ckApprover] = true
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	if err := h.flash(c, "security.approval.enrolled"); err != nil {
		return err
	}
	return redirect(c, h.path(views.RouteSecurityShow)+"#approval")
}

// securityApproverRemove stops one of the user's devices (this one or another) from approving.
func (h *handler) securityApproverRemove(c echo.Context) error {
	ss := sessionOf(c)
	id := c.FormValue("id")
	if _, err := h.app.Approvals.Remove(h.ctx(c), ss.Subject, id, client(c)); err != nil {
		return err
	}
	if id == ss.ID {
		ck := h.cookie(c)
		delete(ck.Values, ckApprover)
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	if err := h.flash(c, "security.approval.removed"); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

// pushSubscription is what static/js/push.js posts: the browser's PushSubscription as JSON.
type pushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// securityPushSubscribe keeps this approver's push subscription, to send it requests.
func (h *handler) securityPushSubscribe(c echo.Context) error {
	ss := sessionOf(c)
	p := h.page(c)
	ok, err := h.app.Approvals.IsApprover(h.ctx(c), ss.Subject, ss.ID)
	if err != nil {
		return err
	}
	if !ok || h.app.Push == nil {
		return jsonError(c, http.StatusForbidden, p.T.T("security.approval.push.not_approver"))
	}
	var sub pushSubscription
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4096)).Decode(&sub); err != nil || !h.validEndpoint(sub.Endpoint) ||
		sub.Keys.P256dh == "" || sub.Keys.Auth == "" || len(sub.Keys.P256dh) > 200 || len(sub.Keys.Auth) > 100 {
		return jsonError(c, http.StatusBadRequest, p.T.T("security.approval.push.failed"))
	}
	err = h.store.SavePushSubscription(h.ctx(c), store.PushSubscription{ID: push.SubscriptionID(sub.Endpoint), SessionID: ss.ID, UserID: ss.Subject,
		Endpoint: sub.Endpoint, P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth, CreatedAt: h.now()})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": p.T.T("security.approval.push.on")})
}

// securityPushUnsubscribe turns this device's notifications off.
func (h *handler) securityPushUnsubscribe(c echo.Context) error {
	if err := h.store.DeletePushSubscriptionsOf(h.ctx(c), sessionOf(c).ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": h.page(c).T.T("security.approval.push.off")})
}

// validEndpoint accepts a push service's endpoint: an https URL; with --demo also http on
// loopback, for a push service that a test runs.
func (h *handler) validEndpoint(s string) bool {
	u, err := url.Parse(s)
	if err != nil || len(s) > 1024 || u.Host == "" || u.User != nil {
		return false
	}
	return u.Scheme == "https" || h.cfg.Demo && u.Scheme == "http" && (strings.HasPrefix(u.Host, "127.0.0.1:") || strings.HasPrefix(u.Host, "localhost:"))
}

package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// verifyCodeShow renders the form for the code that was just sent.
func (h *handler) verifyCodeShow(c echo.Context) error {
	ck := h.cookie(c)
	ch, ok := identity.ParseChannel(stringValue(ck.Values[ckChannel]))
	if !ok {
		return h.redirectTo(c, views.RouteVerifyChoose)
	}
	resent := false
	if flashes := ck.Flashes(); len(flashes) > 0 {
		resent = true
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	m.Resent = resent
	return render(c, http.StatusOK, views.VerifyCode(m))
}

// codeModel builds the code page for the session's subject.
func (h *handler) codeModel(c echo.Context, ch identity.Method) (views.VerifyCodePage, error) {
	ck := h.cookie(c)
	sub := subjectOf(c)
	m := views.VerifyCodePage{
		Page:           h.page(c),
		Channel:        string(ch),
		ExpiresMinutes: int(h.ident.Settings().CodeTTL.Minutes()),
	}
	if at, ok := ck.Values[ckResendAt].(int64); ok {
		if left := time.UnixMilli(at).Sub(h.now()); left > 0 {
			m.ResendIn = secondsUntil(h.now(), time.UnixMilli(at))
		}
	}
	if sub.Identified && sub.UserID != "" {
		u, err := h.store.UserByID(h.ctx(c), sub.UserID)
		if err != nil {
			return m, err
		}
		m.Page = h.pageFor(c, u.Locale)
		if ch == identity.MethodPhone {
			m.Target = phone.Mask(u.Phone)
		} else {
			m.Target = campaign.MaskEmail(u.Email)
		}
	}
	// Only an identified account hears that its code is delayed or could not be sent: after a
	// look-up, which may name anyone, the words would tell that the account exists.
	if sub.Identified && sub.UserID != "" {
		d, err := h.ident.CodeDelivery(h.ctx(c), sub.UserID, ch)
		if err != nil {
			return m, err
		}
		m.DeliveryDelayed, m.DeliveryFailed = d == outbox.DeliveryDelayed, d == outbox.DeliveryFailed
		m.DeliveryState = deliveryStates[d]
		m.DeliveryWatch = d == outbox.DeliveryPending || d == outbox.DeliveryDelayed
	}
	m.Way = h.verifyWay(m.Page)
	return m, nil
}

// deliveryStates names the states of a code's delivery for the status block's polling.
var deliveryStates = map[outbox.Delivery]string{
	outbox.DeliveryNone: "none", outbox.DeliveryPending: "pending", outbox.DeliveryDelayed: "delayed",
	outbox.DeliveryFailed: "failed", outbox.DeliverySent: "sent",
}

// verifyCodeDelivery answers the code page's status block, which htmx asks every few seconds
// while the code is on its way: 204 while the state is the one the page shows (seen), else the
// block anew. Outside htmx it leads to the code page.
func (h *handler) verifyCodeDelivery(c echo.Context) error {
	ch, ok := identity.ParseChannel(stringValue(h.cookie(c).Values[ckChannel]))
	if !ok || !h.page(c).HTMX {
		return h.redirectTo(c, views.RouteVerifyCodeShow)
	}
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	if m.DeliveryState == c.QueryParam("seen") {
		return c.NoContent(http.StatusNoContent)
	}
	return render(c, http.StatusOK, views.VerifyDelivery(m))
}

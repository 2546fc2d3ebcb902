package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// verifyKnowledgeShow renders the knowledge check form.
func (h *handler) verifyKnowledgeShow(c echo.Context) error {
	p, err := h.subjectPage(c, subjectOf(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VerifyKnowledge(views.VerifyKnowledgePage{Page: p, Way: h.verifyWay(p), NeedCode: h.knowledgeNeedsCode(c, subjectOf(c))}))
}

// knowledgeNeedsCode tells whether a passed knowledge check must be followed by a code: unless
// --knowledge-suffices, and for an identified account also once its deadline has passed.
func (h *handler) knowledgeNeedsCode(c echo.Context, sub identity.Subject) bool {
	if !h.cfg.KnowledgeSuffices {
		return true
	}
	if !sub.Identified || sub.UserID == "" {
		return false
	}
	u, err := h.store.UserByID(h.ctx(c), sub.UserID)
	if err != nil {
		return true
	}
	return !h.app.Rollout.Rules().Allows(u, campaign.WayKnowledge, h.now(), true)
}

// verifyKnowledgeCheck compares the registered phone number and ID digits. When that alone does
// not suffice, the account becomes identified and the user finishes with a code or assist code.
func (h *handler) verifyKnowledgeCheck(c echo.Context) error {
	sub := subjectOf(c)
	p, err := h.subjectPage(c, sub)
	if err != nil {
		return err
	}
	m := views.VerifyKnowledgePage{Page: p, Way: h.verifyWay(p), Phone: strings.TrimSpace(c.FormValue("phone")), NeedCode: h.knowledgeNeedsCode(c, sub)}
	last4 := c.FormValue("last4")
	switch {
	case m.Phone == "":
		m.Errors = append(m.Errors, views.FieldError{Field: "phone", Message: p.T.T("verify.err.phone_required")})
	case len(m.Phone) > 32 || func() bool { _, err := phone.Normalize(m.Phone, h.cfg.DefaultRegion); return err != nil }():
		m.Errors = append(m.Errors, views.FieldError{Field: "phone", Message: p.T.T("verify.err.phone_invalid")})
	}
	if len(strings.TrimSpace(last4)) != 4 {
		m.Errors = append(m.Errors, views.FieldError{Field: "last4", Message: p.T.T("verify.err.last4_invalid")})
	}
	if len(m.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.VerifyKnowledge(m))
	}
	res, err := h.ident.CheckKnowledge(h.ctx(c), sub, m.Phone, last4, client(c))
	if err != nil {
		msg, status, ok := h.verifyMessage(p, err, wayKnowledge)
		if !ok {
			return err
		}
		if blocking(err) {
			m.Blocked = msg
		} else {
			m.Errors = views.Errors{{Field: "phone", Message: msg}}
		}
		return render(c, status, views.VerifyKnowledge(m))
	}
	if res.Verified {
		if err := h.startVerified(c, res.User.ID, identity.MethodKnowledge); err != nil {
			return err
		}
		return h.redirectTo(c, views.RouteVerifyDone)
	}
	ck := h.cookie(c)
	setSubject(ck, identity.ForUser(res.User.ID, true))
	ck.Values[ckKnowledgeOK] = true
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyChoose)
}

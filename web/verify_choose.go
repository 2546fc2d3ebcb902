package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// verifyChoose shows the ways to confirm identity that the account can use.
func (h *handler) verifyChoose(c echo.Context) error {
	m, err := h.chooseModel(c, h.cookie(c).Values[ckKnowledgeOK] == true)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VerifyChoose(m))
}

// chooseModel builds the method list; masked details appear only for an identified account.
func (h *handler) chooseModel(c echo.Context, knowledgePassed bool) (views.VerifyChoosePage, error) {
	sub := subjectOf(c)
	m := views.VerifyChoosePage{Page: h.page(c), Identified: sub.Identified && sub.UserID != "", KnowledgePassed: knowledgePassed}
	if m.Identified {
		u, err := h.store.UserByID(h.ctx(c), sub.UserID)
		if err != nil {
			return m, err
		}
		m.Page = h.pageFor(c, u.Locale)
		m.MaskedPhone = phone.Mask(u.Phone)
		m.MaskedEmail = campaign.MaskEmail(u.Email)
		rules := h.app.Rollout.Rules()
		m.PhoneClosed = !rules.Allows(u, campaign.WayPhone, h.now(), true)
		m.EmailClosed = !rules.Allows(u, campaign.WayEmail, h.now(), true)
		m.Phase, m.GraceEnds = rules.Phase(u, h.now()), rules.GraceEnds(u)
	}
	m.Way = views.Way{Step: views.StepVerify, Back: h.noticeBack(c, m.Page)}
	return m, nil
}

package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/views"
)

// noticeBack is the way back to where a verification began: the notice this browser opened from
// its link, or the home page after a look-up.
func (h *handler) noticeBack(c echo.Context, p views.Page) views.Link {
	if e := embedOf(c); e != nil {
		return views.Link{Href: h.path(views.RouteEmbedNotice, e.Partner.ID), Text: p.T.T("journey.back.notice")}
	}
	if token := stringValue(h.cookie(c).Values[ckNoticeToken]); token != "" {
		return views.Link{Href: h.path(views.RouteNoticeShow, token), Text: p.T.T("journey.back.notice")}
	}
	return views.Link{Href: h.path(views.RouteHome), Text: p.T.T("journey.back.home")}
}

// verifyWay is the place of a verification page that asks for a code or an answer: the first
// step, and back to the other ways to confirm.
func (h *handler) verifyWay(p views.Page) views.Way {
	return views.Way{Step: views.StepVerify, Back: views.Link{Href: p.URL(views.RouteVerifyChoose), Text: p.T.T("verify.other_methods")}}
}

// enrollWay is the place of an enrollment page: in the journey (verified in this browser) its
// step and back; for a signed-in user adding a method, no steps, and back as signedInBack says.
func (h *handler) enrollWay(c echo.Context, step int, back, signedInBack views.Link) views.Way {
	if sessionOf(c).ID != "" {
		return views.Way{Back: signedInBack}
	}
	return views.Way{Step: step, Back: back}
}

// securityBack leads back to My security.
func (h *handler) securityBack(p views.Page) views.Link {
	return views.Link{Href: h.path(views.RouteSecurityShow), Text: p.T.T("signin.back.security")}
}

// chooseBack leads back to the list of methods.
func (h *handler) chooseBack(p views.Page) views.Link {
	return views.Link{Href: p.URL(views.RouteEnrollChoose), Text: p.T.T("enroll.back_to_choose")}
}

// deadlineView is the user's deadline as the journey's pages repeat it.
func (h *handler) deadlineView(u campaign.User) views.DeadlineView {
	return views.DeadlineView{Date: u.Deadline, DaysLeft: u.DaysLeft(h.now(), h.loc)}
}

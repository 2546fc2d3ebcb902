package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// noticeShow renders a personal notice opened from a signed link. A bad, expired or unknown link
// gets a friendly page that never says whether the account exists.
func (h *handler) noticeShow(c echo.Context) error {
	id, err := h.app.Notices.Parse(c.Param("token"), h.now())
	if err != nil {
		return h.noticeLinkBroken(c, errors.Is(err, campaign.ErrTokenExpired))
	}
	u, err := h.store.UserByID(h.ctx(c), id)
	if errors.Is(err, campaign.ErrUserNotFound) {
		return h.noticeLinkBroken(c, false)
	}
	if err != nil {
		return err
	}
	// The signed link identifies the account: a verification of someone else starts afresh; a
	// look-up of this same account (by its phone number, say) keeps its steps and now shows the
	// masked phone and email.
	ck := h.cookie(c)
	if sub, _ := subjectIn(ck); sub.UserID != u.ID || !sub.Identified {
		if sub.UserID != u.ID {
			setSubject(ck, identity.ForUser(u.ID, true))
		} else {
			ck.Values[ckSubjectKnown] = true
		}
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
		if err := h.ident.NoticeOpened(h.ctx(c), u.ID, client(c)); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, views.Notice(h.noticeModel(c, u)))
}

func (h *handler) noticeModel(c echo.Context, u campaign.User) views.NoticePage {
	rules := h.app.Rollout.Rules()
	return views.NoticePage{
		Page:        h.pageFor(c, u.Locale),
		Name:        u.Name,
		MaskedPhone: phone.Mask(u.Phone),
		Deadline:    u.Deadline,
		DaysLeft:    u.DaysLeft(h.now(), h.loc),
		State:       u.State,
		Phase:       rules.Phase(u, h.now()),
		GraceEnds:   rules.GraceEnds(u),
		Snooze:      h.snoozeOffer(u),
	}
}

func (h *handler) noticeLinkBroken(c echo.Context, expired bool) error {
	status := http.StatusNotFound
	if expired {
		status = http.StatusGone
	}
	return render(c, status, views.NoticeLinkBroken(views.NoticeLinkProblem{Page: h.page(c), Expired: expired}))
}

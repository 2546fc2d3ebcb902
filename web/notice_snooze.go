package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/views"
)

// noticeSnooze is "remind me later" on the notice: the campaign holds its reminders for a few
// days, then reminds once. Only for the account the notice link (or a passed knowledge check)
// named; a refusal shows the notice again with the reason.
func (h *handler) noticeSnooze(c echo.Context) error {
	sub := subjectOf(c)
	if !sub.Identified || sub.UserID == "" {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	_, err := h.app.Rollout.Snooze(h.ctx(c), sub.UserID, client(c))
	if err == nil {
		return h.redirectTo(c, views.RouteNoticeSnoozed)
	}
	key := ""
	switch {
	case errors.Is(err, rollout.ErrSnoozeLimit):
		key = "campaign.err.snooze_limit"
	case errors.Is(err, rollout.ErrSnoozeTooLate):
		key = "campaign.err.snooze_late"
	case errors.Is(err, rollout.ErrSnoozeNone):
		key = "campaign.err.snooze_none"
	default:
		return err
	}
	u, err := h.store.UserByID(h.ctx(c), sub.UserID)
	if err != nil {
		return err
	}
	m, err := h.noticeModel(c, u)
	if err != nil {
		return err
	}
	m.SnoozeError = m.T.T(key)
	return render(c, http.StatusUnprocessableEntity, views.Notice(m))
}

// noticeSnoozed confirms a snooze running now; without one it leads on to verification.
func (h *handler) noticeSnoozed(c echo.Context) error {
	sub := subjectOf(c)
	if !sub.Identified || sub.UserID == "" {
		return h.redirectTo(c, views.RouteVerifyChoose)
	}
	u, err := h.store.UserByID(h.ctx(c), sub.UserID)
	if err != nil {
		return err
	}
	offer := h.app.Rollout.SnoozeOffer(u, h.now())
	if offer.Until.IsZero() {
		return h.redirectTo(c, views.RouteVerifyChoose)
	}
	return render(c, http.StatusOK, views.NoticeSnoozed(views.NoticeSnoozedPage{Page: h.pageFor(c, u.Locale),
		Until: offer.Until, Deadline: u.Deadline, Left: offer.Left}))
}

// snoozeOffer is the view of what the user may do about reminders now.
func (h *handler) snoozeOffer(u campaign.User) views.SnoozeOffer {
	o := h.app.Rollout.SnoozeOffer(u, h.now())
	return views.SnoozeOffer{Allowed: o.Allowed, Left: o.Left, Days: o.Days, Until: o.Until}
}

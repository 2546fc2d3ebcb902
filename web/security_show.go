package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// securityShow renders "My security": status, factors, recovery codes and the history log.
func (h *handler) securityShow(c echo.Context) error {
	m, err := h.securityModel(c, userOf(c))
	if err != nil {
		return err
	}
	if flash := h.takeFlash(c); flash != "" {
		m.Notice = m.T.T(flash)
		m.OfferEndOthers = flash == "security.removed" || flash == "contact.email.changed" || flash == "contact.phone.changed"
	}
	return render(c, http.StatusOK, views.Security(m))
}

func (h *handler) securityModel(c echo.Context, uid string) (views.SecurityPage, error) {
	ctx := h.ctx(c)
	u, factors, err := h.accountFactors(c, uid)
	if err != nil {
		return views.SecurityPage{}, err
	}
	left, err := h.store.RecoveryCodesLeft(ctx, uid)
	if err != nil {
		return views.SecurityPage{}, err
	}
	events, err := h.store.Events(ctx, uid, 200)
	if err != nil {
		return views.SecurityPage{}, err
	}
	p := h.pageFor(c, u.Locale)
	approval, approvers, err := h.approvalSection(c)
	if err != nil {
		return views.SecurityPage{}, err
	}
	sessions, err := h.sessionViews(c, p.T, approvers)
	if err != nil {
		return views.SecurityPage{}, err
	}
	return views.SecurityPage{
		QRSignIn:     h.cfg.QRSignIn,
		Sessions:     sessions,
		Page:         p,
		State:        u.State,
		RetiredOn:    u.SMSRetiredAt,
		Factors:      h.factorViews(p.T, factors),
		RecoveryLeft: left,
		History:      h.historyEntries(p.T, events),
		Contact:      h.contactView(u),
		LockedSince:  u.ChangesLockedAt,
		CheckupDue:   u.CheckupDue(h.now()),
		Approval:     approval,
	}, nil
}

// contactView is the user's contact details and where their notices go (internal/notice).
func (h *handler) contactView(u campaign.User) views.ContactView {
	v := views.ContactView{Email: u.Email, Phone: phone.Mask(u.Phone), PhoneChangeable: h.app.Contacts.PhoneChangeable(u)}
	for _, ch := range securitynotice.Channels(u) {
		// Written as the section writes the address or number above it.
		v.NoticesTo, v.NoticesBySMS = ch.To, ch.Kind == store.OutboxSMS
		if v.NoticesBySMS {
			v.NoticesTo = ch.Masked()
		}
	}
	return v
}

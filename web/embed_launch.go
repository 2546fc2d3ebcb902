package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/partner"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/views"
)

// embedLaunch opens the journey of the user a partner's signed launch token names, inside the
// partner's frame: an embedded session for the user (ending the one this frame had), the user as
// the subject of the verification, and when the partner is trusted to have verified the user, the
// verification grant. A token works once, on any instance; a refused one says to start again
// from the partner's site.
func (h *handler) embedLaunch(c echo.Context) error {
	e := embedOf(c)
	l, err := h.app.Launches.Open(h.ctx(c), e.Partner.ID, c.QueryParam("token"))
	switch {
	case errors.Is(err, partner.ErrExpired), errors.Is(err, partner.ErrReplayed), errors.Is(err, partner.ErrInvalid),
		errors.Is(err, partner.ErrUnknownUser):
		h.log.Warn("partner launch refused", "partner", e.Partner.ID, "err", err, "request_id", requestID(c))
		return h.embedProblem(c, http.StatusForbidden, "launch")
	case err != nil:
		return err
	}
	if err := h.ident.PartnerOpened(h.ctx(c), l.UserID, l.Partner.ID, l.Partner.VerifiesIdentity, client(c)); err != nil {
		return err
	}
	old, _, err := h.loadSession(c, session.Embed)
	if err != nil {
		return err
	}
	_, token, err := h.app.Sessions.Start(h.ctx(c), session.Embed, l.UserID, nil, client(c), old)
	if err != nil {
		return err
	}
	ck := h.renewCookie(c)
	ck.Values[ckSession] = token
	ck.Values[ckPartner] = l.Partner.ID
	ck.Values[ckEmbedOrigin] = l.Origin
	setSubject(ck, identity.ForUser(l.UserID, true))
	if l.Partner.VerifiesIdentity {
		_, grant, err := h.app.Sessions.Grant(h.ctx(c), l.UserID, string(identity.MethodPartner), client(c))
		if err != nil {
			return err
		}
		ck.Values[ckGrant] = grant
	}
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return redirect(c, h.path(views.RouteEmbedNotice, l.Partner.ID))
}

// embedNotice is the user's notice inside the partner's frame. When the launch verified the
// user, it leads straight on to choosing a new method; for a user who retired SMS already, it
// tells the partner's page the journey is complete.
func (h *handler) embedNotice(c echo.Context) error {
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return err
	}
	m, err := h.noticeModel(c, u)
	if err != nil {
		return err
	}
	if m.Stage == views.StageRetired {
		factors, err := h.store.Factors(h.ctx(c), u.ID)
		if err != nil {
			return err
		}
		m.Page = embedCompleted(m.Page, factors)
	}
	if g, ok, err := h.currentGrant(c); err != nil {
		return err
	} else if ok && g.UserID == u.ID && g.Live(h.now()) {
		m.StartURL = m.URL(views.RouteVerifyDone)
	}
	return render(c, http.StatusOK, views.Notice(m))
}

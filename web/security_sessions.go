package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/views"
)

// sessionViews lists the user's live sessions, marking this one and those that approve sign-ins.
func (h *handler) sessionViews(c echo.Context, t *i18n.Translator, approvers map[string]bool) ([]views.SessionView, error) {
	current := sessionOf(c)
	live, err := h.app.Sessions.Active(h.ctx(c), session.User, current.Subject)
	if err != nil {
		return nil, err
	}
	out := make([]views.SessionView, 0, len(live))
	for _, s := range live {
		out = append(out, views.SessionView{ID: s.ID, Device: deviceName(t, s.UserAgent), IP: s.IP, Started: s.CreatedAt, LastSeen: s.LastSeenAt, Current: s.ID == current.ID,
			Via: s.Via, Approver: approvers[s.ID]})
	}
	return out, nil
}

// securitySessionEnd signs out one of the user's other sessions, at once on every instance.
func (h *handler) securitySessionEnd(c echo.Context) error {
	if _, err := h.app.Sessions.EndOne(h.ctx(c), session.User, userOf(c), c.FormValue("id"), client(c)); err != nil {
		return err
	}
	if err := h.flash(c, "security.sessions.ended"); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

// securitySessionsEndOthers signs out every session of the user but this one.
func (h *handler) securitySessionsEndOthers(c echo.Context) error {
	if _, err := h.app.Sessions.EndOthers(h.ctx(c), sessionOf(c), client(c)); err != nil {
		return err
	}
	if err := h.flash(c, "security.sessions.ended_others"); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

package web

import (
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/useragent"
	"github.com/smsretire/smsretire/views"
)

// sessionViews lists the user's live sessions, marking this one.
func (h *handler) sessionViews(c echo.Context, uid string) ([]views.SessionView, error) {
	current, _ := h.currentSession(c)
	rows, err := h.store.ActiveSessions(h.ctx(c), uid, h.now(), h.cfg.SessionIdle)
	if err != nil {
		return nil, err
	}
	out := make([]views.SessionView, 0, len(rows))
	for _, r := range rows {
		out = append(out, views.SessionView{ID: r.ID, Device: useragent.Describe(r.UserAgent), IP: r.IP, Started: r.CreatedAt, LastSeen: r.LastSeenAt, Current: r.ID == current.ID})
	}
	return out, nil
}

// securitySessionEnd signs out one of the user's other sessions, at once on every instance.
func (h *handler) securitySessionEnd(c echo.Context) error {
	uid, ok := h.signedInUser(c)
	if !ok {
		return h.needSignIn(c)
	}
	ended, err := h.store.EndSession(h.ctx(c), uid, c.FormValue("id"), h.now())
	if err != nil {
		return err
	}
	if ended {
		if err := h.sessionEvent(c, uid, "one"); err != nil {
			return err
		}
	}
	if err := h.flash(c, "security.sessions.ended"); err != nil {
		return err
	}
	return redirect(c, "/security")
}

// securitySessionsEndOthers signs out every session of the user but this one.
func (h *handler) securitySessionsEndOthers(c echo.Context) error {
	current, ok := h.currentSession(c)
	if !ok {
		return h.needSignIn(c)
	}
	n, err := h.store.EndOtherSessions(h.ctx(c), current.UserID, current.ID, h.now())
	if err != nil {
		return err
	}
	if n > 0 {
		if err := h.sessionEvent(c, current.UserID, "others"); err != nil {
			return err
		}
	}
	if err := h.flash(c, "security.sessions.ended_others"); err != nil {
		return err
	}
	return redirect(c, "/security")
}

func (h *handler) sessionEvent(c echo.Context, uid, which string) error {
	return h.store.AppendEvent(h.ctx(c), campaign.Event{UserID: uid, Type: "session.ended", Detail: map[string]string{"which": which},
		IP: c.RealIP(), UserAgent: c.Request().UserAgent(), CreatedAt: h.now()})
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// consoleDashboard shows the campaign at a glance: users by state and by method, SMS
// retirements per day as a chart drawn by the server (and as a table), users past the deadline,
// messages given up and locked accounts.
func (h *handler) consoleDashboard(c echo.Context) error {
	d, err := h.app.Support.Dashboard(h.ctx(c), staffOf(c))
	if err != nil {
		return consoleFailure(err)
	}
	m := views.ConsoleDashboardPage{ConsoleContext: h.consoleContext(c, "dashboard"), At: d.At, Users: d.Users, PastDeadline: d.PastDeadline, Locked: d.Locked}
	t := m.T
	for _, s := range d.ByState {
		m.ByState = append(m.ByState, views.ConsoleCount{Key: s.Key, Label: t.T("console.state." + s.Key), N: s.N})
	}
	for _, f := range d.ByFactor {
		m.ByFactor = append(m.ByFactor, views.ConsoleCount{Key: f.Key, Label: t.T("factor.kind." + f.Key), N: f.N})
	}
	for _, f := range d.Failed {
		m.Failed = append(m.Failed, views.ConsoleCount{Key: f.Key, Label: t.T("console.channel." + f.Key), N: f.N})
	}
	for _, day := range d.PerDay {
		m.PerDay = append(m.PerDay, views.ConsoleCount{Key: day.Date.String(), Label: m.Date(day.Date), N: day.N})
	}
	m.Chart = views.NewBarChart(m.PerDay, 720, 200, func(c views.ConsoleCount) string {
		return t.Tf("console.dashboard.bar", map[string]any{"Day": c.Label, "N": c.N})
	})
	return render(c, http.StatusOK, views.ConsoleDashboard(m))
}

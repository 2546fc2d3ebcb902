package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/device"
	"github.com/smsretire/smsretire/views"
)

// privacyShow renders the privacy notice with this deployment's retention periods.
func (h *handler) privacyShow(c echo.Context) error {
	return render(c, http.StatusOK, views.Privacy(views.PrivacyPage{
		Page:         h.page(c),
		Service:      h.cfg.ServiceName,
		HistoryDays:  days(h.cfg.HistoryRetention.Hours()),
		OutboxDays:   days(h.cfg.OutboxRetention.Hours()),
		SessionHours: int(h.cfg.SessionMaxAge.Hours()),
		DeviceDays:   days(device.Lifetime.Hours()),
	}))
}

// days rounds a number of hours up to whole days.
func days(hours float64) int { return int((hours + 23) / 24) }

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// enrollChoose shows the replacement methods side by side.
func (h *handler) enrollChoose(c echo.Context) error {
	uid, ok := h.enrollUser(c)
	if !ok {
		return h.needVerify(c)
	}
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return err
	}
	factors, err := h.store.Factors(h.ctx(c), uid)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EnrollChoose(views.EnrollChoosePage{
		Page:              h.pageFor(c, u.Locale),
		Have:              factorViews(factors),
		EmailAllowed:      h.cfg.EmailFactor != "off",
		EmailRecoveryOnly: h.cfg.EmailFactor == "recovery-only",
	}))
}

// factorViews turns stored factors into what the pages show.
func factorViews(fs []store.Factor) []views.FactorView {
	out := make([]views.FactorView, 0, len(fs))
	for _, f := range fs {
		v := views.FactorView{ID: f.ID, Kind: f.Kind, Name: f.Name, Created: f.CreatedAt, LastUsed: f.LastUsedAt, Flagged: f.Flagged}
		if f.Kind == store.FactorEmail {
			v.Detail = f.Email
		}
		out = append(out, v)
	}
	return out
}

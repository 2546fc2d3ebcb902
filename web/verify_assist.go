package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// verifyAssistShow renders the assist code form.
func (h *handler) verifyAssistShow(c echo.Context) error {
	p, err := h.subjectPage(c, subjectOf(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.VerifyAssist(views.VerifyAssistPage{Page: p, Way: h.verifyWay(p)}))
}

// verifyAssistCheck redeems an assist code that support staff issued.
func (h *handler) verifyAssistCheck(c echo.Context) error {
	sub := subjectOf(c)
	p, err := h.subjectPage(c, sub)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(c.FormValue("code"))
	u, err := h.ident.CheckAssist(h.ctx(c), sub, code, client(c))
	if err != nil {
		msg, status, ok := h.verifyMessage(p, err, wayAssist)
		if !ok {
			return err
		}
		if blocking(err) {
			return render(c, status, views.VerifyAssist(views.VerifyAssistPage{Page: p, Way: h.verifyWay(p), Blocked: msg}))
		}
		return render(c, status, views.VerifyAssist(views.VerifyAssistPage{Page: p, Way: h.verifyWay(p), Form: views.CodeForm{Errors: views.Errors{{Field: "code", Message: msg}}}}))
	}
	if err := h.startVerified(c, u.ID, identity.MethodAssist); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyDone)
}

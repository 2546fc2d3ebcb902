package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// enrollRecoveryShow shows the new recovery codes until the user says they saved them.
func (h *handler) enrollRecoveryShow(c echo.Context) error {
	ck := h.cookie(c)
	p, err := h.accountPage(c, userOf(c))
	if err != nil {
		return err
	}
	next := p.URL(views.RouteEnrollDone)
	way := views.Way{Step: views.StepRecovery, Back: views.Link{Href: p.URL(views.RouteEnrollChoose), Text: p.T.T("enroll.back_to_list")}}
	if _, signedIn, _ := h.currentSession(c); signedIn && stringValue(ck.Values[ckEnrollResult]) == "" {
		next = h.path(views.RouteSecurityShow) // new codes asked for on My security
		way = views.Way{Back: h.securityBack(p)}
	}
	return render(c, http.StatusOK, views.EnrollRecovery(views.EnrollRecoveryPage{Page: p, Way: way, Codes: recoveryCodes(ck), NextURL: next}))
}

// enrollRecoveryText downloads the recovery codes as a text file.
func (h *handler) enrollRecoveryText(c echo.Context) error {
	codes := recoveryCodes(h.cookie(c))
	if len(codes) == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	p, err := h.accountPage(c, userOf(c))
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(p.T.Tf("enroll.recovery.file_title", map[string]any{"Service": h.cfg.ServiceName}) + "\r\n\r\n")
	for _, code := range codes {
		b.WriteString(code + "\r\n")
	}
	b.WriteString("\r\n" + p.T.T("enroll.recovery.file_note") + "\r\n")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="recovery-codes.txt"`)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}

// enrollRecoveryDone forgets the codes, which are never shown again, and moves on.
func (h *handler) enrollRecoveryDone(c echo.Context) error {
	ck := h.cookie(c)
	delete(ck.Values, ckRecoveryCodes)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return redirect(c, localPath(c.FormValue("next")))
}

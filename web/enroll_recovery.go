package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// enrollRecoveryShow shows the new recovery codes until the user says they saved them.
func (h *handler) enrollRecoveryShow(c echo.Context) error {
	sess := h.session(c)
	uid, ok := h.enrollUser(c)
	if !ok {
		return h.needVerify(c)
	}
	p, err := h.accountPage(c, uid)
	if err != nil {
		return err
	}
	next := "/enroll/done"
	if _, signedIn := h.signedInUser(c); signedIn && stringValue(sess.Values[sessEnrollResult]) == "" {
		next = "/security"
	}
	return render(c, http.StatusOK, views.EnrollRecovery(views.EnrollRecoveryPage{Page: p, Codes: recoveryCodes(sess), NextURL: next}))
}

// enrollRecoveryText downloads the recovery codes as a text file.
func (h *handler) enrollRecoveryText(c echo.Context) error {
	sess := h.session(c)
	uid, ok := h.enrollUser(c)
	if !ok {
		return h.needVerify(c)
	}
	codes := recoveryCodes(sess)
	if len(codes) == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	p, err := h.accountPage(c, uid)
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
	sess := h.session(c)
	if _, ok := h.enrollUser(c); !ok {
		return h.needVerify(c)
	}
	delete(sess.Values, sessRecoveryCodes)
	if err := h.saveSession(c, sess); err != nil {
		return err
	}
	return redirect(c, localPath(c.FormValue("next")))
}

// accountPage is the page context in the account's language, unless the person chose one with
// the language switch, so that every page of enrollment speaks as the notice did.
func (h *handler) accountPage(c echo.Context, uid string) (views.Page, error) {
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return views.Page{}, err
	}
	return h.pageFor(c, u.Locale), nil
}

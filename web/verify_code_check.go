package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// verifyCodeCheck checks the code; on success the session is renewed and holds the verified user.
func (h *handler) verifyCodeCheck(c echo.Context) error {
	sub := subjectOf(c)
	ch, ok := identity.ParseChannel(stringValue(h.cookie(c).Values[ckChannel]))
	if !ok {
		return h.redirectTo(c, views.RouteVerifyChoose)
	}
	p, err := h.subjectPage(c, sub)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return h.codeFormError(c, ch, code, p.T.T("verify.err.code_required"), http.StatusUnprocessableEntity)
	}
	u, err := h.ident.CheckCode(h.ctx(c), sub, ch, code, client(c))
	if err != nil {
		msg, status, ok := h.verifyMessage(p, err, string(ch))
		if !ok {
			return err
		}
		if blocking(err) {
			return h.codeFormBlocked(c, ch, msg, status)
		}
		return h.codeFormError(c, ch, code, msg, status)
	}
	if err := h.startVerified(c, u.ID, ch); err != nil {
		return err
	}
	return redirect(c, h.afterVerified(c, ch))
}

// codeFormError re-renders the code form with its message: the whole page, or for htmx only
// the form, which htmx swaps in place.
func (h *handler) codeFormError(c echo.Context, ch identity.Method, code, msg string, status int) error {
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	m.Form = views.CodeForm{Code: code, Errors: views.Errors{{Field: "code", Message: msg}}}
	if m.HTMX {
		return render(c, status, views.VerifyCodeForm(m))
	}
	return render(c, status, views.VerifyCode(m))
}

// codeFormBlocked re-renders the code form saying the way is paused, as news above the form.
func (h *handler) codeFormBlocked(c echo.Context, ch identity.Method, msg string, status int) error {
	m, err := h.codeModel(c, ch)
	if err != nil {
		return err
	}
	m.Blocked = msg
	if m.HTMX {
		return render(c, status, views.VerifyCodeForm(m))
	}
	return render(c, status, views.VerifyCode(m))
}

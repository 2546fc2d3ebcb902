package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// accountFind reads the account look-up form from the home page.
func (h *handler) accountFind(c echo.Context) error {
	p := h.page(c)
	form := views.FindForm{Account: strings.TrimSpace(c.FormValue("account"))}
	if msg := validateAccount(form.Account); msg != "" {
		form.Errors = views.Errors{{Field: "account", Message: p.T.T(msg)}}
		return render(c, http.StatusUnprocessableEntity, views.Home(views.HomePage{Page: p, Find: form}))
	}
	sub, err := h.ident.Find(h.ctx(c), form.Account)
	if err != nil {
		return err
	}
	ck := h.cookie(c)
	setSubject(ck, sub)
	delete(ck.Values, ckNoticeToken) // a look-up leads back home, not to a notice
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteVerifyChoose)
}

// validateAccount returns a message key when the input cannot be a phone number or account ID.
func validateAccount(s string) string {
	if s == "" {
		return "home.find.required"
	}
	if !utf8.ValidString(s) || len(s) > 64 || strings.ContainsAny(s, "\x00\r\n<>\"'") {
		return "home.find.invalid"
	}
	return ""
}

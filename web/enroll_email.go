package web

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// enrollEmailShow asks for the address of an email factor, or for the code sent to it.
func (h *handler) enrollEmailShow(c echo.Context) error {
	ck := h.cookie(c)
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	m := views.EnrollEmailPage{Page: p, Way: h.enrollWay(c, views.StepEnroll, h.chooseBack(p), h.chooseBack(p)), Email: u.Email}
	if pending := stringValue(ck.Values[ckEnrollEmail]); pending != "" {
		m.Email, m.CodeSent = pending, true
	}
	return render(c, http.StatusOK, views.EnrollEmail(m))
}

// enrollEmailSend sends a confirmation code to the address the user gave.
func (h *handler) enrollEmailSend(c echo.Context) error {
	ck := h.cookie(c)
	uid := userOf(c)
	p, err := h.accountPage(c, uid)
	if err != nil {
		return err
	}
	m := views.EnrollEmailPage{Page: p, Way: h.enrollWay(c, views.StepEnroll, h.chooseBack(p), h.chooseBack(p)), Email: strings.TrimSpace(c.FormValue("email"))}
	address, msg := validateEmail(m.Email)
	if msg != "" {
		m.Errors = views.Errors{{Field: "email", Message: p.T.T(msg)}}
		return render(c, http.StatusUnprocessableEntity, views.EnrollEmail(m))
	}
	if _, err := h.ident.SendEnrollEmailCode(h.ctx(c), uid, address, client(c)); err != nil {
		var wait identity.ErrResendWait
		if errors.As(err, &wait) && stringValue(ck.Values[ckEnrollEmail]) == address {
			return h.redirectTo(c, views.RouteEnrollEmailShow)
		}
		text, status, ok := h.verifyMessage(p, err, wayEnrollEmail)
		if !ok {
			return err
		}
		if blocking(err) {
			m.Blocked = text
		} else {
			m.Errors = views.Errors{{Field: "email", Message: text}}
		}
		return render(c, status, views.EnrollEmail(m))
	}
	ck.Values[ckEnrollEmail] = address
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteEnrollEmailShow)
}

// enrollEmailConfirm checks the code and adds the email factor; the code is used up in the same
// transaction, so a double submit adds one factor.
func (h *handler) enrollEmailConfirm(c echo.Context) error {
	ck := h.cookie(c)
	uid := userOf(c)
	address := stringValue(ck.Values[ckEnrollEmail])
	if address == "" {
		return h.redirectTo(c, views.RouteEnrollEmailShow)
	}
	p, err := h.accountPage(c, uid)
	if err != nil {
		return err
	}
	m := views.EnrollEmailPage{Page: p, Way: h.enrollWay(c, views.StepEnroll, h.chooseBack(p), h.chooseBack(p)), Email: address, CodeSent: true}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		m.Errors = views.Errors{{Field: "code", Message: p.T.T("verify.err.code_required")}}
		return render(c, http.StatusUnprocessableEntity, views.EnrollEmail(m))
	}
	matched, err := h.ident.MatchEnrollEmailCode(h.ctx(c), uid, code, client(c))
	if err == nil && matched.Target != address {
		err = identity.ErrCodeExpired
	}
	if err != nil {
		text, status, ok := h.verifyMessage(p, err, wayEnrollEmail)
		if !ok {
			return err
		}
		if blocking(err) {
			m.Blocked = text
		} else {
			m.Errors = views.Errors{{Field: "code", Message: text}}
		}
		return render(c, status, views.EnrollEmail(m))
	}
	f := store.Factor{Kind: store.FactorEmail, Email: address, Name: address}
	added, err := h.enroll.Add(h.ctx(c), uid, f, client(c), func(tx *store.Tx) error { return matched.Consume(h.ctx(c), tx, h.now()) })
	switch {
	case errors.Is(err, identity.ErrCodeExpired):
		return h.redirectTo(c, views.RouteEnrollDone) // a double submit: the first one added it
	case errors.Is(err, enroll.ErrDuplicate):
		m.CodeSent = false
		m.Errors = views.Errors{{Field: "email", Message: p.T.T("enroll.email_page.duplicate")}}
		delete(ck.Values, ckEnrollEmail)
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.EnrollEmail(m))
	case err != nil:
		return err
	}
	delete(ck.Values, ckEnrollEmail)
	return h.enrolled(c, ck, added)
}

// enrollEmailReset forgets the address in progress, to enter another.
func (h *handler) enrollEmailReset(c echo.Context) error {
	ck := h.cookie(c)
	delete(ck.Values, ckEnrollEmail)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteEnrollEmailShow)
}

// validateEmail returns the address in canonical form, or a message key.
func validateEmail(s string) (string, string) {
	if s == "" {
		return "", "enroll.email_page.required"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", "enroll.email_page.invalid"
	}
	return strings.ToLower(s), ""
}

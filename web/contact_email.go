package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/contact"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// contactEmailShow asks for a new email address, or for the code sent to it.
func (h *handler) contactEmailShow(c echo.Context) error {
	m, err := h.contactEmailModel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ContactEmail(m))
}

func (h *handler) contactEmailModel(c echo.Context) (views.ContactEmailPage, error) {
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return views.ContactEmailPage{}, err
	}
	m := views.ContactEmailPage{Page: h.pageFor(c, u.Locale), Current: u.Email}
	if pending := stringValue(h.cookie(c).Values[ckContactEmail]); pending != "" {
		m.Email, m.CodeSent = pending, true
	}
	return m, nil
}

// contactEmailSend sends a code to the new address the user typed.
func (h *handler) contactEmailSend(c echo.Context) error {
	m, err := h.contactEmailModel(c)
	if err != nil {
		return err
	}
	m.CodeSent, m.Email = false, strings.TrimSpace(c.FormValue("email"))
	address, key := validateEmail(m.Email)
	if key != "" {
		return h.contactEmailError(c, m, "email", m.T.T(key))
	}
	ck := h.cookie(c)
	_, err = h.app.Contacts.SendEmailCode(h.ctx(c), userOf(c), address, client(c))
	var wait identity.ErrResendWait
	switch {
	case errors.As(err, &wait) && stringValue(ck.Values[ckContactEmail]) == address:
		return h.redirectTo(c, views.RouteSecurityEmailShow) // the code is on its way already
	case errors.Is(err, contact.ErrSame):
		return h.contactEmailError(c, m, "email", m.T.T("contact.email.same"))
	case err != nil:
		text, status, ok := h.verifyMessage(m.Page, err, wayContactEmail)
		if !ok {
			return err
		}
		m.Errors = views.Errors{{Field: "email", Message: text}}
		return render(c, status, views.ContactEmail(m))
	}
	ck.Values[ckContactEmail] = address
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityEmailShow)
}

// contactEmailConfirm checks the code and makes the new address the registered one.
func (h *handler) contactEmailConfirm(c echo.Context) error {
	m, err := h.contactEmailModel(c)
	if err != nil {
		return err
	}
	if !m.CodeSent {
		return h.redirectTo(c, views.RouteSecurityEmailShow)
	}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return h.contactEmailError(c, m, "code", m.T.T("verify.err.code_required"))
	}
	_, err = h.app.Contacts.ChangeEmail(h.ctx(c), userOf(c), code, client(c))
	if errors.Is(err, contact.ErrSame) {
		err = nil // a double submit: the first one changed it
	}
	if err != nil {
		text, status, ok := h.verifyMessage(m.Page, err, wayContactEmail)
		if !ok {
			return err
		}
		m.Errors = views.Errors{{Field: "code", Message: text}}
		return render(c, status, views.ContactEmail(m))
	}
	return h.contactDone(c, ckContactEmail, "contact.email.changed")
}

// contactEmailReset forgets the address in progress, to type another.
func (h *handler) contactEmailReset(c echo.Context) error {
	ck := h.cookie(c)
	delete(ck.Values, ckContactEmail)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityEmailShow)
}

func (h *handler) contactEmailError(c echo.Context, m views.ContactEmailPage, field, msg string) error {
	m.Errors = views.Errors{{Field: field, Message: msg}}
	return render(c, http.StatusUnprocessableEntity, views.ContactEmail(m))
}

// contactDone forgets the value in progress and goes back to My security, which says what changed.
func (h *handler) contactDone(c echo.Context, pending, flash string) error {
	ck := h.cookie(c)
	delete(ck.Values, pending)
	ck.AddFlash(flash, flashNotice)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

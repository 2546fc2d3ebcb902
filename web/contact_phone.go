package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/contact"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/views"
)

// contactPhoneShow asks for a new phone number, or for the code sent to it; once text messages no
// longer carry codes for the user, it says that support changes the number.
func (h *handler) contactPhoneShow(c echo.Context) error {
	m, err := h.contactPhoneModel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ContactPhone(m))
}

func (h *handler) contactPhoneModel(c echo.Context) (views.ContactPhonePage, error) {
	u, err := h.store.UserByID(h.ctx(c), userOf(c))
	if err != nil {
		return views.ContactPhonePage{}, err
	}
	m := views.ContactPhonePage{Page: h.pageFor(c, u.Locale), Current: phone.Mask(u.Phone), Changeable: h.app.Contacts.PhoneChangeable(u)}
	if pending := stringValue(h.cookie(c).Values[ckContactPhone]); pending != "" && m.Changeable {
		m.Phone, m.CodeSent = phone.Mask(pending), true
	}
	return m, nil
}

// contactPhoneSend sends a code by text message to the new number the user typed.
func (h *handler) contactPhoneSend(c echo.Context) error {
	m, err := h.contactPhoneModel(c)
	if err != nil {
		return err
	}
	input := strings.TrimSpace(c.FormValue("phone"))
	m.CodeSent, m.Phone = false, input
	if input == "" {
		return h.contactPhoneError(c, m, "phone", m.T.T("contact.phone.required"))
	}
	if len(input) > 32 {
		return h.contactPhoneError(c, m, "phone", m.T.T("contact.phone.invalid"))
	}
	ck := h.cookie(c)
	_, e164, err := h.app.Contacts.SendPhoneCode(h.ctx(c), userOf(c), input, client(c))
	var wait identity.ErrResendWait
	switch {
	case errors.As(err, &wait) && stringValue(ck.Values[ckContactPhone]) == e164:
		return h.redirectTo(c, views.RouteSecurityPhoneShow)
	case errors.Is(err, contact.ErrPhoneInvalid):
		return h.contactPhoneError(c, m, "phone", m.T.T("contact.phone.invalid"))
	case errors.Is(err, contact.ErrSame):
		return h.contactPhoneError(c, m, "phone", m.T.T("contact.phone.same"))
	case errors.Is(err, contact.ErrPhoneClosed):
		m.Changeable = false
		return render(c, http.StatusUnprocessableEntity, views.ContactPhone(m))
	case err != nil:
		text, status, ok := h.verifyMessage(m.Page, err, wayContactPhone)
		if !ok {
			return err
		}
		m.Errors = views.Errors{{Field: "phone", Message: text}}
		return render(c, status, views.ContactPhone(m))
	}
	ck.Values[ckContactPhone] = e164
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityPhoneShow)
}

// contactPhoneConfirm checks the code and makes the new number the registered one.
func (h *handler) contactPhoneConfirm(c echo.Context) error {
	m, err := h.contactPhoneModel(c)
	if err != nil {
		return err
	}
	if !m.CodeSent {
		return h.redirectTo(c, views.RouteSecurityPhoneShow)
	}
	code := strings.TrimSpace(c.FormValue("code"))
	if code == "" {
		return h.contactPhoneError(c, m, "code", m.T.T("verify.err.code_required"))
	}
	_, err = h.app.Contacts.ChangePhone(h.ctx(c), userOf(c), code, client(c))
	switch {
	case errors.Is(err, contact.ErrSame):
		err = nil // a double submit: the first one changed it
	case errors.Is(err, contact.ErrPhoneClosed):
		m.Changeable, m.CodeSent = false, false
		return render(c, http.StatusUnprocessableEntity, views.ContactPhone(m))
	}
	if err != nil {
		text, status, ok := h.verifyMessage(m.Page, err, wayContactPhone)
		if !ok {
			return err
		}
		m.Errors = views.Errors{{Field: "code", Message: text}}
		return render(c, status, views.ContactPhone(m))
	}
	return h.contactDone(c, ckContactPhone, "contact.phone.changed")
}

// contactPhoneReset forgets the number in progress, to type another.
func (h *handler) contactPhoneReset(c echo.Context) error {
	ck := h.cookie(c)
	delete(ck.Values, ckContactPhone)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityPhoneShow)
}

func (h *handler) contactPhoneError(c echo.Context, m views.ContactPhonePage, field, msg string) error {
	m.Errors = views.Errors{{Field: field, Message: msg}}
	return render(c, http.StatusUnprocessableEntity, views.ContactPhone(m))
}

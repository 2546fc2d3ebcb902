package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// page returns the request's page context.
func (h *handler) page(c echo.Context) views.Page {
	p, ok := c.Get(pageKey).(views.Page)
	if !ok {
		return views.Page{T: h.cat.For(i18n.Chinese), Paths: h.path, AssetVersion: h.assetVersion, Location: h.loc, Now: h.now()}
	}
	return p
}

// pageFor returns the page context in a user's roster language when the browser made no choice.
func (h *handler) pageFor(c echo.Context, userLocale string) views.Page {
	p := h.page(c)
	if _, err := c.Request().Cookie(langCookie); errors.Is(err, http.ErrNoCookie) {
		if l := i18n.Supported(userLocale); l != "" {
			p.T = h.cat.For(l)
		}
	}
	return p
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

// subjectPage is the page context of a verification step. When a signed link or a passed
// knowledge check identified the account and the browser made no choice, it is in the account's
// roster language, as the method list and the code form are, so one verification speaks one
// language throughout; a look-up, which may name anyone, keeps the browser's.
func (h *handler) subjectPage(c echo.Context, sub identity.Subject) (views.Page, error) {
	if !sub.Identified || sub.UserID == "" {
		return h.page(c), nil
	}
	return h.accountPage(c, sub.UserID)
}

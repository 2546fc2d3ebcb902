package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// securityFactorRename renames one of the signed-in user's factors.
func (h *handler) securityFactorRename(c echo.Context) error {
	uid := userOf(c)
	f, err := h.ownFactor(c, uid)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if msg := validateFactorName(name); msg != "" {
		return h.securityError(c, uid, f.ID, "name-"+strconv.FormatInt(f.ID, 10), msg)
	}
	if err := h.enroll.Rename(h.ctx(c), uid, f.ID, name, client(c)); err != nil {
		return err
	}
	if err := h.flash(c, "security.renamed"); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

// securityFactorRemove removes a factor after the user typed its name; never the last one.
func (h *handler) securityFactorRemove(c echo.Context) error {
	uid := userOf(c)
	f, err := h.ownFactor(c, uid)
	if err != nil {
		return err
	}
	field := "confirm-" + strconv.FormatInt(f.ID, 10)
	if !h.namesFactor(f, strings.TrimSpace(c.FormValue("confirm"))) {
		return h.securityError(c, uid, f.ID, field, "security.err.confirm_mismatch")
	}
	err = h.enroll.Remove(h.ctx(c), uid, f, client(c))
	if errors.Is(err, store.ErrLastFactor) {
		return h.securityError(c, uid, f.ID, field, "security.last_factor")
	}
	if errors.Is(err, store.ErrNotFound) {
		return h.redirectTo(c, views.RouteSecurityShow) // removed by a double submit already
	}
	if err != nil {
		return err
	}
	if err := h.flash(c, "security.removed"); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSecurityShow)
}

// ownFactor reads the factor named in the URL, which must belong to the user.
func (h *handler) ownFactor(c echo.Context, uid string) (store.Factor, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.Factor{}, echo.NewHTTPError(http.StatusNotFound)
	}
	f, err := h.store.Factor(h.ctx(c), uid, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, echo.NewHTTPError(http.StatusNotFound)
	}
	return f, err
}

// namesFactor reports whether typed is the factor's name as the page showed it: its stored name,
// or for a default name its kind, in either language.
func (h *handler) namesFactor(f store.Factor, typed string) bool {
	if typed == f.Name {
		return true
	}
	if !h.defaultFactorName(f) {
		return false
	}
	for _, lang := range i18n.Languages {
		if typed == h.cat.For(lang).T("factor.kind."+f.Kind) {
			return true
		}
	}
	return false
}

func (h *handler) securityError(c echo.Context, uid string, factorID int64, field, key string) error {
	m, err := h.securityModel(c, uid)
	if err != nil {
		return err
	}
	m.Errors = views.Errors{{Field: field, Message: m.T.T(key)}}
	m.ErrorFactorID = factorID
	return render(c, http.StatusUnprocessableEntity, views.Security(m))
}

// validateFactorName returns a message key when a factor name is empty, too long or unprintable.
func validateFactorName(s string) string {
	if s == "" {
		return "security.err.name_required"
	}
	if utf8.RuneCountInString(s) > 40 {
		return "security.err.name_too_long"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "security.err.name_required"
		}
	}
	return ""
}

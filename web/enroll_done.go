package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/views"
)

// enrolled finishes a successful enrollment: the first factor leads through the recovery codes
// to the confirmation; a later one straight to the confirmation.
func (h *handler) enrolled(c echo.Context, ck *sessions.Session, added enroll.Added) error {
	if err := h.enrolledState(c, ck, added); err != nil {
		return err
	}
	return h.redirectTo(c, h.enrolledRoute(added))
}

// enrolledState remembers the result for the confirmation page, and new recovery codes.
func (h *handler) enrolledState(c echo.Context, ck *sessions.Session, added enroll.Added) error {
	result := "added:" + strconv.FormatInt(added.Factor.ID, 10)
	if added.First {
		result = "first:" + strconv.FormatInt(added.Factor.ID, 10)
		setRecoveryCodes(ck, added.RecoveryCodes)
	}
	ck.Values[ckEnrollResult] = result
	return h.saveCookie(c, ck)
}

// enrolledRoute is where the user goes after adding a factor.
func (h *handler) enrolledRoute(added enroll.Added) string {
	if added.First {
		return views.RouteEnrollRecoveryShow
	}
	return views.RouteEnrollDone
}

// enrollDone confirms what changed.
func (h *handler) enrollDone(c echo.Context) error {
	uid := userOf(c)
	kind, idText, _ := strings.Cut(stringValue(h.cookie(c).Values[ckEnrollResult]), ":")
	id, _ := strconv.ParseInt(idText, 10, 64)
	u, factors, err := h.accountFactors(c, uid)
	if err != nil {
		return err
	}
	if len(factors) == 0 {
		return h.redirectTo(c, views.RouteEnrollChoose)
	}
	p := embedCompleted(h.pageFor(c, u.Locale), factors)
	m := views.EnrollDonePage{Page: p, First: kind == "first" || kind == "", RetiredOn: u.SMSRetiredAt,
		Factors: h.factorViews(p.T, factors), EmailSent: u.Email != ""}
	if m.First {
		m.Way = h.enrollWay(c, views.StepConfirm, views.Link{}, views.Link{})
	}
	for _, f := range m.Factors {
		if f.ID == id {
			m.AddedName = f.Title
		}
	}
	return render(c, http.StatusOK, views.EnrollDone(m))
}

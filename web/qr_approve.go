package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/qrsignin"
	"github.com/smsretire/smsretire/views"
)

// The phone's side of a QR code sign-in (internal/qrsignin): BASE_URL/qr/{id}, opened by the
// phone's camera in the browser where the user is signed in. Opening it changes nothing (link
// previewers open URLs too); the user continues (claims the code, so no other phone can), sees
// what is asking and approves or refuses with forms tied to this session.

// requireQRApprover lets through a user signed in on this browser with a factor within
// qrsignin.ApproverFresh; anyone else — signed out, signed in longer ago, or signed in by an
// approval itself, which must not chain — signs in (again) first and comes back to the code. An id
// not of the form of one is no page at all.
func (h *handler) requireQRApprover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if !qrsignin.WellFormed(id) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		ss, ok, err := h.currentSession(c)
		if err != nil {
			return err
		}
		back := h.path(views.RouteQRShow, id)
		if !ok {
			return redirect(c, h.path(views.RouteSignInShow)+"?next="+url.QueryEscape(back))
		}
		if ss.Via != "" || h.now().Sub(ss.AuthAt) > qrsignin.ApproverFresh {
			return h.stepUp(c, back)
		}
		c.Set(ctxUser, ss.Subject)
		c.Set(ctxSession, ss)
		return next(c)
	}
}

// qrShow shows the phone what the code asks and where it stands. It changes nothing.
func (h *handler) qrShow(c echo.Context) error {
	m, err := h.qrModel(c)
	if err != nil {
		return err
	}
	if flash := h.takeFlash(c); flash != "" {
		m.Notice = m.T.T(flash)
	}
	return render(c, http.StatusOK, views.QRApprove(m))
}

// qrModel builds the phone's page of the code in the URL.
func (h *handler) qrModel(c echo.Context) (views.QRApprovePage, error) {
	id, ss := c.Param("id"), sessionOf(c)
	m := views.QRApprovePage{Page: h.page(c), ID: id, Back: views.Link{Href: h.path(views.RouteSecurityShow), Text: h.page(c).T.T("qr.phone.back")}}
	code, err := h.app.QRSignIn.Look(h.ctx(c), id)
	if errors.Is(err, qrsignin.ErrNotFound) {
		m.State = "none"
		return m, nil
	}
	if err != nil {
		return m, err
	}
	m.State = string(code.State)
	m.Mine = code.ClaimedBy == ss.ID
	m.Asking = approvalContextView(m.Page, code.Asking)
	m.Until = code.Until
	if m.Mine {
		m.Token = h.app.QRSignIn.FormToken(ss.ID, id)
	}
	return m, nil
}

// qrClaim takes the code for this phone: the first scanner wins, and the computer hides it.
func (h *handler) qrClaim(c echo.Context) error {
	err := h.app.QRSignIn.Claim(h.ctx(c), c.Param("id"), userOf(c), sessionOf(c).ID, client(c))
	if err != nil {
		return h.qrProblem(c, err)
	}
	return redirect(c, h.path(views.RouteQRShow, c.Param("id")))
}

// qrApprove lets the computer in, from the form this session was given.
func (h *handler) qrApprove(c echo.Context) error {
	err := h.app.QRSignIn.Approve(h.ctx(c), c.Param("id"), userOf(c), sessionOf(c).ID, c.FormValue("token"), client(c))
	if err != nil {
		return h.qrProblem(c, err)
	}
	if err := h.flash(c, "qr.phone.approved_notice"); err != nil {
		return err
	}
	return redirect(c, h.path(views.RouteQRShow, c.Param("id")))
}

// qrDeny refuses the computer; "this wasn't me" says the user did not start it.
func (h *handler) qrDeny(c echo.Context) error {
	notMe := c.FormValue("not_me") != ""
	err := h.app.QRSignIn.Deny(h.ctx(c), c.Param("id"), userOf(c), sessionOf(c).ID, c.FormValue("token"), notMe, client(c))
	if err != nil {
		return h.qrProblem(c, err)
	}
	msg := "qr.phone.denied_notice"
	if notMe {
		msg = "qr.phone.not_me_notice"
	}
	if err := h.flash(c, msg); err != nil {
		return err
	}
	return redirect(c, h.path(views.RouteQRShow, c.Param("id")))
}

// qrProblem answers a step that did not happen with the code's page and what went wrong.
func (h *handler) qrProblem(c echo.Context, err error) error {
	status, key := http.StatusConflict, ""
	switch {
	case errors.Is(err, qrsignin.ErrTaken):
		key = "qr.phone.err.taken"
	case errors.Is(err, qrsignin.ErrGone), errors.Is(err, qrsignin.ErrNotFound):
		key = "qr.phone.err.gone"
	case errors.Is(err, qrsignin.ErrBusy):
		status, key = http.StatusTooManyRequests, "qr.phone.err.busy"
	case errors.Is(err, qrsignin.ErrTooManyApproval):
		status, key = http.StatusTooManyRequests, "qr.phone.err.too_many"
	case errors.Is(err, qrsignin.ErrForged):
		status, key = http.StatusForbidden, "qr.phone.err.forged"
	default:
		return err
	}
	m, err := h.qrModel(c)
	if err != nil {
		return err
	}
	m.Problem = m.T.T(key)
	return render(c, status, views.QRApprove(m))
}

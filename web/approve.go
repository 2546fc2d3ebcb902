package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/views"
)

// ckApprover marks, in the signed and encrypted cookie, a browser whose session approves sign-ins,
// so that its pages poll for requests without asking the database on every page; the poll itself
// checks the session.
const ckApprover = "approver"

// approverBrowser reports whether this browser enrolled its session as an approver (the cookie's
// mark); static files never ask.
func (h *handler) approverBrowser(c echo.Context) bool {
	if strings.HasPrefix(c.Request().URL.Path, "/static/") {
		return false
	}
	v, _ := h.cookie(c).Values[ckApprover].(bool)
	return v
}

// asking describes what asks for a sign-in (approval.Context), in the page language.
func asking(p views.Page, r approval.Request) views.ApprovalContext {
	return approvalContextView(p, approval.ContextOf(audit.Client{IP: r.IP, UserAgent: r.UserAgent}, r.CreatedAt))
}

// approvePending answers the poll of every page of an approver: the requests waiting, an empty
// answer when there are none (so one answered elsewhere disappears). Two small queries.
func (h *handler) approvePending(c echo.Context) error {
	ss, ok, err := h.currentSession(c)
	if err != nil {
		return err
	}
	if !ok { // signed out since the page was served: nothing to show
		return c.NoContent(http.StatusNoContent)
	}
	reqs, err := h.app.Approvals.Pending(h.ctx(c), ss.Subject, ss.ID)
	if err != nil {
		return err
	}
	m := views.ApprovalInbox{Page: h.page(c)}
	for _, r := range reqs {
		m.Requests = append(m.Requests, views.ApprovalWaiting{ID: r.ID, Asking: asking(m.Page, r)})
	}
	return render(c, http.StatusOK, views.ApprovalInboxList(m))
}

// approveToken ties an answer's form to the approver's session and the request, so that an answer
// posted without the form the session was shown is refused.
func (h *handler) approveToken(sessionID, requestID string) string {
	m := hmac.New(sha256.New, keyring.Derive(h.app.Keys.Session, "approval answers", 32))
	m.Write([]byte(sessionID + "\x00" + requestID))
	return hex.EncodeToString(m.Sum(nil))
}

// approveShow shows the approver what is asking and asks for the number. Opening it changes
// nothing (link previewers fetch URLs).
func (h *handler) approveShow(c echo.Context) error {
	ss := sessionOf(c)
	id := c.Param("id")
	r, err := h.app.Approvals.Get(h.ctx(c), ss.Subject, ss.ID, id)
	p := h.page(c)
	m := views.ApproveShowPage{Page: p, ID: id, Token: h.approveToken(ss.ID, id), Digits: h.app.Approvals.Settings().Digits}
	switch {
	case errors.Is(err, approval.ErrNotFound) || errors.Is(err, approval.ErrNotApprover):
		return render(c, http.StatusNotFound, views.Error(views.ErrorPage{Page: p, Status: http.StatusNotFound, Key: "error.not_found"}))
	case errors.Is(err, approval.ErrClosed):
		m.Closed = true
	case err != nil:
		return err
	}
	m.Asking = asking(p, r)
	return render(c, http.StatusOK, views.ApproveShow(m))
}

// approveAnswer takes the approver's answer: approve with the typed number (one try), deny, or
// "this wasn't me" (deny, suspend, email).
func (h *handler) approveAnswer(c echo.Context) error {
	ss := sessionOf(c)
	id := c.Param("id")
	p := h.page(c)
	if !hmac.Equal([]byte(c.FormValue("token")), []byte(h.approveToken(ss.ID, id))) {
		return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: p, Status: http.StatusForbidden, Key: "error.approval_form"}))
	}
	var err error
	result := c.FormValue("answer")
	switch result {
	case "approve":
		number := strings.TrimSpace(c.FormValue("code"))
		if number == "" {
			r, gerr := h.app.Approvals.Get(h.ctx(c), ss.Subject, ss.ID, id)
			if gerr == nil {
				m := views.ApproveShowPage{Page: p, ID: id, Token: h.approveToken(ss.ID, id), Digits: h.app.Approvals.Settings().Digits,
					Asking: asking(p, r), Errors: views.Errors{{Field: "number", Message: p.T.T("approval.err.number_required")}}}
				return render(c, http.StatusUnprocessableEntity, views.ApproveShow(m))
			}
			err = gerr
			break
		}
		result, err = "approved", h.app.Approvals.Approve(h.ctx(c), ss.Subject, ss.ID, id, number, client(c))
	case "deny":
		result, err = "denied", h.app.Approvals.Deny(h.ctx(c), ss.Subject, ss.ID, id, false, client(c))
	case "not_me":
		err = h.app.Approvals.Deny(h.ctx(c), ss.Subject, ss.ID, id, true, client(c))
	default:
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	status := http.StatusOK
	switch {
	case errors.Is(err, approval.ErrWrongNumber):
		result, status = "wrong", http.StatusUnprocessableEntity
	case errors.Is(err, approval.ErrClosed):
		result, status = "closed", http.StatusConflict
	case errors.Is(err, approval.ErrNotFound) || errors.Is(err, approval.ErrNotApprover):
		return render(c, http.StatusNotFound, views.Error(views.ErrorPage{Page: p, Status: http.StatusNotFound, Key: "error.not_found"}))
	case err != nil:
		return err
	}
	return render(c, status, views.ApproveDone(views.ApproveDonePage{Page: p, Result: result}))
}

package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/views"
)

// consoleUserShow shows a user's page: where they stand, their methods, locks, attempts,
// messages and history, with the actions the staff member's role allows.
func (h *handler) consoleUserShow(c echo.Context) error {
	m, err := h.consoleUserPage(c)
	if err != nil {
		return err
	}
	m.Notice = h.takeFlashText(c, m.T)
	return render(c, http.StatusOK, views.ConsoleUser(m))
}

// takeFlashText returns the message a redirect left for this page, in the page language.
func (h *handler) takeFlashText(c echo.Context, t interface{ T(string) string }) string {
	if key := h.takeFlash(c); key != "" {
		return t.T(key)
	}
	return ""
}

// consoleUserPage reads the page of the user named in the URL.
func (h *handler) consoleUserPage(c echo.Context) (views.ConsoleUserPage, error) {
	me := staffOf(c)
	u, err := h.app.Support.User(h.ctx(c), me, client(c), c.Param("id"))
	if err != nil {
		return views.ConsoleUserPage{}, consoleFailure(err)
	}
	m := views.ConsoleUserPage{ConsoleContext: h.consoleContext(c, "search"), Person: consolePerson(u.Person), SMSRetiredAt: u.SMSRetiredAt,
		ChangesLockedAt: u.ChangesLockedAt, ExemptReason: u.ExemptReason, Self: u.Self,
		CanResend: me.Can(staff.ActionResendNotice) && u.State != campaign.StateRetired, CanAssist: me.Can(staff.ActionIssueAssist),
		CanRetry: me.Can(staff.ActionRetryMessage), CanUnlock: me.Can(staff.ActionUnlock), CanReset: me.Can(staff.ActionResetFactors),
		CanExtend: me.Can(staff.ActionExtendDeadline)}
	for _, f := range u.Factors {
		m.Factors = append(m.Factors, views.ConsoleFactor{Kind: f.Kind, Name: f.Name, Email: f.Email, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt, Flagged: f.Flagged})
	}
	for _, l := range u.Locks {
		m.Locks = append(m.Locks, views.ConsoleLock{Method: l.Method, Until: l.Until})
	}
	for _, msg := range u.Messages {
		m.Messages = append(m.Messages, views.ConsoleMessage{ID: msg.ID, Channel: msg.Channel, Topic: msg.Topic, Status: msg.Status,
			Attempts: msg.Attempts, LastError: msg.LastError, CreatedAt: msg.CreatedAt, SentAt: msg.SentAt, Retryable: msg.Retryable})
	}
	m.Attempts, m.History = h.consoleEvents(m.T, u.Attempts), h.consoleEvents(m.T, u.History)
	today := campaign.DateOf(h.now(), h.loc)
	m.MinDate = today.Time(h.loc).AddDate(0, 0, 1).Format("2006-01-02")
	m.MaxDate = today.Time(h.loc).Add(support.MaxExtension).Format("2006-01-02")
	if u.Deadline.Time(h.loc).After(today.Time(h.loc)) {
		m.MinDate = u.Deadline.Time(h.loc).AddDate(0, 0, 1).Format("2006-01-02")
	}
	return m, nil
}

// consoleActionFailed answers an action refused for what was asked: the user's page again, with
// the message next to the form's field (422). Any other error goes on to the error handler.
func (h *handler) consoleActionFailed(c echo.Context, form string, err error) error {
	key, field := consoleError(err)
	if key == "" {
		return consoleFailure(err)
	}
	m, perr := h.consoleUserPage(c)
	if perr != nil {
		return perr
	}
	id := "reason-" + form
	if field == "deadline" {
		id = "deadline"
	}
	m.Form, m.Reason, m.Deadline = form, c.FormValue("reason"), c.FormValue("deadline")
	m.Errors = views.Errors{{Field: id, Message: m.T.T(key)}}
	return render(c, http.StatusUnprocessableEntity, views.ConsoleUser(m))
}

// consoleDone ends a successful action: the user's page again, with what happened.
func (h *handler) consoleDone(c echo.Context, key string) error {
	if err := h.flash(c, key); err != nil {
		return err
	}
	return redirect(c, h.path(views.RouteConsoleUser, c.Param("id")))
}

// consoleNotice sends the user's retirement notice again.
func (h *handler) consoleNotice(c echo.Context) error {
	if _, err := h.app.Support.ResendNotice(h.ctx(c), staffOf(c), client(c), c.Param("id"), c.FormValue("reason")); err != nil {
		return h.consoleActionFailed(c, "notice", err)
	}
	return h.consoleDone(c, "console.notice.done")
}

// consoleAssist issues an assist code and shows it once: it is in this answer only, never in a
// redirect, a cookie or the database (which keeps its hash).
func (h *handler) consoleAssist(c echo.Context) error {
	code, expires, err := h.app.Support.IssueAssist(h.ctx(c), staffOf(c), client(c), c.Param("id"), c.FormValue("reason"))
	if err != nil {
		return h.consoleActionFailed(c, "assist", err)
	}
	u, err := h.store.UserByID(h.ctx(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ConsoleAssist(views.ConsoleAssistPage{ConsoleContext: h.consoleContext(c, "search"),
		Person: consolePerson(support.PersonOf(u)), Code: code, Expires: expires}))
}

// consoleUnlock ends the pause of one of the user's methods.
func (h *handler) consoleUnlock(c echo.Context) error {
	method := c.FormValue("method")
	if err := h.app.Support.Unlock(h.ctx(c), staffOf(c), client(c), c.Param("id"), method, c.FormValue("reason")); err != nil {
		return h.consoleActionFailed(c, "unlock-"+method, err)
	}
	return h.consoleDone(c, "console.unlock.done")
}

// consoleDeadline gives the user a later deadline.
func (h *handler) consoleDeadline(c echo.Context) error {
	to, err := campaign.ParseDate(strings.TrimSpace(c.FormValue("deadline")))
	if err != nil {
		err = support.ErrDeadlineEarlier
	} else {
		err = h.app.Support.ExtendDeadline(h.ctx(c), staffOf(c), client(c), c.Param("id"), to, c.FormValue("reason"))
	}
	if err != nil {
		return h.consoleActionFailed(c, "deadline", err)
	}
	return h.consoleDone(c, "console.deadline.done")
}

// consoleRetry sends one of the user's failed messages again.
func (h *handler) consoleRetry(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("msg"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := h.app.Support.RetryMessage(h.ctx(c), staffOf(c), client(c), c.Param("id"), id, c.FormValue("reason")); err != nil {
		return h.consoleActionFailed(c, "retry-"+c.Param("msg"), err)
	}
	return h.consoleDone(c, "console.messages.retried")
}

// consoleResetShow asks to confirm resetting the user's methods, with a reason.
func (h *handler) consoleResetShow(c echo.Context) error {
	m, err := h.consoleResetPage(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ConsoleReset(m))
}

func (h *handler) consoleResetPage(c echo.Context) (views.ConsoleResetPage, error) {
	u, err := h.app.Support.User(h.ctx(c), staffOf(c), client(c), c.Param("id"))
	if err != nil {
		return views.ConsoleResetPage{}, consoleFailure(err)
	}
	m := views.ConsoleResetPage{ConsoleContext: h.consoleContext(c, "search"), Person: consolePerson(u.Person)}
	for _, f := range u.Factors {
		m.Factors = append(m.Factors, views.ConsoleFactor{Kind: f.Kind, Name: f.Name})
	}
	return m, nil
}

// consoleReset resets the user's methods: they verify their identity again and set up a new one.
func (h *handler) consoleReset(c echo.Context) error {
	err := h.app.Support.ResetFactors(h.ctx(c), staffOf(c), client(c), c.Param("id"), c.FormValue("reason"))
	if err == nil {
		return h.consoleDone(c, "console.reset.done")
	}
	key, _ := consoleError(err)
	if key == "" {
		return consoleFailure(err)
	}
	m, perr := h.consoleResetPage(c)
	if perr != nil {
		return perr
	}
	m.Reason = c.FormValue("reason")
	m.Errors = views.Errors{{Field: "reason-reset", Message: m.T.T(key)}}
	return render(c, http.StatusUnprocessableEntity, views.ConsoleReset(m))
}

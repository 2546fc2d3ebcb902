package web

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/views"
)

// The support console (internal/support): the handlers of its pages share what is here. The staff
// group's guard put the staff member on the context (staffOf) and each route's requireStaff
// checked their role.

// consoleContext is the part every console page shares: the page in the staff member's language,
// the section the navigation marks, and what their role shows.
func (h *handler) consoleContext(c echo.Context, section string) views.ConsoleContext {
	m := staffOf(c)
	return views.ConsoleContext{Page: h.staffPage(c), Section: section, StaffWho: m.Name(), CanAudit: m.Can(staff.ActionViewAudit)}
}

func consolePerson(p support.Person) views.ConsolePerson {
	return views.ConsolePerson{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, State: string(p.State), Deadline: p.Deadline,
		Exempt: p.Exempt, OutOfScope: p.OutOfScope, Locked: p.Locked}
}

// consoleError is the message key of an action refused for what was asked, with the field it
// belongs to ("reason" or "deadline"); "" for an error that is not the staff member's to fix.
func consoleError(err error) (key, field string) {
	for _, e := range []struct {
		err        error
		key, field string
	}{
		{staff.ErrNoReason, "console.err.reason_missing", "reason"},
		{support.ErrReasonTooLong, "console.err.reason_long", "reason"},
		{staff.ErrSelf, "console.err.self", "reason"},
		{support.ErrRetired, "console.err.retired", "reason"},
		{support.ErrNoChannel, "console.err.no_channel", "reason"},
		{support.ErrNotLocked, "console.err.not_locked", "reason"},
		{support.ErrNoFactors, "console.err.no_factors", "reason"},
		{support.ErrNotFailed, "console.err.not_failed", "reason"},
		{support.ErrNotRetryable, "console.err.not_retryable", "reason"},
		{support.ErrDeadlineEarlier, "console.err.deadline_earlier", "deadline"},
		{support.ErrDeadlineFar, "console.err.deadline_far", "deadline"},
	} {
		if errors.Is(err, e.err) {
			return e.key, e.field
		}
	}
	return "", ""
}

// consoleFailure answers a domain error that is no form's: no such user or message, a role that
// may not (the guard should have said so already), or an error for the central handler.
func consoleFailure(err error) error {
	var forbidden staff.ErrForbidden
	switch {
	case errors.Is(err, campaign.ErrUserNotFound), errors.Is(err, support.ErrNoMessage):
		return echo.NewHTTPError(http.StatusNotFound)
	case errors.As(err, &forbidden):
		return echo.NewHTTPError(http.StatusForbidden)
	}
	return err
}

// actorName says who an event of a user's history came from, in the page language.
func actorName(t *i18n.Translator, actor string) string {
	switch {
	case actor == "" || actor == "user":
		return t.T("console.actor.user")
	case actor == "system":
		return t.T("console.actor.system")
	}
	return strings.TrimPrefix(actor, "staff:")
}

// consoleEvents describes history events for staff: every event, state changes included, with
// who caused it.
func (h *handler) consoleEvents(t *i18n.Translator, evs []audit.Event) []views.ConsoleEvent {
	out := make([]views.ConsoleEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, views.ConsoleEvent{At: e.CreatedAt, Text: describeEvent(t, e, h.clientName), Actor: actorName(t, e.Actor), IP: e.IP})
	}
	return out
}

// consoleActions are the audit log's actions the console names in both languages; another
// (one added later) shows as recorded.
var consoleActions = []staff.Action{
	staff.ActionSearch, staff.ActionView, staff.ActionResendNotice, staff.ActionIssueAssist, staff.ActionRetryMessage,
	staff.ActionUnlock, staff.ActionResetFactors, staff.ActionExtendDeadline, staff.ActionExport,
	staff.ActionManageStaff, staff.ActionEndStaffSessions, staff.ActionSignIn, staff.ActionSignOut, staff.ActionSetUp,
	staff.ActionNoticeLink, staff.ActionImport,
}

// actionLabel names an audit action in the page language.
func actionLabel(t *i18n.Translator, a string) string {
	for _, known := range consoleActions {
		if string(known) == a {
			return t.T("console.action." + a)
		}
	}
	return a
}

// detailText writes an audit entry's details as key=value pairs, sorted.
func detailText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, " ")
}

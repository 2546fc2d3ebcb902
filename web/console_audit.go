package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/views"
)

// consoleAuditFilter reads the audit log's filters from the query; the page shows a date that
// does not read as one next to its field.
func consoleAuditFilter(c echo.Context, t *i18n.Translator) (support.AuditFilter, url.Values, views.Errors) {
	q := c.QueryParams()
	f := support.AuditFilter{StaffID: strings.TrimSpace(q.Get("staff")), UserID: strings.TrimSpace(q.Get("user")), Action: strings.TrimSpace(q.Get("action"))}
	f.Offset, _ = strconv.Atoi(q.Get("offset"))
	f.Offset = max(f.Offset, 0)
	var errs views.Errors
	for _, d := range []struct {
		field string
		to    *campaign.Date
	}{{"from", &f.From}, {"to", &f.To}} {
		v := strings.TrimSpace(q.Get(d.field))
		if v == "" {
			continue
		}
		date, err := campaign.ParseDate(v)
		if err != nil {
			errs = append(errs, views.FieldError{Field: d.field, Message: t.T("console.err.date")})
			q.Del(d.field) // a date field holds a date or nothing
			continue
		}
		*d.to = date
	}
	kept := url.Values{}
	for _, k := range []string{"staff", "user", "action", "from", "to"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			kept.Set(k, v)
		}
	}
	return f, kept, errs
}

// consoleAudit shows the staff audit log, newest first, filtered by staff member, user, action and
// dates.
func (h *handler) consoleAudit(c echo.Context) error {
	me := staffOf(c)
	m := views.ConsoleAuditPage{ConsoleContext: h.consoleContext(c, "audit"), CanExport: me.Can(staff.ActionExport), Prev: -1, Next: -1}
	f, kept, errs := consoleAuditFilter(c, m.T)
	m.Staff, m.User, m.Action, m.From, m.To = kept.Get("staff"), kept.Get("user"), kept.Get("action"), kept.Get("from"), kept.Get("to")
	m.Query, m.Offset, m.Errors = kept.Encode(), f.Offset, errs
	members, err := h.app.Support.StaffMembers(h.ctx(c))
	if err != nil {
		return err
	}
	for _, s := range members {
		m.StaffOptions = append(m.StaffOptions, views.Option{Value: s.ID, Label: s.Email})
	}
	for _, a := range consoleActions {
		m.ActionOptions = append(m.ActionOptions, views.Option{Value: string(a), Label: actionLabel(m.T, string(a))})
	}
	if len(errs) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.ConsoleAudit(m))
	}
	recs, err := h.app.Support.Audit(h.ctx(c), me, f)
	if err != nil {
		return consoleFailure(err)
	}
	if len(recs) > support.AuditPageSize {
		recs, m.Next = recs[:support.AuditPageSize], f.Offset+support.AuditPageSize
	}
	if f.Offset > 0 {
		m.Prev = max(f.Offset-support.AuditPageSize, 0)
	}
	for _, r := range recs {
		m.Entries = append(m.Entries, views.ConsoleAuditEntry{At: r.At, Actor: r.Actor, Role: roleLabel(m.T, r.StaffRole), Action: actionLabel(m.T, r.Action),
			UserID: r.UserID, Reason: r.Reason, IP: r.ClientIP, Detail: detailText(r.Detail)})
	}
	return render(c, http.StatusOK, views.ConsoleAudit(m))
}

// roleLabel names a staff role in the page language; "" for the command line.
func roleLabel(t *i18n.Translator, role string) string {
	if _, ok := staff.ParseRole(role); !ok || role == "" {
		return ""
	}
	return t.T("console.role." + role)
}

// consoleAuditCSV exports the audit log's entries that the filters choose (up to
// support.AuditExportMax) as CSV for Excel, and records the export.
func (h *handler) consoleAuditCSV(c echo.Context) error {
	t := h.staffPage(c).T
	f, _, errs := consoleAuditFilter(c, t)
	if len(errs) > 0 {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	recs, err := h.app.Support.Export(h.ctx(c), staffOf(c), client(c), f)
	if err != nil {
		return consoleFailure(err)
	}
	header := []string{t.T("console.audit.when"), t.T("console.audit.who"), t.T("console.audit.role"), t.T("console.audit.action"),
		t.T("console.audit.user"), t.T("console.audit.why"), t.T("console.audit.ip"), t.T("console.audit.detail")}
	rows := make([][]string, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, []string{r.At.In(h.loc).Format("2006-01-02 15:04:05"), r.Actor, roleLabel(t, r.StaffRole), actionLabel(t, r.Action),
			r.UserID, r.Reason, r.ClientIP, detailText(r.Detail)})
	}
	var b bytes.Buffer
	if err := support.WriteCSV(&b, header, rows); err != nil {
		return err
	}
	name := "smsretire-audit-" + h.now().In(h.loc).Format("20060102-1504") + ".csv"
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

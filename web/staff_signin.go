package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// staffSignInShow shows the staff sign-in form.
func (h *handler) staffSignInShow(c echo.Context) error {
	return render(c, http.StatusOK, views.StaffSignIn(views.StaffSignInPage{Page: h.page(c), Next: staffNext(c.QueryParam("next")), SSO: h.app.StaffSSO != nil}))
}

// staffSignInTOTP signs a staff member in with their email and a code from their authenticator
// app, starting a new staff session, and goes on to the console (or where they were going).
func (h *handler) staffSignInTOTP(c echo.Context) error {
	p := h.page(c)
	m := views.StaffSignInPage{Page: p, Email: strings.TrimSpace(c.FormValue("email")), Next: staffNext(c.FormValue("next")), SSO: h.app.StaffSSO != nil}
	code := strings.TrimSpace(c.FormValue("code"))
	if m.Email == "" {
		m.Errors = append(m.Errors, views.FieldError{Field: "email", Message: p.T.T("staff.signin.email_required")})
	}
	if code == "" {
		m.Errors = append(m.Errors, views.FieldError{Field: "code", Message: p.T.T("staff.signin.code_required")})
	}
	if len(m.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.StaffSignIn(m))
	}
	member, err := h.app.Staff.SignInTOTP(h.ctx(c), m.Email, code, c.RealIP())
	var locked limit.ErrLocked
	switch {
	case errors.As(err, &locked):
		m.Blocked = p.T.Tf("staff.signin.blocked", map[string]any{"Until": p.DateTime(locked.Until)})
		return render(c, http.StatusTooManyRequests, views.StaffSignIn(m))
	case errors.Is(err, staff.ErrSignInFailed):
		m.Errors = views.Errors{{Field: "code", Message: p.T.T("staff.signin.failed")}}
		return render(c, http.StatusUnprocessableEntity, views.StaffSignIn(m))
	case err != nil:
		return err
	}
	if _, err := h.startStaffSession(c, member.ID, []string{"otp"}); err != nil {
		return err
	}
	if m.Next != "" {
		return redirect(c, m.Next)
	}
	return h.redirectTo(c, views.RouteStaffHome)
}

// staffSignOut ends this browser's staff session, records it, and goes back to the staff
// sign-in.
func (h *handler) staffSignOut(c echo.Context) error {
	ss, ok, err := h.loadSession(c, session.Staff)
	if err != nil {
		return err
	}
	if ok {
		if m, err := h.app.Staff.Member(h.ctx(c), ss.Subject); err == nil {
			if err := h.app.Staff.SignedOut(h.ctx(c), m, c.RealIP()); err != nil {
				return err
			}
		}
	}
	if err := h.endStaffSession(c); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteStaffSignInShow)
}

// staffHome greets a signed-in staff member with the console's pages their role may open.
func (h *handler) staffHome(c echo.Context) error {
	m := staffOf(c)
	p := h.staffPage(c)
	page := views.StaffHomePage{Page: p, Email: m.Email, Role: string(m.Role)}
	for _, l := range staffLinks {
		if path := h.echo.Reverse(l.route); path != "" && m.Can(l.action) {
			page.Links = append(page.Links, views.Link{Href: path, Text: p.T.T(l.key)})
		}
	}
	return render(c, http.StatusOK, views.StaffHome(page))
}

// staffLinks are the console's pages the staff home offers, each to the roles its action allows;
// a page not registered (yet) is left out.
var staffLinks = []struct {
	route  string
	action staff.Action
	key    string
}{
	{views.RouteConsoleDashboard, staff.ActionDashboard, "console.nav.dashboard"},
	{views.RouteConsoleSearchShow, staff.ActionSearch, "console.nav.search"},
	{views.RouteConsoleAudit, staff.ActionViewAudit, "console.nav.audit"},
	{views.RouteStaffAdminList, staff.ActionManageStaff, "staff.admin.title"},
}

// staffNext is where a staff sign-in returns to: a local path in the console, or "".
func staffNext(next string) string {
	if next == "" {
		return ""
	}
	next = localPath(next)
	if next != "/staff" && !strings.HasPrefix(next, "/staff/") || strings.HasPrefix(next, "/staff/signin") || strings.HasPrefix(next, "/staff/setup") {
		return ""
	}
	return next
}

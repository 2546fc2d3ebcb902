package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// staffAdminList shows an admin every staff member, the form to add one and the live staff
// sessions.
func (h *handler) staffAdminList(c echo.Context) error {
	m, err := h.staffAdminModel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.StaffAdmin(m))
}

func (h *handler) staffAdminModel(c echo.Context) (views.StaffAdminPage, error) {
	members, err := h.app.Staff.List(h.ctx(c))
	if err != nil {
		return views.StaffAdminPage{}, err
	}
	m := views.StaffAdminPage{Page: h.staffPage(c), SelfID: staffOf(c).ID, Form: views.StaffAddForm{Role: string(staff.Agent)}}
	for _, s := range members {
		m.Members = append(m.Members, views.StaffMemberView{ID: s.ID, Email: s.Email, DisplayName: s.DisplayName, Role: string(s.Role),
			Status: string(s.Status), CreatedAt: s.CreatedAt})
	}
	if staffOf(c).Can(staff.ActionEndStaffSessions) {
		live, err := h.app.Staff.LiveSessions(h.ctx(c))
		if err != nil {
			return views.StaffAdminPage{}, err
		}
		for _, ss := range live {
			if ss.ID == sessionOf(c).ID {
				continue // their own: they sign out instead
			}
			m.Sessions = append(m.Sessions, views.StaffSessionView{ID: ss.ID, Email: ss.Member.Email, IP: ss.IP, Started: ss.AuthAt, LastSeen: ss.LastSeenAt})
		}
	}
	return m, nil
}

// staffAdminAdd adds a staff member and shows their setup link, once.
func (h *handler) staffAdminAdd(c echo.Context) error {
	m, err := h.staffAdminModel(c)
	if err != nil {
		return err
	}
	m.Form = views.StaffAddForm{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role"), Name: strings.TrimSpace(c.FormValue("name"))}
	role, ok := staff.ParseRole(m.Form.Role)
	if !ok {
		m.Errors = append(m.Errors, views.FieldError{Field: "role-agent", Message: m.T.T("staff.admin.err.role")})
	}
	if _, err := staff.NormalizeEmail(m.Form.Email); err != nil {
		m.Errors = append(views.Errors{{Field: "email", Message: m.T.T("staff.admin.err.email")}}, m.Errors...)
	}
	if len(m.Errors) == 0 {
		member, token, err := h.app.Staff.Add(h.ctx(c), staffOf(c).Actor(c.RealIP()), m.Form.Email, role, m.Form.Name)
		switch {
		case errors.Is(err, staff.ErrExists):
			m.Errors = views.Errors{{Field: "email", Message: m.T.T("staff.admin.err.exists")}}
		case err != nil:
			return err
		default:
			return h.staffAdminShowLink(c, member, token)
		}
	}
	return render(c, http.StatusUnprocessableEntity, views.StaffAdmin(m))
}

// staffAdminLink makes a new setup link for a member (a new phone, a link that expired) and shows
// it, once; their earlier links stop working.
func (h *handler) staffAdminLink(c echo.Context) error {
	member, err := h.app.Staff.Member(h.ctx(c), c.Param("id"))
	if errors.Is(err, staff.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	token, err := h.app.Staff.NewSetupLink(h.ctx(c), staffOf(c).Actor(c.RealIP()), member.ID)
	if errors.Is(err, staff.ErrNotActive) {
		return h.redirectTo(c, views.RouteStaffAdminList)
	}
	if err != nil {
		return err
	}
	return h.staffAdminShowLink(c, member, token)
}

func (h *handler) staffAdminShowLink(c echo.Context, member staff.Member, token string) error {
	m, err := h.staffAdminModel(c)
	if err != nil {
		return err
	}
	m.NewLink, m.NewLinkFor = h.app.StaffSetupLink(token), member.Email
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return render(c, http.StatusOK, views.StaffAdmin(m))
}

// staffAdminDisable revokes a member's access, with the reason: their links and sessions end.
func (h *handler) staffAdminDisable(c echo.Context) error {
	id := c.Param("id")
	if _, err := h.app.Staff.Member(h.ctx(c), id); errors.Is(err, staff.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err := h.app.Staff.Disable(h.ctx(c), staffOf(c).Actor(c.RealIP()), id, c.FormValue("reason"))
	if errors.Is(err, staff.ErrNoReason) || errors.Is(err, staff.ErrSelf) {
		m, merr := h.staffAdminModel(c)
		if merr != nil {
			return merr
		}
		m.ErrorMember = id
		m.Errors = views.Errors{{Field: "reason-" + id, Message: m.T.T("staff.admin.err.reason")}}
		return render(c, http.StatusUnprocessableEntity, views.StaffAdmin(m))
	}
	if err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteStaffAdminList)
}

// staffAdminSessionEnd signs another staff member's session out, with the reason.
func (h *handler) staffAdminSessionEnd(c echo.Context) error {
	id := c.Param("id")
	_, err := h.app.Staff.EndSession(h.ctx(c), staffOf(c).Actor(c.RealIP()), id, c.FormValue("reason"))
	if errors.Is(err, staff.ErrNoReason) {
		m, merr := h.staffAdminModel(c)
		if merr != nil {
			return merr
		}
		m.ErrorMember = id
		m.Errors = views.Errors{{Field: "end-reason-" + views.ShortID(id), Message: m.T.T("staff.admin.err.reason")}}
		return render(c, http.StatusUnprocessableEntity, views.StaffAdmin(m))
	}
	if err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteStaffAdminList)
}

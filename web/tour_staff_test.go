package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web/webtest"
)

// tourStaff visits the staff console: the sign-in and a setup link with their errors, the
// refusals (a used link, a role that may not) and each page as a member whose role may open it.
// newClient's browser chose the tour's language; staff signs in in such a browser.
func tourStaff(t *testing.T, s *webtest.Server, newClient func() *http.Client,
	get func(string, *http.Client, string, int) *webtest.Response,
	post func(string, *http.Client, string, url.Values, http.Header, int) *webtest.Response) {
	t.Helper()
	as := func(role staff.Role) *http.Client {
		c := newClient()
		s.SignInStaff(t, c, s.AddStaff(t, role, ""))
		return c
	}
	anon := newClient()
	get("staff/signin", anon, "/staff/signin?next=%2Fstaff", http.StatusOK)
	post("staff/signin/missing", anon, "/staff/signin", url.Values{"email": {""}, "code": {""}}, nil, http.StatusUnprocessableEntity)
	post("staff/signin/wrong code", anon, "/staff/signin", url.Values{"email": {"nobody@staff.example"}, "code": {"000000"}}, nil, http.StatusUnprocessableEntity)

	_, token, err := s.App.Staff.Add(context.Background(), staff.CLI("tour"), "new@staff.example", staff.Supervisor, "")
	if err != nil {
		t.Fatal(err)
	}
	newcomer := newClient()
	r := get("staff/setup", newcomer, "/staff/setup/"+token, http.StatusOK)
	post("staff/setup/wrong code", newcomer, "/staff/setup/"+token, url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	code, _ := totp.CodeAt(secretFrom(t, r), s.Clock.Now())
	if r := s.PostForm(t, newcomer, "/staff/setup/"+token, url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("tour: staff setup: %d", r.StatusCode)
	}
	get("staff/home", newcomer, "/staff", http.StatusOK)
	get("staff/setup link used", anon, "/staff/setup/"+token, http.StatusGone)

	agentMember := s.AddStaff(t, staff.Agent, "")
	agent := newClient()
	s.SignInStaff(t, agent, agentMember)
	admin := as(staff.Admin)
	get("staff/role may not", agent, "/staff/admin/staff", http.StatusForbidden)
	get("staff/admin/staff list", admin, "/staff/admin/staff", http.StatusOK)
	post("staff/admin/add/errors", admin, "/staff/admin/staff", url.Values{"email": {"x"}}, nil, http.StatusUnprocessableEntity)
	post("staff/admin/added, the setup link", admin, "/staff/admin/staff", url.Values{"email": {"later@staff.example"}, "role": {"agent"}}, nil, http.StatusOK)
	post("staff/admin/new setup link", admin, "/staff/admin/staff/"+agentMember.ID+"/link", nil, nil, http.StatusOK)
	post("staff/admin/disable without a reason", admin, "/staff/admin/staff/"+agentMember.ID+"/disable", url.Values{"reason": {""}}, nil, http.StatusUnprocessableEntity)
	live, _ := s.App.Sessions.Active(context.Background(), session.Staff, agentMember.ID)
	if len(live) != 1 {
		t.Fatalf("tour: the agent's staff sessions: %d", len(live))
	}
	post("staff/admin/end session without a reason", admin, "/staff/admin/sessions/"+live[0].ID+"/end", url.Values{"reason": {""}}, nil, http.StatusUnprocessableEntity)
}

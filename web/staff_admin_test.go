package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web/webtest"
)

// An admin adds a staff member (their setup link shown once), makes them a new link, ends one of
// their sessions and revokes their access, each with a reason in the audit log; never their own.
func TestStaffAdmin_AddLinkEndSessionDisable(t *testing.T) {
	s := webtest.NewServer(t)
	ctx := context.Background()
	admin, am := s.StaffClient(t, staff.Admin)
	lang := &http.Cookie{Name: "lang", Value: "en", Path: "/"}
	u, _ := url.Parse(s.URL)
	admin.Jar.SetCookies(u, []*http.Cookie{lang})

	r := s.PostForm(t, admin, "/staff/admin/staff", url.Values{"email": {"not an email"}, "role": {"owner"}}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || r.Doc.Find("#error-summary li").Length() != 2 {
		t.Fatalf("bad add: %d\n%s", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
	r = s.PostForm(t, admin, "/staff/admin/staff", url.Values{"email": {"Bea@Staff.example"}, "role": {"supervisor"}, "name": {"Bea"}}, nil)
	link := regexp.MustCompile(`/staff/setup/[A-Za-z0-9_-]+`).FindString(r.Doc.Find("#new-link code").Text())
	if r.StatusCode != http.StatusOK || link == "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("add: %d %q\n%s", r.StatusCode, link, r.Doc.Find("main").Text())
	}
	bea, err := s.App.Staff.ByEmail(ctx, "bea@staff.example")
	if err != nil || bea.Role != staff.Supervisor || bea.Status != staff.Pending || bea.DisplayName != "Bea" || bea.CreatedBy != am.ID {
		t.Fatalf("bea: %+v %v", bea, err)
	}
	if r := s.Get(t, s.Client(), link, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the new link: %d", r.StatusCode)
	}
	if r := s.PostForm(t, admin, "/staff/admin/staff", url.Values{"email": {"bea@staff.example"}, "role": {"agent"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the same email again: %d", r.StatusCode)
	}
	// A new link replaces the first.
	r = s.PostForm(t, admin, "/staff/admin/staff/"+bea.ID+"/link", nil, nil)
	link2 := regexp.MustCompile(`/staff/setup/[A-Za-z0-9_-]+`).FindString(r.Doc.Find("#new-link code").Text())
	if r.StatusCode != http.StatusOK || link2 == "" || link2 == link {
		t.Fatalf("new link: %d %q", r.StatusCode, link2)
	}
	if r := s.Get(t, s.Client(), link, nil); r.StatusCode != http.StatusGone {
		t.Errorf("the replaced link: %d, want 410", r.StatusCode)
	}

	// Bea's session is listed (not the admin's own) and ended with a reason.
	beaBrowser := s.Client()
	s.SignInStaff(t, beaBrowser, s.AddStaff(t, staff.Agent, "carl@staff.example"))
	carl, _ := s.App.Staff.ByEmail(ctx, "carl@staff.example")
	live, _ := s.App.Sessions.Active(ctx, session.Staff, carl.ID)
	r = s.Get(t, admin, "/staff/admin/staff", nil)
	if got := r.Doc.Find(".staff-sessions tbody tr").Length(); got != 1 || !strings.Contains(r.Doc.Find(".staff-sessions").Text(), "carl@staff.example") {
		t.Fatalf("sessions listed: %d\n%s", got, r.Doc.Find(".staff-sessions").Text())
	}
	end := "/staff/admin/sessions/" + live[0].ID + "/end"
	if r := s.PostForm(t, admin, end, url.Values{"reason": {" "}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("end without a reason: %d", r.StatusCode)
	}
	if r := s.PostForm(t, admin, end, url.Values{"reason": {"laptop stolen"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end: %d", r.StatusCode)
	}
	if r := s.Get(t, beaBrowser, "/staff", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the ended session still opens the console: %d", r.StatusCode)
	}

	// Revoking access asks why, never the admin's own.
	if r := s.PostForm(t, admin, "/staff/admin/staff/"+am.ID+"/disable", url.Values{"reason": {"oops"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("disabled themselves: %d", r.StatusCode)
	}
	if r := s.PostForm(t, admin, "/staff/admin/staff/"+bea.ID+"/disable", url.Values{"reason": {""}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("disable without a reason: %d", r.StatusCode)
	}
	if r := s.PostForm(t, admin, "/staff/admin/staff/"+bea.ID+"/disable", url.Values{"reason": {"left the team"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.StatusCode)
	}
	if r := s.Get(t, s.Client(), link2, nil); r.StatusCode != http.StatusGone {
		t.Errorf("a disabled member's link: %d, want 410", r.StatusCode)
	}
	if r := s.PostForm(t, admin, "/staff/admin/staff/st_nobody/disable", url.Values{"reason": {"x"}}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("disable nobody: %d", r.StatusCode)
	}

	log, _ := s.App.Staff.Audit(ctx, staff.Filter{StaffID: am.ID})
	var got []string
	for _, e := range log {
		got = append(got, e.Action+":"+e.Detail["op"]+":"+e.Reason)
	}
	want := "manage_staff:disable:left the team|end_staff_sessions::laptop stolen|manage_staff:setup_link:|manage_staff:add:"
	if strings.Join(got, "|") != want {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

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

// staffRoutes names the action each route of the staff console takes, which the guard asks the
// staff member's role to allow. A staff route missing here fails TestStaffRoutes_EveryRoleAndNone:
// add it with its action.
// An empty action: any signed-in staff member.
var staffRoutes = map[string]staff.Action{
	"GET /staff":                          "",
	"GET /staff/admin/staff":              staff.ActionManageStaff,
	"POST /staff/admin/staff":             staff.ActionManageStaff,
	"POST /staff/admin/staff/:id/link":    staff.ActionManageStaff,
	"POST /staff/admin/staff/:id/disable": staff.ActionManageStaff,
	"POST /staff/admin/sessions/:id/end":  staff.ActionEndStaffSessions,
	// The console (web/console_*.go).
	"GET /staff/dashboard":                      staff.ActionDashboard,
	"GET /staff/users":                          staff.ActionSearch,
	"POST /staff/users":                         staff.ActionSearch,
	"GET /staff/users/:id":                      staff.ActionView,
	"POST /staff/users/:id/notice":              staff.ActionResendNotice,
	"POST /staff/users/:id/assist":              staff.ActionIssueAssist,
	"POST /staff/users/:id/messages/:msg/retry": staff.ActionRetryMessage,
	"POST /staff/users/:id/unlock":              staff.ActionUnlock,
	"GET /staff/users/:id/reset":                staff.ActionResetFactors,
	"POST /staff/users/:id/reset":               staff.ActionResetFactors,
	"POST /staff/users/:id/deadline":            staff.ActionExtendDeadline,
	"GET /staff/audit":                          staff.ActionViewAudit,
	"GET /staff/audit.csv":                      staff.ActionExport,
}

// staffPublicRoutes are the staff routes anyone may open: signing in and out, setting up.
var staffPublicRoutes = map[string]bool{
	"GET /staff/signin":                        true,
	"POST /staff/signin":                       true,
	"POST /staff/signout":                      true,
	"GET /staff/setup/:token":                  true,
	"POST /staff/setup/:token":                 true,
	"POST /staff/signin/passkey/options":       true,
	"POST /staff/signin/passkey/finish":        true,
	"POST /staff/setup/:token/passkey/options": true,
	"POST /staff/setup/:token/passkey/finish":  true,
}

// TestStaffRoutes_EveryRoleAndNone tries every staff route with no staff session, with a user's
// session, and as a member of each role: without a staff session a page leads to the staff
// sign-in and anything else gets 401; a role its action does not allow gets 403, never the page.
func TestStaffRoutes_EveryRoleAndNone(t *testing.T) {
	s := webtest.NewServer(t)
	params := regexp.MustCompile(`:[a-z_]+|\*`)
	clients := map[staff.Role]*http.Client{}
	for _, r := range staff.Roles {
		clients[r], _ = s.StaffClient(t, r)
	}
	user := signIn(t, s, "demo-zh", enrolledTOTP(t, s, "demo-zh"))
	n := 0
	for _, rt := range s.Echo.Routes() {
		if !strings.HasPrefix(rt.Path, "/staff") {
			continue
		}
		key := rt.Method + " " + rt.Path
		if staffPublicRoutes[key] {
			continue
		}
		action, ok := staffRoutes[key]
		if !ok {
			t.Errorf("%s (%s) is not in staffRoutes: say which action it takes", key, rt.Name)
			continue
		}
		n++
		path := params.ReplaceAllString(rt.Path, "x")
		var form url.Values
		if rt.Method == http.MethodPost {
			form = url.Values{"reason": {"test"}}
		}
		for name, c := range map[string]*http.Client{"nobody": s.Client(), "a signed-in user": user} {
			r := s.Do(t, c, rt.Method, path, form, nil)
			want, loc := http.StatusUnauthorized, ""
			if rt.Method == http.MethodGet {
				want, loc = http.StatusSeeOther, "/staff/signin?next="+url.QueryEscape(path)
			}
			if r.StatusCode != want || r.Header.Get("Location") != loc {
				t.Errorf("%s by %s: %d to %q, want %d to %q", key, name, r.StatusCode, r.Header.Get("Location"), want, loc)
			}
		}
		for _, role := range staff.Roles {
			allowed := action == "" || staff.Can(role, action)
			r := s.Do(t, clients[role], rt.Method, path, form, nil)
			switch {
			case !allowed && r.StatusCode != http.StatusForbidden:
				t.Errorf("%s by a %s: %d, want 403", key, role, r.StatusCode)
			case allowed && (r.StatusCode == http.StatusForbidden || r.StatusCode == http.StatusUnauthorized ||
				r.StatusCode == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/staff/signin")):
				t.Errorf("%s by a %s: %d, want the route's answer", key, role, r.StatusCode)
			}
		}
	}
	if n == 0 {
		t.Fatal("no staff route was tried")
	}
}

func TestStaffGuard_RefusesInTheMembersLanguageAndEndsADisabledMembersSession(t *testing.T) {
	s := webtest.NewServer(t)
	ctx := context.Background()
	agent, m := s.StaffClient(t, staff.Agent)
	if err := s.Store.SetStaffLocale(ctx, m.ID, "en"); err != nil {
		t.Fatal(err)
	}
	r := s.Get(t, agent, "/staff/admin/staff", nil)
	if r.StatusCode != http.StatusForbidden || r.Doc.Find("html").AttrOr("lang", "") != "en" ||
		!strings.Contains(r.Doc.Find("h1").Text(), "Your role does not allow this") {
		t.Fatalf("agent: %d %q %q", r.StatusCode, r.Doc.Find("html").AttrOr("lang", ""), r.Doc.Find("h1").Text())
	}
	if r.Doc.Find(`main a[href="/signin"]`).Length() != 0 {
		t.Error("the staff refusal links to the users' sign-in")
	}

	admin, am := s.StaffClient(t, staff.Admin)
	r = s.Get(t, admin, "/staff/admin/staff", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Doc.Find("table").Text(), m.Email) {
		t.Fatalf("admin: %d\n%s", r.StatusCode, r.Doc.Find("main").Text())
	}
	// Disabled meanwhile: the next request is refused and the session ends.
	if err := s.App.Staff.Disable(ctx, staff.CLI("test"), am.ID, "left"); err != nil {
		t.Fatal(err)
	}
	if r := s.Get(t, admin, "/staff/admin/staff", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/staff/signin") {
		t.Fatalf("disabled admin: %d", r.StatusCode)
	}
	if live, _ := s.App.Sessions.Active(ctx, session.Staff, am.ID); len(live) != 0 {
		t.Errorf("the disabled member's sessions live on: %+v", live)
	}
	// A staff session's cookie is its own: it signs no user in.
	if r := s.Get(t, agent, "/security", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a staff member reached My security: %d", r.StatusCode)
	}
}

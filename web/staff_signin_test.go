package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web/webtest"
)

// setUpStaffTOTP adds a staff member of role, opens their setup link in a new browser and adds an
// authenticator app there, which signs them in; it returns the browser, the member and the secret.
func setUpStaffTOTP(t *testing.T, s *webtest.Server, role staff.Role, email string) (*http.Client, staff.Member, string) {
	t.Helper()
	m, token, err := s.App.Staff.Add(context.Background(), staff.CLI("test"), email, role, "")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	r := s.Get(t, c, "/staff/setup/"+token, nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Doc.Find("main").Text(), email) {
		t.Fatalf("setup link: %d\n%s", r.StatusCode, r.Doc.Find("main").Text())
	}
	secret := secretFrom(t, r)
	if r := s.PostForm(t, c, "/staff/setup/"+token, url.Values{"code": {"000000"}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		r.Doc.Find("#code-error").Length() != 1 {
		t.Fatalf("wrong first code: %d", r.StatusCode)
	}
	code, _ := totp.CodeAt(secret, s.Clock.Now())
	r = s.PostForm(t, c, "/staff/setup/"+token, url.Values{"code": {code}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff" {
		t.Fatalf("setup: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Doc.Find("main").Text())
	}
	if r := s.Get(t, s.Client(), "/staff/setup/"+token, nil); r.StatusCode != http.StatusGone {
		t.Errorf("the used setup link: %d, want 410", r.StatusCode)
	}
	if r := s.Get(t, s.Client(), "/staff/setup/nothing", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("a setup link that never was: %d, want 404", r.StatusCode)
	}
	m, _ = s.App.Staff.Member(context.Background(), m.ID)
	return c, m, secret
}

// staffSignIn signs in at /staff/signin with the next code of secret, in browser c.
func staffSignIn(t *testing.T, s *webtest.Server, c *http.Client, email, secret string, form url.Values) *webtest.Response {
	t.Helper()
	s.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, s.Clock.Now())
	if form == nil {
		form = url.Values{}
	}
	form.Set("email", email)
	form.Set("code", code)
	return s.PostForm(t, c, "/staff/signin", form, nil)
}

// From the setup link to the console: an authenticator app set up once, then sign-in with it
// only, a new session each time, its own cookie, 30 minutes idle and 8 hours at most.
func TestStaffSignIn_SetupLinkThenAuthenticatorApp(t *testing.T) {
	s := webtest.NewServer(t)
	ctx := context.Background()
	c, m, secret := setUpStaffTOTP(t, s, staff.Agent, "agent@staff.example")
	if m.Status != staff.Active {
		t.Fatalf("after setup: %+v", m)
	}
	r := s.Get(t, c, "/staff", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Doc.Find("main").Text(), "agent@staff.example") {
		t.Fatalf("console after setup: %d", r.StatusCode)
	}
	if s.Cookie(c, "smsretire_staff") == "" || s.Cookie(c, "smsretire") != "" {
		t.Error("the staff session is not in a cookie of its own")
	}

	// Signing out ends the session; the console then asks to sign in.
	if r := s.PostForm(t, c, "/staff/signout", nil, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/signin" {
		t.Fatalf("sign out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := s.Get(t, c, "/staff", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/signin?next=%2Fstaff" {
		t.Fatalf("after sign-out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}

	// Sign in: wrong and missing input, then the code; back where the sign-in was asked for.
	if r := s.PostForm(t, c, "/staff/signin", url.Values{"email": {""}, "code": {""}}, nil); r.StatusCode != http.StatusUnprocessableEntity ||
		r.Doc.Find("#error-summary li").Length() != 2 {
		t.Errorf("empty sign-in: %d", r.StatusCode)
	}
	if r := s.PostForm(t, c, "/staff/signin", url.Values{"email": {"agent@staff.example"}, "code": {"000000"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("wrong code: %d", r.StatusCode)
	}
	if r := s.PostForm(t, c, "/staff/signin", url.Values{"email": {"nobody@staff.example"}, "code": {"000000"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown email: %d", r.StatusCode)
	}
	before := s.Cookie(c, "smsretire_staff")
	r = staffSignIn(t, s, c, "Agent@staff.example", secret, url.Values{"next": {"/staff/admin/staff"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/admin/staff" {
		t.Fatalf("sign in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if s.Cookie(c, "smsretire_staff") == before {
		t.Error("signing in kept the cookie")
	}
	if r := s.Get(t, c, "/staff/admin/staff", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("an agent opened the staff list: %d", r.StatusCode)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/staff", "/security", "/staff/signin"} {
		r := staffSignIn(t, s, c, "agent@staff.example", secret, url.Values{"next": {next}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff" {
			t.Errorf("next %q: %d to %q", next, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// Each sign-in replaced the browser's session: one is live.
	if live, _ := s.App.Sessions.Active(ctx, session.Staff, m.ID); len(live) != 1 {
		t.Errorf("live staff sessions: %d, want 1", len(live))
	}

	// 30 minutes unused end the session.
	s.Clock.Advance(31 * time.Minute)
	if r := s.Get(t, c, "/staff", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: %d", r.StatusCode)
	}
	// In use, it lasts 8 hours at most.
	staffSignIn(t, s, c, "agent@staff.example", secret, nil)
	for range 15 {
		s.Clock.Advance(29 * time.Minute)
		if r := s.Get(t, c, "/staff", nil); r.StatusCode != http.StatusOK {
			t.Fatalf("in use after %s: %d", s.Clock.Now().Sub(webtest.Now), r.StatusCode)
		}
	}
	s.Clock.Advance(29 * time.Minute) // 7 h 45 min + 30 s of use, then past 8 hours
	s.Get(t, c, "/staff", nil)
	s.Clock.Advance(20 * time.Minute)
	if r := s.Get(t, c, "/staff", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after 8 hours: %d", r.StatusCode)
	}

	// The audit log has the setup, each sign-in and the sign-out.
	log, _ := s.App.Staff.Audit(ctx, staff.Filter{StaffID: m.ID, Limit: 100})
	counts := map[string]int{}
	for _, e := range log {
		counts[e.Action]++
	}
	if counts["set_up"] != 1 || counts["sign_out"] != 1 || counts["sign_in"] != 7 {
		t.Errorf("audit log: %v", counts)
	}
}

// A staff form posted from another site is refused, as every state change is.
func TestStaffSignIn_CrossSitePostsRefused(t *testing.T) {
	s := webtest.NewServer(t)
	crossSite := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://attacker.example"}}
	_, token, err := s.App.Staff.Add(context.Background(), staff.CLI("test"), "x@staff.example", staff.Admin, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/staff/signin", "/staff/signout", "/staff/setup/" + token} {
		if r := s.PostForm(t, s.Client(), path, url.Values{"email": {"x@staff.example"}, "code": {"123456"}}, crossSite); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", path, r.StatusCode)
		}
	}
}

package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// consoleFixture gives demo-zh an authenticator app, a paused SMS code and a failed text-message
// notice, and returns the notice's outbox ID.
func consoleFixture(t *testing.T, s *webtest.Server) int64 {
	t.Helper()
	ctx := context.Background()
	now := s.Clock.Now()
	q := func(query string) string {
		if s.Store.Dialect() == store.Postgres {
			return strings.NewReplacer("?", "$1").Replace(query)
		}
		return query
	}
	if _, err := s.Store.DB().ExecContext(ctx, q(`INSERT INTO answer_limits (key, pending, failed, expires_at) VALUES ('u:demo-zh:phone', 0, 99, ?)`),
		now.Add(10*time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.DB().ExecContext(ctx, q(`INSERT INTO factors (user_id, kind, name, created_at) VALUES ('demo-zh', 'totp', '', ?)`),
		now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.Store.DB().QueryRowContext(ctx, q(`INSERT INTO outbox (kind, topic, user_id, payload, status, attempts, next_attempt_at, last_error, created_at)
		VALUES ('sms', 'security.notice', 'demo-zh', '{}', 'failed', 5, 0, 'gateway refused', ?) RETURNING id`), now.UnixMilli()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// consoleAudit returns the audit log's entries of an action about a user.
func consoleAudit(t *testing.T, s *webtest.Server, action staff.Action, userID string) []staff.AuditRecord {
	t.Helper()
	recs, err := s.App.Staff.Audit(context.Background(), staff.Filter{Action: string(action), UserID: userID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// consolePosts are the console's actions on demo-zh with what each posts.
func consolePosts(msg int64) []struct {
	action staff.Action
	path   string
	form   url.Values
} {
	return []struct {
		action staff.Action
		path   string
		form   url.Values
	}{
		{staff.ActionResendNotice, "/staff/users/demo-zh/notice", url.Values{"reason": {"notice never arrived"}}},
		{staff.ActionIssueAssist, "/staff/users/demo-zh/assist", url.Values{"reason": {"caller checked with ID card"}}},
		{staff.ActionUnlock, "/staff/users/demo-zh/unlock", url.Values{"method": {"phone"}, "reason": {"locked out by a child"}}},
		{staff.ActionRetryMessage, "/staff/users/demo-zh/messages/" + strconv.FormatInt(msg, 10) + "/retry", url.Values{"reason": {"gateway back"}}},
		{staff.ActionExtendDeadline, "/staff/users/demo-zh/deadline", url.Values{"deadline": {"2027-02-01"}, "reason": {"abroad until January"}}},
		{staff.ActionResetFactors, "/staff/users/demo-zh/reset", url.Values{"reason": {"phone and email lost"}}},
	}
}

// Each action of the console, posted by a supervisor's browser, changes what it says and writes an
// audit record with the reason, the role and the client IP; a missing reason changes nothing.
func TestConsole_EveryActionIsAudited(t *testing.T) {
	s := webtest.NewServer(t)
	msg := consoleFixture(t, s)
	c, boss := s.StaffClient(t, staff.Supervisor)

	r := s.PostForm(t, c, "/staff/users", url.Values{"q": {"138 0013 8001"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/users/demo-zh" {
		t.Fatalf("search by phone: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	page := s.Get(t, c, "/staff/users/demo-zh", nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Doc.Find("main").Text(), "138****8001") ||
		strings.Contains(string(page.Body), "13800138001") || strings.Contains(string(page.Body), "zhang.wei@") {
		t.Fatalf("user page %d shows unmasked data or none", page.StatusCode)
	}
	for _, p := range consolePosts(msg) {
		missing := url.Values{}
		for k, v := range p.form {
			if k != "reason" {
				missing[k] = v
			}
		}
		if r := s.PostForm(t, c, p.path, missing, nil); r.StatusCode != http.StatusUnprocessableEntity || r.Doc.Find(".error-summary").Length() != 1 {
			t.Errorf("%s without a reason: %d", p.action, r.StatusCode)
		}
		if n := len(consoleAudit(t, s, p.action, "demo-zh")); n != 0 {
			t.Errorf("%s without a reason: %d audit records", p.action, n)
		}
		r := s.PostForm(t, c, p.path, p.form, nil)
		switch p.action {
		case staff.ActionIssueAssist:
			code := strings.TrimSpace(r.Doc.Find("#assist-code").Text())
			if r.StatusCode != http.StatusOK || len(code) != 9 || code[4] != '-' {
				t.Errorf("assist code page: %d %q", r.StatusCode, code)
			}
		default:
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/staff/users/demo-zh" {
				t.Errorf("%s: %d to %q\n%s", p.action, r.StatusCode, r.Header.Get("Location"), r.Doc.Find(".error-summary").Text())
			}
		}
		recs := consoleAudit(t, s, p.action, "demo-zh")
		if len(recs) != 1 || recs[0].Reason != p.form.Get("reason") || recs[0].StaffID != boss.ID || recs[0].StaffRole != "supervisor" ||
			recs[0].ClientIP != "127.0.0.1" {
			t.Errorf("%s: audit %+v", p.action, recs)
		}
	}
	u, err := s.Store.UserByID(context.Background(), "demo-zh")
	if err != nil || u.Deadline.String() != "2027-02-01" {
		t.Errorf("deadline not extended: %v %v", u.Deadline, err)
	}
	if n := len(consoleAudit(t, s, staff.ActionView, "demo-zh")); n == 0 {
		t.Error("viewing the user's page is not in the audit log")
	}
	// The history names the staff member, in the staff member's language.
	page = s.Get(t, c, "/staff/users/demo-zh", nil)
	if text := page.Doc.Find("#history-title").Parent().Text(); !strings.Contains(text, "客服重置了验证方式") || !strings.Contains(text, boss.Email) {
		t.Errorf("history: %s", text)
	}
}

// Every action refuses a post from another site, and it changes nothing and records nothing.
func TestConsole_CrossSitePostsRefused(t *testing.T) {
	s := webtest.NewServer(t)
	msg := consoleFixture(t, s)
	c, _ := s.StaffClient(t, staff.Supervisor)
	evil := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://attacker.example"}}
	for _, p := range append(consolePosts(msg), struct {
		action staff.Action
		path   string
		form   url.Values
	}{staff.ActionSearch, "/staff/users", url.Values{"q": {"demo-zh"}}}) {
		if r := s.PostForm(t, c, p.path, p.form, evil); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", p.path, r.StatusCode)
		}
		if n := len(consoleAudit(t, s, p.action, "")); n != 0 {
			t.Errorf("cross-site %s: %d audit records", p.path, n)
		}
	}
}

// An agent may search, view, resend, issue assist codes and retry; unlock, reset, extend and the
// audit log are refused on the server and not offered on the page. Without a staff session
// nothing is served: a page leads to the staff sign-in.
func TestConsole_RolesPerRoute(t *testing.T) {
	s := webtest.NewServer(t)
	msg := consoleFixture(t, s)
	agent, _ := s.StaffClient(t, staff.Agent)
	page := s.Get(t, agent, "/staff/users/demo-zh", nil)
	if page.StatusCode != http.StatusOK || page.Doc.Find(`form[action$="/unlock"], a[href$="/reset"], form[action$="/deadline"]`).Length() != 0 ||
		page.Doc.Find(`form[action$="/assist"]`).Length() != 1 {
		t.Errorf("agent's user page offers the wrong actions (%d)", page.StatusCode)
	}
	for _, p := range consolePosts(msg) {
		want := http.StatusForbidden
		if !staff.Can(staff.Agent, p.action) {
			if r := s.PostForm(t, agent, p.path, p.form, nil); r.StatusCode != want {
				t.Errorf("agent %s: %d", p.action, r.StatusCode)
			}
		}
	}
	for _, path := range []string{"/staff/users/demo-zh/reset", "/staff/audit", "/staff/audit.csv"} {
		if r := s.Get(t, agent, path, nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("agent GET %s: %d", path, r.StatusCode)
		}
	}
	for _, path := range []string{"/staff/dashboard", "/staff/users", "/staff/users/demo-zh"} {
		if r := s.Get(t, agent, path, nil); r.StatusCode != http.StatusOK {
			t.Errorf("agent GET %s: %d", path, r.StatusCode)
		}
		if r := s.Get(t, s.Client(), path, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/staff/signin") {
			t.Errorf("anonymous GET %s: %d to %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := s.Get(t, agent, "/staff/users/nobody", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("no such user: %d", r.StatusCode)
	}
}

// A staff member whose email is a user's may look at that user but not act on them.
func TestConsole_OwnAccountViewOnly(t *testing.T) {
	s := webtest.NewServer(t)
	m := s.AddStaff(t, staff.Supervisor, "zhang.wei@example.com")
	c := s.Client()
	s.SignInStaff(t, c, m)
	page := s.Get(t, c, "/staff/users/demo-zh", nil)
	if page.StatusCode != http.StatusOK || page.Doc.Find(`form[action^="/staff/users/demo-zh/"]`).Length() != 0 {
		t.Errorf("own account: %d, %d forms", page.StatusCode, page.Doc.Find(`form[action^="/staff/users/demo-zh/"]`).Length())
	}
	if r := s.PostForm(t, c, "/staff/users/demo-zh/assist", url.Values{"reason": {"me"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("assist code for oneself: %d", r.StatusCode)
	}
	if n := len(consoleAudit(t, s, staff.ActionIssueAssist, "demo-zh")); n != 0 {
		t.Errorf("%d assist codes recorded", n)
	}
}

// The audit log filters by action and user, and a supervisor's export is CSV for Excel: a UTF-8
// BOM, the staff member's language, and a reason that looks like a formula neutralised.
func TestConsole_AuditLogAndExport(t *testing.T) {
	s := webtest.NewServer(t)
	c, boss := s.StaffClient(t, staff.Supervisor)
	if r := s.PostForm(t, c, "/staff/users/demo-en/notice", url.Values{"reason": {`=HYPERLINK("https://evil.example")`}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resend: %d", r.StatusCode)
	}
	r := s.Get(t, c, "/staff/audit?action=resend_notice&user=demo-en&staff="+boss.ID, nil)
	if r.StatusCode != http.StatusOK || r.Doc.Find("table.console-audit tbody tr").Length() != 1 {
		t.Fatalf("audit page: %d, %d rows", r.StatusCode, r.Doc.Find("table.console-audit tbody tr").Length())
	}
	if r := s.Get(t, c, "/staff/audit?from=yesterday", nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad date: %d", r.StatusCode)
	}
	csv := s.Get(t, c, "/staff/audit.csv?action=resend_notice", nil)
	if csv.StatusCode != http.StatusOK || csv.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(csv.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %v", csv.StatusCode, csv.Header)
	}
	if !bytes.HasPrefix(csv.Body, []byte("\xef\xbb\xbf时间,")) || !strings.Contains(string(csv.Body), `"'=HYPERLINK(""https://evil.example"")"`) ||
		!strings.Contains(string(csv.Body), "重新发送停用通知") {
		t.Errorf("export body:\n%s", csv.Body)
	}
	if n := len(consoleAudit(t, s, staff.ActionExport, "")); n != 1 {
		t.Errorf("%d exports recorded", n)
	}
}

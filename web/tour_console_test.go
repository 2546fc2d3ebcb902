package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web/webtest"
)

// tourConsole walks the support console: a supervisor's pages, forms refused with their errors and
// the assist code shown once. (The staff tour has the refusals of a lesser role; console_test.go
// the audit log's refused dates.)
func tourConsole(t *testing.T, s *webtest.Server, newClient func() *http.Client,
	get func(string, *http.Client, string, int) *webtest.Response,
	post func(string, *http.Client, string, url.Values, http.Header, int) *webtest.Response) {
	t.Helper()
	boss := newClient()
	s.SignInStaff(t, boss, s.AddStaff(t, staff.Supervisor, ""))
	get("console/dashboard", boss, "/staff/dashboard", http.StatusOK)
	get("console/search", boss, "/staff/users", http.StatusOK)
	post("console/search/empty", boss, "/staff/users", url.Values{"q": {" "}}, nil, http.StatusUnprocessableEntity)
	post("console/search/none found", boss, "/staff/users", url.Values{"q": {"13999999999"}}, nil, http.StatusOK)
	get("console/user", boss, "/staff/users/demo-en", http.StatusOK)
	post("console/user/no reason", boss, "/staff/users/demo-en/notice", url.Values{}, nil, http.StatusUnprocessableEntity)
	post("console/user/deadline earlier", boss, "/staff/users/demo-en/deadline", url.Values{"deadline": {"2026-01-01"}, "reason": {"x"}}, nil,
		http.StatusUnprocessableEntity)
	post("console/assist code", boss, "/staff/users/demo-en/assist", url.Values{"reason": {"caller checked"}}, nil, http.StatusOK)
	post("console/unlock/not locked", boss, "/staff/users/demo-en/unlock", url.Values{"method": {"phone"}, "reason": {"x"}}, nil,
		http.StatusUnprocessableEntity)
	post("console/retry/no such message", boss, "/staff/users/demo-en/messages/999999/retry", url.Values{"reason": {"x"}}, nil, http.StatusNotFound)
	get("console/reset/confirm", boss, "/staff/users/demo-en/reset", http.StatusOK)
	post("console/reset/no reason", boss, "/staff/users/demo-en/reset", url.Values{}, nil, http.StatusUnprocessableEntity)
	get("console/audit", boss, "/staff/audit", http.StatusOK)
}

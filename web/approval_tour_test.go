package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/web/webtest"
)

// tourApproval visits the pages of a sign-in approved on a phone: My security with this device
// approving, the computer's page with the number and its states, the phone's inbox, request and
// answers, and the refusals (the form without its token, a browser without the binding).
func tourApproval(t *testing.T, s *webtest.Server, userID, secret string, newClient func() *http.Client,
	record func(string, *http.Client, *webtest.Response, int) *webtest.Response) {
	t.Helper()
	hx := http.Header{"HX-Request": {"true"}, "HX-Request-Type": {"partial"}}
	see := func(c *http.Client, path string, form url.Values, to string) {
		t.Helper()
		if r := s.PostForm(t, c, path, form, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), to) {
			t.Fatalf("tour: POST %s: %d to %q, want 303 to %q", path, r.StatusCode, r.Header.Get("Location"), to)
		}
	}
	s.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, s.Clock.Now())
	phone := newClient()
	see(phone, "/signin/totp", url.Values{"account": {userID}, "code": {code}}, "")
	see(phone, "/security/approver", nil, "/security")
	record("security/this device approves", phone, s.Get(t, phone, "/security", nil), http.StatusOK)

	desk := newClient()
	see(desk, "/signin/account", url.Values{"account": {userID}, "method": {"approval"}}, "/signin/approval")
	record("signin approval/number shown", desk, s.Get(t, desk, "/signin/approval", nil), http.StatusOK)
	inbox := record("approval inbox (htmx)", phone, s.Get(t, phone, "/approve/pending", hx), http.StatusOK)
	href, _ := inbox.Doc.Find(".approval-waiting a").Attr("href")
	show := record("approve", phone, s.Get(t, phone, href, nil), http.StatusOK)
	token, _ := show.Doc.Find(`input[name="token"]`).Attr("value")
	record("approve/number missing", phone, s.PostForm(t, phone, href, url.Values{"answer": {"approve"}, "token": {token}}, nil), http.StatusUnprocessableEntity)
	record("approve/form token missing", phone, s.PostForm(t, phone, href, url.Values{"answer": {"deny"}}, nil), http.StatusForbidden)
	number := strings.TrimSpace(s.Get(t, desk, "/signin/approval", nil).Doc.Find(".approval-number").Text())
	record("approve/approved", phone, s.PostForm(t, phone, href, url.Values{"answer": {"approve"}, "code": {number}, "token": {token}}, nil), http.StatusOK)
	record("approve/answered already", phone, s.Get(t, phone, href, nil), http.StatusOK)
	record("signin approval/approved (htmx)", desk, s.Get(t, desk, "/signin/approval/status", hx), http.StatusOK)
	record("signin approval/not this browser", newClient(), s.PostForm(t, newClient(), "/signin/approval/complete", nil, nil), http.StatusForbidden)
	see(desk, "/signin/approval/complete", nil, "/security")

	s.Clock.Advance(31 * time.Second)
	refused := newClient()
	see(refused, "/signin/account", url.Values{"account": {userID}, "method": {"approval"}}, "/signin/approval")
	href, _ = record("approval inbox/waiting (htmx)", phone, s.Get(t, phone, "/approve/pending", hx), http.StatusOK).Doc.Find(".approval-waiting a").Attr("href")
	token, _ = s.Get(t, phone, href, nil).Doc.Find(`input[name="token"]`).Attr("value")
	record("approve/wrong number", phone, s.PostForm(t, phone, href, url.Values{"answer": {"approve"}, "code": {"1"}, "token": {token}}, nil), http.StatusUnprocessableEntity)
	record("signin approval/ended", refused, s.Get(t, refused, "/signin/approval", nil), http.StatusOK)
	record("signin approval/asked again too soon", refused, s.PostForm(t, refused, "/signin/approval", nil, nil), http.StatusTooManyRequests)
}

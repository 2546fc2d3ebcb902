package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// approverPhone signs userID in on a new browser (the phone) and enrolls it as an approver.
func approverPhone(t *testing.T, srv *webtest.Server, userID, secret string) *http.Client {
	t.Helper()
	phone := signIn(t, srv, userID, secret)
	if r := srv.PostForm(t, phone, "/security/approver", url.Values{}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enroll approver: %d", r.StatusCode)
	}
	return phone
}

// askPhone names the account on a new browser (the desktop), asks for approval and returns the
// browser with the number it shows.
func askPhone(t *testing.T, srv *webtest.Server, account string) (*http.Client, string) {
	t.Helper()
	desk := srv.Client()
	r := srv.PostForm(t, desk, "/signin/account", url.Values{"account": {account}, "method": {"approval"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin/approval" {
		t.Fatalf("ask: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.Doc.Find("#blocked").Text())
	}
	page := srv.Get(t, desk, "/signin/approval", nil)
	number := strings.TrimSpace(page.Doc.Find(".approval-number").Text())
	if page.StatusCode != http.StatusOK || len(number) != 6 {
		t.Fatalf("waiting page: %d, number %q", page.StatusCode, number)
	}
	return desk, number
}

// pendingRequest returns the ID of the request the phone's inbox shows.
func pendingRequest(t *testing.T, srv *webtest.Server, phone *http.Client) (id, token string) {
	t.Helper()
	r := srv.Get(t, phone, "/approve/pending", http.Header{"HX-Request": {"true"}})
	href, ok := r.Doc.Find(".approval-waiting a").Attr("href")
	if r.StatusCode != http.StatusOK || !ok {
		t.Fatalf("inbox: %d %q", r.StatusCode, r.Body)
	}
	id = strings.TrimPrefix(href, "/approve/")
	show := srv.Get(t, phone, href, nil)
	token, _ = show.Doc.Find(`input[name="token"]`).Attr("value")
	if show.StatusCode != http.StatusOK || token == "" || strings.Contains(string(show.Body), "approval-number") {
		t.Fatalf("request page: %d", show.StatusCode)
	}
	return id, token
}

// The whole way over HTTP: the phone types the number, the desktop that asked completes once and
// is signed in with amr mca; that session is not fresh enough for a sensitive change. Another
// browser without the binding cookie can neither read the state nor complete, and a replay of the
// completion is refused.
func TestApproval_PhoneApprovesTheDesktop(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	phone := approverPhone(t, srv, "demo-en", secret)
	desk, number := askPhone(t, srv, "demo-en")
	id, token := pendingRequest(t, srv, phone)

	stranger := srv.Client()
	if r := srv.Get(t, stranger, "/signin/approval/status", http.Header{"HX-Request": {"true"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("status without the binding: %d", r.StatusCode)
	}
	if r := srv.Get(t, desk, "/signin/approval/status", http.Header{"HX-Request": {"true"}}); r.StatusCode != http.StatusNoContent {
		t.Fatalf("status while pending: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, phone, "/approve/"+id, url.Values{"answer": {"approve"}, "code": {number}}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("answer without the form's token: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, phone, "/approve/"+id, url.Values{"answer": {"approve"}, "code": {number}, "token": {token}}, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	if r := srv.Get(t, desk, "/signin/approval/status", http.Header{"HX-Request": {"true"}}); r.StatusCode != http.StatusOK || r.Doc.Find("#approval-complete").Length() != 1 {
		t.Fatalf("status once approved: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, stranger, "/signin/approval/complete", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("completion without the binding: %d", r.StatusCode)
	}
	bound := srv.Cookie(desk, "smsretire_approval")
	r := srv.PostForm(t, desk, "/signin/approval/complete", url.Values{}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/security" {
		t.Fatalf("complete: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	sessions, _ := srv.App.Sessions.Active(context.Background(), "user", "demo-en")
	approved := 0
	for _, ss := range sessions {
		if strings.Join(ss.Methods, " ") == "mca" {
			approved++
		}
	}
	if len(sessions) != 2 || approved != 1 {
		t.Fatalf("sessions: %+v", sessions)
	}
	// A replay of the completion, with the binding cookie put back, signs nobody in.
	replay := srv.Client()
	u, _ := url.Parse(srv.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "smsretire_approval", Value: bound}})
	if r := srv.PostForm(t, replay, "/signin/approval/complete", url.Values{}, nil); r.StatusCode != http.StatusConflict {
		t.Fatalf("replayed completion: %d", r.StatusCode)
	}
	// Signed in by approval: My security opens, a sensitive change asks for a factor first.
	if r := srv.Get(t, desk, "/security", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("My security: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, desk, "/security/approver", url.Values{}, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?") {
		t.Fatalf("enroll approver from an approved session: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// A wrong number ends the request; a refusal ends it too; "this wasn't me" pauses approvals. The
// desktop learns each.
func TestApproval_WrongNumberDenyAndNotMe(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	phone := approverPhone(t, srv, "demo-en", secret)
	for _, tc := range []struct{ answer, state string }{{"approve", "wrong"}, {"deny", "denied"}, {"not_me", "denied"}} {
		srv.Clock.Advance(31 * time.Second)
		desk, number := askPhone(t, srv, "demo-en")
		id, token := pendingRequest(t, srv, phone)
		wrong := "000000"
		if number == wrong {
			wrong = "111111"
		}
		r := srv.PostForm(t, phone, "/approve/"+id, url.Values{"answer": {tc.answer}, "code": {wrong}, "token": {token}}, nil)
		if tc.answer == "approve" && r.StatusCode != http.StatusUnprocessableEntity || tc.answer != "approve" && r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.answer, r.StatusCode)
		}
		if r := srv.PostForm(t, phone, "/approve/"+id, url.Values{"answer": {"approve"}, "code": {number}, "token": {token}}, nil); r.StatusCode != http.StatusConflict {
			t.Fatalf("%s, then the right number: %d", tc.answer, r.StatusCode)
		}
		page := srv.Get(t, desk, "/signin/approval", nil)
		if !strings.Contains(page.Doc.Find("#approval-status").Text(), srv.Catalog.For("en").T("signin.approval.ended."+tc.state)) &&
			!strings.Contains(page.Doc.Find("#approval-status").Text(), srv.Catalog.For("zh-Hans").T("signin.approval.ended."+tc.state)) {
			t.Fatalf("%s: the desktop says %q", tc.answer, page.Doc.Find("#approval-status").Text())
		}
		if r := srv.PostForm(t, desk, "/signin/approval/complete", url.Values{}, nil); r.StatusCode != http.StatusConflict {
			t.Fatalf("%s: completion %d", tc.answer, r.StatusCode)
		}
	}
	srv.Clock.Advance(time.Minute)
	desk := srv.Client()
	r := srv.PostForm(t, desk, "/signin/account", url.Values{"account": {"demo-en"}, "method": {"approval"}}, nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Doc.Find("#blocked").Length() != 1 {
		t.Fatalf("after this wasn't me: %d", r.StatusCode)
	}
}

// An unknown account gets the same pages: a number, then expiry; nobody can approve it.
func TestApproval_UnknownAccountLooksTheSame(t *testing.T) {
	srv := fastServer(t)
	desk, _ := askPhone(t, srv, "nobody@example.com")
	srv.Clock.Advance(2*time.Minute + time.Second)
	page := srv.Get(t, desk, "/signin/approval", nil)
	if page.Doc.Find("#approval-status .alert").Length() != 1 {
		t.Fatalf("after expiry: %s", page.Doc.Find("#approval-status").Text())
	}
}

// --push-approval=false: not offered, its routes answer 404.
func TestApproval_OffHidesIt(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.PushApproval = false; c.MinSendTime = 0 }))
	r := srv.Get(t, srv.Client(), "/signin", nil)
	if r.Doc.Find(`button[value="approval"]`).Length() != 0 {
		t.Fatal("approval offered while off")
	}
	if r := srv.PostForm(t, srv.Client(), "/signin/approval", url.Values{}, nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("start while off: %d", r.StatusCode)
	}
	_ = store.ApprovalPending
}

// Signing in for a service by approval on the phone: the service's sign-in page offers it, and
// the ID token says amr ["mca"].
func TestOIDC_ApprovalOnThePhoneGivesAMRmca(t *testing.T) {
	srv := oidcServer(t, testsupport.SQLite(t))
	secret := enrolledTOTP(t, srv, "demo-zh")
	phone := approverPhone(t, srv, "demo-zh", secret)
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	l := newLogin()
	b := newBrowser(t, srv)
	base := srv.Config.BaseURL // where the provider's cookies live
	signin := b.follow(r.authURL(l, oauth2.SetAuthURLParam("login_hint", "demo-zh")), srv.Config.BaseURL+"/signin")
	if _, _, body := b.get(signin); !strings.Contains(body, `action="/signin/approval"`) {
		t.Fatal("the sign-in page for the service does not offer approval on the phone")
	}
	if status, loc, body := b.do(http.MethodPost, base+"/signin/approval", url.Values{}); status != http.StatusSeeOther || !strings.HasSuffix(loc, "/signin/approval") {
		t.Fatalf("ask: %d %s %s", status, loc, mainText(webtest.ParseHTML(t, []byte(body))))
	}
	_, _, body := b.get(base + "/signin/approval")
	number := strings.TrimSpace(webtest.ParseHTML(t, []byte(body)).Find(".approval-number").Text())
	id, token := pendingRequest(t, srv, phone)
	if r := srv.PostForm(t, phone, "/approve/"+id, url.Values{"answer": {"approve"}, "code": {number}, "token": {token}}, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	status, loc, _ := b.do(http.MethodPost, base+"/signin/approval/complete", url.Values{})
	if status != http.StatusSeeOther {
		t.Fatalf("complete: %d", status)
	}
	code, state := codeFrom(t, b.follow(loc, shopCallback))
	if state != l.state {
		t.Fatalf("state %q", state)
	}
	_, c, err := r.exchange(t, code, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sub != "demo-zh" || strings.Join(c.AMR, " ") != "mca" {
		t.Fatalf("claims %+v, want sub demo-zh and amr [mca]", c)
	}
}

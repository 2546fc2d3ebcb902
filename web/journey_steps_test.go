package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

// wayOf reads where a page says the user is (the step marked aria-current="step", "" for none)
// and its way back (href and text).
func wayOf(r *webtest.Response) (step, back, backText string) {
	step = strings.TrimSpace(r.Doc.Find(`ol.journey-steps li[aria-current="step"]`).Text())
	a := r.Doc.Find("main p.back a")
	back, _ = a.Attr("href")
	return step, back, strings.TrimSpace(a.Text())
}

// Every page of the journey says which of the notice's four steps it belongs to, marked
// aria-current="step", and has a plain link back; a signed-in user adding a method sees no steps
// and goes back to My security. Verification and enrollment repeat the deadline.
func TestJourney_StepsAndWaysBack(t *testing.T) {
	srv := fastServer(t)
	tr := srv.Catalog.For(i18n.Chinese)
	step := func(key string) string { return tr.T("journey.step." + key) }
	c := srv.Client()
	token := srv.NoticeToken("demo-zh")
	expect := func(path, wantStep, wantBack, wantText string) *webtest.Response {
		t.Helper()
		r := srv.Get(t, c, path, nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		gotStep, gotBack, gotText := wayOf(r)
		if gotStep != wantStep || gotBack != wantBack || (wantText != "" && gotText != wantText) {
			t.Errorf("%s: step %q, back %q %q; want step %q, back %q %q", path, gotStep, gotBack, gotText, wantStep, wantBack, wantText)
		}
		return r
	}

	srv.Get(t, c, "/notice/"+token, nil)
	expect("/verify", step("verify"), "/notice/"+token, tr.T("journey.back.notice"))
	expect("/verify/knowledge", step("verify"), "/verify", "")
	expect("/verify/assist", step("verify"), "/verify", "")
	if r := srv.PostForm(t, c, "/verify/code/send", url.Values{"channel": {"phone"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", r.StatusCode)
	}
	expect("/verify/code", step("verify"), "/verify", "")
	c2 := verifiedClientFrom(t, srv, c, "demo-zh")

	done := expect("/verify/done", step("verify"), "/notice/"+token, "")
	deadline := strings.Join(strings.Fields(done.Doc.Find(".deadline-line").Text()), " ")
	if !strings.Contains(deadline, "2026年12月31日") || !strings.Contains(deadline, "还剩 37 天") {
		t.Errorf("/verify/done says of the deadline %q", deadline)
	}
	choose := expect("/enroll", step("enroll"), "/verify/done", tr.T("journey.back.previous"))
	if !strings.Contains(choose.Doc.Find(".deadline-line").Text(), "还剩 37 天") {
		t.Error("/enroll does not repeat the deadline")
	}
	if choose.Doc.Find("ol.journey-steps li.journey-done").Length() != 1 {
		t.Error("/enroll does not show the first step as done")
	}
	expect("/enroll/passkey", step("enroll"), "/enroll", "")
	expect("/enroll/email", step("enroll"), "/enroll", "")
	app := expect("/enroll/totp", step("enroll"), "/enroll", "")
	secret := secretFrom(t, app)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	srv.PostForm(t, c2, "/enroll/totp", url.Values{"code": {code}}, nil)
	rec := expect("/enroll/recovery", step("recovery"), "/enroll", "")
	codes := rec.Doc.Find(".recovery-codes code").Length()

	// Back from the codes: the list says they wait to be saved and leads back to them.
	list := expect("/enroll", step("enroll"), "/enroll/done", "")
	if href, _ := list.Doc.Find(".alert-warning a").Attr("href"); href != "/enroll/recovery" {
		t.Errorf("the list does not lead back to the unsaved codes: %q", href)
	}
	// Adding another method asks for a sign-in with the new one; the codes stay.
	r := srv.Get(t, c, "/enroll/passkey", nil)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/signin?next=%2Fenroll%2Fpasskey") {
		t.Fatalf("another method after the first: %d %q", r.StatusCode, loc)
	}
	expect(loc, step("confirm"), "/enroll/done", "")
	srv.Clock.Advance(30 * time.Second)
	code, _ = totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/signin/totp", url.Values{"code": {code}}, nil); r.Header.Get("Location") != "/enroll/passkey" {
		t.Fatalf("sign-in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if got := srv.Get(t, c, "/enroll/recovery", nil).Doc.Find(".recovery-codes code").Length(); got != codes || codes == 0 {
		t.Errorf("after signing in, %d of %d unsaved recovery codes are shown", got, codes)
	}

	// Signed in, adding a method is no journey: no steps, back to My security.
	expect("/enroll", "", "/security", tr.T("signin.back.security"))
	expect("/enroll/totp", "", "/enroll", "")
	if r := srv.PostForm(t, c, "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("codes saved: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, c, "/security/recovery/regenerate", nil, nil); r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("regenerate: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	expect("/enroll/recovery", "", "/security", "")
}

// A look-up leads back home, not to a notice.
func TestJourney_LookUpLeadsBackHome(t *testing.T) {
	srv := fastServer(t)
	c := srv.Client()
	srv.Get(t, c, "/notice/"+srv.NoticeToken("demo-en"), nil)
	srv.PostForm(t, c, "/find", url.Values{"account": {"demo-zh"}}, nil)
	if _, back, _ := wayOf(srv.Get(t, c, "/verify", nil)); back != "/" {
		t.Errorf("after a look-up, /verify leads back to %q", back)
	}
}

// verifiedClientFrom verifies the user of c's notice with an assist code in c itself, and returns c.
func verifiedClientFrom(t *testing.T, srv *webtest.Server, c *http.Client, userID string) *http.Client {
	t.Helper()
	code, _, err := srv.App.Identity.IssueAssistCode(t.Context(), userID, "test", audit.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.PostForm(t, c, "/verify/assist", url.Values{"code": {code}}, nil); r.Header.Get("Location") != "/verify/done" {
		t.Fatalf("assist: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	return c
}

package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// TestJourneySessions_EndedFromAnotherBrowserSignsItOut is the security issue's journey in real
// headless Chromium: a person enrolls an authenticator app and signs in in browser A, signs in
// again in browser B (its own cookies), ends B's session from A's My security, and B is signed
// out on its next request while A stays signed in.
func TestJourneySessions_EndedFromAnotherBrowserSignsItOut(t *testing.T) {
	srv := fastServer(t)
	browser := testsupport.Browser(t)
	a := sessionJourney(t, browser, srv.URL)
	b := sessionJourney(t, browser, srv.URL)

	// A: verified with a support assist code, then an authenticator app and recovery codes.
	assist, _, err := srv.App.Identity.IssueAssistCode(context.Background(), "demo-en", "test", audit.Client{IP: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a.open("/notice/" + srv.NoticeToken("demo-en"))
	a.open("/verify/assist")
	a.fill("#code", assist)
	a.click(`form[action="/verify/assist"] button[type="submit"]`, "/verify/done")
	a.open("/enroll/totp")
	secret := strings.ReplaceAll(a.text("#totp-secret"), " ", "")
	if len(secret) != 32 {
		t.Fatalf("key on the page %q", secret)
	}
	a.fill("#code", codeNow(t, srv.Clock.Now(), secret))
	a.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/recovery")
	a.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")

	// A signs in with the next code; B, still a stranger here, is not signed in.
	srv.Clock.Advance(30 * time.Second)
	signInTOTP(a, codeNow(t, srv.Clock.Now(), secret))
	b.needsSignIn("/security")

	// B signs in with the code after that.
	srv.Clock.Advance(30 * time.Second)
	signInTOTP(b, codeNow(t, srv.Clock.Now(), secret))
	if got := b.text("h1"); got != "My security" {
		t.Errorf("B's page h1 %q, want My security", got)
	}

	// A sees both sessions, its own marked, and ends the other.
	a.open("/security")
	a.check()
	if n := evalAs[int](a, `document.querySelectorAll(".session-list > li").length`); n != 2 {
		t.Fatalf("A lists %d sessions, want 2", n)
	}
	if got := evalAs[[]string](a, `[...document.querySelectorAll(".session-list > li .badge")].map((b) => b.textContent.trim())`); len(got) != 1 || got[0] != "This device" {
		t.Errorf("session badges %q, want one This device", got)
	}
	other := `.session-list > li:not(:has(.badge)) form[action="/security/sessions/end"] button[type="submit"]`
	if n := evalAs[int](a, `document.querySelectorAll('.session-list form[action="/security/sessions/end"]').length`); n != 1 {
		t.Fatalf("%d sign-out buttons in the session list, want 1: for the other device only", n)
	}
	if got := a.text(other); got != "Sign out this device" {
		t.Errorf("the button says %q", got)
	}
	a.click(other, "/security")
	if got := a.text(`.alert-success[role="status"]`); got != "That device was signed out." {
		t.Errorf("notice after ending %q", got)
	}
	if n := evalAs[int](a, `document.querySelectorAll(".session-list > li").length`); n != 1 {
		t.Errorf("A lists %d sessions after ending B's, want 1", n)
	}
	a.check()

	// B's next request finds it signed out; A still works.
	b.needsSignIn("/security")
	a.open("/security")
	if got := a.text("h1"); got != "My security" {
		t.Errorf("A's page h1 %q after ending B, want My security", got)
	}
}

// sessionJourney opens a tab with its own browser context, in English, on the portal at base.
func sessionJourney(t *testing.T, browser context.Context, base string) *journey {
	t.Helper()
	tab := testsupport.Tab(t, browser)
	j := &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: base, lang: i18n.English}
	speak(t, tab, "en-US,en")
	return j
}

// signInTOTP signs in at /signin with the app's code and lands on My security: the account once
// (unless this browser remembers it), then the code.
func signInTOTP(j *journey, code string) {
	j.t.Helper()
	j.open("/signin")
	if j.eval(`String(document.querySelector("#account") !== null)`) == "true" {
		j.fill("#account", "138 0013 8002")
		j.click(`form[action="/signin/account"] button[value="totp"]`, "/signin")
	}
	j.fill("#totp-code", code)
	j.click(`form[action="/signin/totp"] button[type="submit"]`, "/security")
}

func codeNow(t *testing.T, now time.Time, secret string) string {
	t.Helper()
	code, err := totp.CodeAt(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// needsSignIn loads path and expects the "Please sign in first" page, answered 401; the
// browser's report of that status is the one console error allowed.
func (j *journey) needsSignIn(path string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.base+path))
	if err != nil {
		j.t.Fatalf("open %s: %v", path, err)
	}
	if resp == nil || resp.Status != 401 {
		j.t.Fatalf("open %s: response %+v, want 401", path, resp)
	}
	if got := j.text("h1"); got != "Please sign in first" {
		j.t.Errorf("%s says %q, want Please sign in first", path, got)
	}
	if got := j.text(`main a.button[href="/signin"]`); got != "Sign in" {
		j.t.Errorf("the way to sign in says %q", got)
	}
	if got := j.eval(`document.documentElement.lang`); got != j.lang {
		j.t.Errorf("%s is in %q, want %q", path, got, j.lang)
	}
	url := j.eval(`location.href`)
	for _, e := range j.console.Take() {
		if e.Source == "network" && e.URL == url && strings.Contains(e.Text, "status of 401") {
			continue
		}
		j.t.Errorf("browser console at %s: %s", path, e)
	}
}

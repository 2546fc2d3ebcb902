package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestJourney_PasskeyInEnglish is the way of an English user on a computer whose screen lock
// makes passkeys, in real headless Chromium with its virtual authenticator: verified with a
// support assist code, a passkey made on /enroll/passkey, recovery codes, signing in again with
// the passkey button, and My security listing the passkey by the name it was given.
func TestJourney_PasskeyInEnglish(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
	// Passkeys need a domain: the portal on a loopback address is the relying party "localhost",
	// reached at http://localhost:PORT, never at 127.0.0.1.
	base := strings.Replace(srv.URL, "://127.0.0.1:", "://localhost:", 1)
	if srv.Config.RPID != "localhost" || !slices.Contains(srv.Config.RPOriginList(), base) {
		t.Fatalf("relying party %q with origins %q, want localhost with %s", srv.Config.RPID, srv.Config.RPOriginList(), base)
	}
	tab := testsupport.Tab(t, testsupport.Browser(t))
	j := &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: base, lang: i18n.English}
	speak(t, tab, "en-US,en")
	platformAuthenticator(t, tab)
	// This browser offers no passkeys in autofill, so signing in is the button's work; sign-in
	// from autofill is tested with passkey.js in internal/factor/passkey.
	if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete PublicKeyCredential.isConditionalMediationAvailable;`,
	}); err != nil {
		t.Fatal(err)
	}

	// Support confirmed the person on the phone and read out an assist code.
	j.open("/notice/" + srv.NoticeToken("demo-en"))
	j.click(`a.button[href="/verify"]`, "/verify")
	j.click(`a[href="/verify/assist"]`, "/verify/assist")
	j.fill("#code", assistCode(t, srv, "demo-en"))
	j.click(`form[action="/verify/assist"] button[type="submit"]`, "/verify/done")
	j.click(`.cta a.button`, "/enroll")
	j.check()
	for _, p := range []string{"/enroll/totp", "/enroll/email", "/enroll/passkey"} {
		j.open(p)
		j.check()
	}

	// The passkey, named by the person, made by the device's screen lock.
	j.waitUntil(`document.querySelector('form[data-passkey="register"]').dataset.passkeyReady === "true"`, "passkey.js")
	if got := j.text(`label[for="passkey-name"]`); got != "Name of this passkey" {
		t.Errorf("name field labelled %q", got)
	}
	j.replace("#passkey-name", "Journey laptop")
	j.click(`form[data-passkey="register"] button[type="submit"]`, "/enroll/recovery")
	j.check()
	if n := evalAs[int](j, `document.querySelectorAll(".recovery-codes code").length`); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	j.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
	j.check()
	if got := j.text("h1"); got != "SMS verification is retired" {
		t.Errorf("done page h1 %q", got)
	}
	if got := j.text(".factor-list li strong"); got != "Journey laptop" {
		t.Errorf("done page lists %q, want the passkey", got)
	}

	// Signing in again: the button, the device, My security.
	j.click(`.cta a.button`, "/signin")
	j.check()
	srv.Clock.Advance(time.Minute)
	j.waitUntil(`document.querySelector('form[data-passkey="login"]').dataset.passkeyReady === "true"`, "passkey.js")
	j.click(`form[data-passkey="login"] button[type="submit"]`, "/security")
	j.check()
	if got := j.text(".factor-cards h3"); got != "Journey laptop" {
		t.Errorf("My security lists %q, want the passkey by its name", got)
	}
	if got := j.text(".factor-cards .factor p"); !strings.HasPrefix(got, "Passkey") {
		t.Errorf("the factor is described as %q, want a passkey", got)
	}
	if got := j.text(".status-retired"); !strings.HasPrefix(got, "SMS verification retired") {
		t.Errorf("status %q, want SMS retired", got)
	}
	events := evalAs[[]string](j, `[...document.querySelectorAll("table.history tbody tr td .event-text")].map((td) => td.textContent.trim())`)
	for _, want := range []string{"SMS verification retired", "Signed in (passkey)"} {
		if !slices.Contains(events, want) {
			t.Errorf("history lacks %q: %q", want, events)
		}
	}

	j.click(`form[action="/signout"] button[type="submit"]`, "/signin")
	j.check()
	if got := j.text(`.alert-success[role="status"]`); got != "You have signed out." {
		t.Errorf("signed-out notice %q", got)
	}
}

// platformAuthenticator gives the tab a virtual authenticator as a computer's screen lock is one:
// built in, holding discoverable credentials, verifying the user.
func platformAuthenticator(t *testing.T, tab context.Context) {
	t.Helper()
	if _, err := chromedp.Call(tab, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	if _, err := chromedp.Call(tab, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatalf("add virtual authenticator: %v", err)
	}
}

// assistCode issues a support assist code for userID, as the support console would.
func assistCode(t *testing.T, srv *webtest.Server, userID string) string {
	t.Helper()
	code, _, err := srv.App.Identity.IssueAssistCode(context.Background(), userID, "support", audit.Client{IP: "127.0.0.1"})
	if err != nil {
		t.Fatalf("assist code: %v", err)
	}
	return code
}

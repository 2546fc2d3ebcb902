package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestJourneyContact_ChangeEmailNoticesAndThisWasntMe is the contact and notice issue's journey in
// real headless Chromium, with email over real SMTP, in both languages: a person who retired SMS in
// browser A changes their email address in My security (a code to the new address over SMTP); the
// old address gets a notice with a "this wasn't me" link, the phone a text message, the new
// address a notice of its own. Someone signs in on browser B: a new device, so the (new) address
// is told. The person opens the old address's link in a third browser and confirms: every session
// ends, A and B are signed out, the old address is back, and after signing in again My security
// says changes are paused and leads to verifying the identity again.
func TestJourneyContact_ChangeEmailNoticesAndThisWasntMe(t *testing.T) {
	for _, tc := range []struct {
		user, lang, accept, account, email, phone string
	}{
		{"demo-zh", i18n.Chinese, "zh-CN,zh", "138 0013 8001", zhEmail, zhPhone},
		{"demo-en", i18n.English, "en-US,en", "138 0013 8002", enEmail, "+8613800138002"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			mailServer := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
			srv := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMTP: mailServer}),
				webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
			tr := srv.Catalog.For(tc.lang)
			browser := testsupport.Browser(t)
			tab := func(phone bool) *journey {
				j := &journey{t: t, tab: testsupport.Tab(t, browser), base: srv.URL, lang: tc.lang, phone: phone}
				j.console = testsupport.WatchConsole(t, j.tab)
				speak(t, j.tab, tc.accept)
				if phone {
					if err := chromedp.Do(j.tab, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)); err != nil {
						t.Fatal(err)
					}
				}
				return j
			}
			// A is a phone: My security and the contact pages must fit 375 px.
			a, b, mail := tab(true), tab(false), tab(false)

			// A: verified with an assist code, an authenticator app retires SMS.
			secret := retireInBrowser(t, srv, a, tc.user)
			srv.Clock.Advance(30 * time.Second)
			signInAs(a, tc.account, codeNow(t, srv.Clock.Now(), secret))
			a.check()
			if got, want := a.text(".notices-to"), tr.Tf("contact.notices.email", map[string]any{"To": tc.email}); got != want {
				t.Errorf("where notices go: %q, want %q", got, want)
			}

			// A changes the email address: a code to the new address, over SMTP.
			newEmail := "new." + tc.email
			a.screenshot("security-" + tc.lang)
			a.click(`.contact-facts a[href="/security/email"]`, "/security/email")
			a.check()
			a.fill("#email", newEmail)
			a.click(`form[action="/security/email"] button[type="submit"]`, "/security/email")
			srv.Deliver(t)
			code := webtest.CodeIn(mailTo(t, mailServer, newEmail, tr.Tf("mail.contact.code.subject", map[string]any{"Service": srv.Config.ServiceName})).Part("text/plain"))
			a.check()
			a.fill("#code", code)
			a.click(`form[action="/security/email/confirm"] button[type="submit"]`, "/security")
			if got := a.text(`.alert-success[role="status"]`); got != tr.T("contact.email.changed") {
				t.Errorf("after the change: %q", got)
			}
			if got := a.text(".contact-email"); got != newEmail {
				t.Errorf("My security shows the address %q, want %q", got, newEmail)
			}

			// The notices: the old address (with its link), the phone by SMS, the new address.
			srv.Deliver(t)
			fields := map[string]any{"Service": srv.Config.ServiceName, "Field": tr.T("mail.field.email")}
			old := mailTo(t, mailServer, tc.email, tr.Tf("mail.notice.contact.changed.subject", fields))
			link := notMePath.FindString(old.Part("text/plain"))
			if link == "" || !strings.Contains(old.Part("text/html"), link) {
				t.Fatalf("the old address's notice has no this-wasn't-me link in both parts:\n%s", old.Part("text/plain"))
			}
			mailTo(t, mailServer, newEmail, tr.Tf("mail.notice.contact.registered.subject", fields))
			if sms := srv.Devbox.For(tc.phone); len(sms) == 0 || !strings.Contains(sms[0].Text, srv.Config.SupportPhone) || strings.Contains(sms[0].Text, "http") {
				t.Errorf("the phone's text about the change: %+v", sms)
			}

			// Someone signs in on browser B: a device the account has not used, so the address is told.
			before := len(mailServer.Messages())
			srv.Clock.Advance(30 * time.Second)
			signInAs(b, tc.account, codeNow(t, srv.Clock.Now(), secret))
			srv.Deliver(t)
			if n := len(mailServer.Messages()) - before; n != 1 {
				t.Fatalf("%d messages after B's sign-in, want the one new-device notice", n)
			}
			mailTo(t, mailServer, newEmail, tr.Tf("mail.notice.signin.new_device.subject", map[string]any{"Service": srv.Config.ServiceName}))

			// The old address's owner follows the link in a third browser: asked first, then done.
			mail.open(link)
			mail.check()
			mail.screenshot("not-me-" + tc.lang)
			if got := mail.text("h1"); got != tr.T("notme.title") {
				t.Errorf("the link's page: %q", got)
			}
			mail.click(`form[action^="/not-me/"] button[type="submit"]`, "/not-me/done")
			mail.check()
			mail.screenshot("not-me-done-" + tc.lang)
			if got := mail.text(`.alert-success[role="status"]`); got != tr.T("notme.done.body") {
				t.Errorf("done page: %q", got)
			}
			if !strings.Contains(mail.text("main"), tr.T("notme.done.reverted.email")) || !strings.Contains(mail.text("main"), srv.Config.SupportPhone) {
				t.Errorf("the done page does not say the old address is back, or how to reach support: %q", mail.text("main"))
			}
			if u, _ := srv.Store.UserByID(context.Background(), tc.user); u.Email != tc.email || !u.ChangesLocked() {
				t.Errorf("after this-wasn't-me: email %q, locked %v", u.Email, u.ChangesLocked())
			}

			// Every session ended: A and B are asked to sign in.
			a.signedOut(tr)
			b.signedOut(tr)

			// A signs in again: changes wait for a verification, which My security leads to.
			srv.Clock.Advance(30 * time.Second)
			signInAs(a, tc.account, codeNow(t, srv.Clock.Now(), secret))
			a.check()
			a.screenshot("security-locked-" + tc.lang)
			if !strings.Contains(a.text(".locked-note"), tr.T("locked.how")) {
				t.Errorf("My security does not say how to lift the pause: %q", a.text(".locked-note"))
			}
			a.click(`.locked-note form button[type="submit"]`, "/verify")
		})
	}
}

var notMePath = regexp.MustCompile(`/not-me/[A-Za-z]+`)

// retireInBrowser verifies userID in the browser with a support assist code and sets up an
// authenticator app, which retires SMS; it returns the app's secret.
func retireInBrowser(t *testing.T, srv *webtest.Server, j *journey, userID string) string {
	t.Helper()
	assist, _, err := srv.App.Identity.IssueAssistCode(context.Background(), userID, "test", audit.Client{IP: "test"})
	if err != nil {
		t.Fatal(err)
	}
	j.open("/notice/" + srv.NoticeToken(userID))
	j.open("/verify/assist")
	j.fill("#code", assist)
	j.click(`form[action="/verify/assist"] button[type="submit"]`, "/verify/done")
	j.open("/enroll/totp")
	secret := strings.ReplaceAll(j.text("#totp-secret"), " ", "")
	j.fill("#code", codeNow(t, srv.Clock.Now(), secret))
	j.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/recovery")
	j.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
	return secret
}

// signInAs signs in at /signin with account and an authenticator code and lands on My security.
func signInAs(j *journey, account, code string) {
	j.t.Helper()
	j.open("/signin")
	if j.eval(`String(document.querySelector("#account") !== null)`) == "true" {
		j.fill("#account", account)
		j.click(`form[action="/signin/account"] button[value="totp"]`, "/signin")
	}
	j.fill("#totp-code", code)
	j.click(`form[action="/signin/totp"] button[type="submit"]`, "/security")
}

// signedOut loads My security and expects the page that asks to sign in (401), in j's language.
func (j *journey) signedOut(tr *i18n.Translator) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.base+"/security"))
	if err != nil {
		j.t.Fatalf("open /security: %v", err)
	}
	if resp == nil || resp.Status != 401 {
		j.t.Fatalf("/security after this-wasn't-me: %+v, want 401", resp)
	}
	if got := j.text("h1"); got != tr.T("error.need_signin.title") {
		j.t.Errorf("/security says %q", got)
	}
	url := j.eval(`location.href`)
	for _, e := range j.console.Take() {
		if e.Source == "network" && e.URL == url && strings.Contains(e.Text, "status of 401") {
			continue
		}
		j.t.Errorf("browser console: %s", e)
	}
}

// mailTo returns the newest message the SMTP server received for to with subject, failing the
// test when there is none.
func mailTo(t *testing.T, srv *testsupport.SMTPServer, to, subject string) testsupport.ReceivedMail {
	t.Helper()
	msgs := srv.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if len(m.To) == 1 && m.To[0] == to && m.Header("Subject") == subject {
			return m
		}
	}
	var got []string
	for _, m := range msgs {
		got = append(got, strings.Join(m.To, ",")+": "+m.Header("Subject"))
	}
	t.Fatalf("no mail to %s about %q; received:\n  %s", to, subject, strings.Join(got, "\n  "))
	return testsupport.ReceivedMail{}
}

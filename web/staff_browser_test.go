package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestBrowser_StaffSetUpAndSignIn follows two new staff members in headless Chromium from their
// setup links: a supervisor in Chinese makes a passkey with the virtual authenticator and signs in
// with it again; an admin in English adds an authenticator app and signs in with its next code.
// axe checks every page on the way.
func TestBrowser_StaffSetUpAndSignIn(t *testing.T) {
	srv := webtest.NewServer(t)
	base := strings.Replace(srv.URL, "://127.0.0.1:", "://localhost:", 1)
	browser := testsupport.Browser(t)
	ctx := context.Background()

	t.Run("passkey in Chinese", func(t *testing.T) {
		tab := testsupport.Tab(t, browser)
		j := &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: base, lang: i18n.Chinese}
		speak(t, tab, "zh-CN,zh")
		platformAuthenticator(t, tab)
		if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `delete PublicKeyCredential.isConditionalMediationAvailable;`,
		}); err != nil {
			t.Fatal(err)
		}
		m, token, err := srv.App.Staff.Add(ctx, staff.CLI("test"), "li.na@staff.example", staff.Supervisor, "李娜")
		if err != nil {
			t.Fatal(err)
		}
		j.open("/staff/setup/" + token)
		j.check()
		j.waitUntil(`document.querySelector('form[data-passkey="register"]').dataset.passkeyReady === "true"`, "passkey.js")
		j.replace("#passkey-name", "工作电脑")
		j.click(`form[data-passkey="register"] button[type="submit"]`, "/staff")
		j.check()
		if got := j.text("main p"); !strings.Contains(got, "li.na@staff.example") || !strings.Contains(got, "客服主管") {
			t.Errorf("console greets %q", got)
		}
		if fs, _ := srv.Store.StaffFactors(ctx, m.ID); len(fs) != 1 || fs[0].Kind != "passkey" || fs[0].Name != "工作电脑" {
			t.Fatalf("staff factors: %+v", fs)
		}
		if fs, _ := srv.Store.Factors(ctx, m.ID); len(fs) != 0 {
			t.Errorf("the staff passkey landed among users' factors: %+v", fs)
		}

		j.click(`form[action="/staff/signout"] button[type="submit"]`, "/staff/signin")
		j.check()
		srv.Clock.Advance(time.Minute)
		j.waitUntil(`document.querySelector('form[data-passkey="login"]').dataset.passkeyReady === "true"`, "passkey.js")
		j.click(`form[data-passkey="login"] button[type="submit"]`, "/staff")
		if got := j.text("h1"); got != "客服控制台" {
			t.Errorf("after the passkey sign-in: h1 %q", got)
		}
		log, _ := srv.App.Staff.Audit(ctx, staff.Filter{StaffID: m.ID})
		var kinds []string
		for _, e := range log {
			kinds = append(kinds, e.Action+":"+e.Detail["kind"])
		}
		if strings.Join(kinds, " ") != "sign_in:passkey sign_out: set_up:passkey" {
			t.Errorf("audit log: %v", kinds)
		}
	})

	t.Run("authenticator app in English", func(t *testing.T) {
		tab := testsupport.Tab(t, browser)
		j := &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: base, lang: i18n.English}
		speak(t, tab, "en-US,en")
		_, token, err := srv.App.Staff.Add(ctx, staff.CLI("test"), "sam@staff.example", staff.Admin, "")
		if err != nil {
			t.Fatal(err)
		}
		j.open("/staff/setup/" + token)
		secret := strings.ReplaceAll(j.text("#totp-secret"), " ", "")
		code, _ := totp.CodeAt(secret, srv.Clock.Now())
		j.fill("#code", code)
		j.click(`form[action="/staff/setup/`+token+`"] button[type="submit"]`, "/staff")
		j.click(`a[href="/staff/admin/staff"]`, "/staff/admin/staff")
		j.check()
		j.click(`a[href="/staff"]`, "/staff")
		j.click(`form[action="/staff/signout"] button[type="submit"]`, "/staff/signin")

		// Sent to sign in from the staff list: back to it after.
		j.open("/staff/signin?next=%2Fstaff%2Fadmin%2Fstaff")
		j.check()
		srv.Clock.Advance(30 * time.Second)
		code, _ = totp.CodeAt(secret, srv.Clock.Now())
		j.fill("#email", "sam@staff.example")
		j.fill("#code", code)
		j.click(`form[action="/staff/signin"] button[type="submit"]`, "/staff/admin/staff")
		if got := j.text("h1"); got != "Staff" {
			t.Errorf("after sign-in: h1 %q", got)
		}
	})
}

package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// TestSignInBrowser drives the sign-in page in headless Chromium, in both languages: the account
// once (Enter chooses the first way), the ways below the masked account, a paused way, and "not
// you?", each checked with axe.
func TestSignInBrowser(t *testing.T) {
	s := fastServer(t)
	enrolledWithRecovery(t, s, "demo-zh")
	browser := testsupport.Browser(t)
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			tr := s.Catalog.For(lang)
			tab, console := openTab(t, browser)
			setLang(t, tab, s.URL, lang)
			axe := func(name string) {
				t.Helper()
				for _, v := range testsupport.Axe(t, tab) {
					t.Errorf("axe on %s: %s", name, v)
				}
			}
			navigate(t, tab, s.URL+"/signin")
			axe("the account form")
			do(t, tab, chromedp.SendKeys(chromedp.CSS("#account"), "138 0013 8001"))
			submitAndWait(t, tab, chromedp.KeyEvent(kb.Enter))
			atPath(t, tab, "/signin")
			if got := text(t, tab, ".signin-shown"); got != "138****8001" {
				t.Errorf("account shown as %q", got)
			}
			if got := eval[string](t, tab, `document.activeElement && document.activeElement.id`); got != "totp-code" {
				t.Errorf("Enter in the account field led to %q focused, want the app's code field", got)
			}
			axe("the ways for the chosen account")
			noConsoleErrors(t, tab, console)

			for range 5 {
				do(t, tab, chromedp.SendKeys(chromedp.CSS("#totp-code"), "000000"))
				submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/signin/totp"] button[type="submit"]`)))
			}
			if got := text(t, tab, "#blocked h2"); got != tr.T("blocked.title") {
				t.Errorf("the paused way is headed %q", got)
			}
			axe("a paused way")
			console.Take() // the 422 and 429 answers asked for

			submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/signin/forget"] button`)))
			atPath(t, tab, "/signin")
			if !eval[bool](t, tab, `document.querySelector("#account") !== null`) {
				t.Error("after \"not you?\" no account field")
			}
			noConsoleErrors(t, tab, console)
		})
	}
}

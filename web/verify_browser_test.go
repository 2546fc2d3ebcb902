package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestVerifyBrowser drives identity verification in real headless Chromium: the SMS code path
// with htmx and the countdown, the same path as plain forms without JavaScript, and axe on every
// verification page in both languages. Codes go through the outbox worker to the log gateway
// and are read where a developer reads them: the development outbox page.
func TestVerifyBrowser(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	browser := testsupport.Browser(t)
	checkURL := s.URL + "/verify/code/check"

	t.Run("PhoneCodeWithHTMX", func(t *testing.T) {
		tr := s.Catalog.For(i18n.Chinese)
		tab, console := openTab(t, browser)
		navigate(t, tab, s.NoticeLink("demo-zh"))
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`main a.button[href="/verify"]`)))
		atPath(t, tab, "/verify")
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/code/send"]:has(input[name="channel"][value="phone"]) button`)))
		atPath(t, tab, "/verify/code")

		// The resend button waits, saying how long, and counts down.
		if !eval[bool](t, tab, `document.querySelector("button[data-resend-in]").disabled`) {
			t.Error("the resend button is enabled right after a code was sent")
		}
		first := text(t, tab, ".resend-wait")
		if first != tr.TN("verify.code.resend_in", 60, nil) && first != tr.TN("verify.code.resend_in", 59, nil) {
			t.Errorf("countdown starts at %q", first)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](`/^5\d /.test(document.querySelector(".resend-wait").textContent)`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("the countdown does not count: still %q (%v)", text(t, tab, ".resend-wait"), err)
		}
		noConsoleErrors(t, tab, console)

		// The worker delivers through the log gateway; the code is on the development outbox page.
		s.Deliver(t)
		navigate(t, tab, s.URL+"/dev/outbox")
		if got := text(t, tab, ".dev-outbox li h2"); !strings.Contains(got, zhPhone) {
			t.Fatalf("the newest message is %q, want one to %s", got, zhPhone)
		}
		code := webtest.CodeIn(text(t, tab, ".dev-outbox li .dev-outbox-text"))
		if len(code) != 6 {
			t.Fatalf("no code on the development outbox page")
		}
		navigate(t, tab, s.URL+"/verify/code")

		// A wrong code: htmx swaps in the form with its message; the page stays.
		typeCode(t, tab, wrongOf(code))
		do(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
		do(t, tab, chromedp.WaitVisible(chromedp.ID("code-error")))
		if got, want := text(t, tab, "#code-error"), tr.TN("verify.err.wrong", 4, nil); got != want {
			t.Errorf("inline error %q, want %q", got, want)
		}
		atPath(t, tab, "/verify/code")
		if n := eval[int](t, tab, `document.querySelectorAll("h1").length`); n != 1 {
			t.Errorf("%d <h1> after the swap: the fragment brought a page with it", n)
		}
		if got := eval[string](t, tab, `document.activeElement && document.activeElement.id`); got != "error-summary" {
			t.Errorf("focus is on %q after the error, want the error summary", got)
		}
		expectedStatus(t, tab, console, checkURL, 422)

		typeCode(t, tab, code)
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
		atPath(t, tab, "/verify/done")
		if got := text(t, tab, "h1"); got != tr.T("verify.done.title") {
			t.Errorf("h1 %q on the confirmation", got)
		}
		noConsoleErrors(t, tab, console)
		wantVerifiedBy(t, s, "demo-zh", "phone", eval[string](t, tab, `navigator.userAgent`))
	})

	t.Run("PlainFormsWithoutJavaScript", func(t *testing.T) {
		tr := s.Catalog.For(i18n.English)
		tab, console := openTab(t, browser)
		if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}
		setLang(t, tab, s.URL, i18n.English)
		navigate(t, tab, s.URL+"/")
		do(t, tab, chromedp.SendKeys(chromedp.CSS("input#account"), "+86 138-0013-8002"))
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/find"] button[type="submit"]`)))
		atPath(t, tab, "/verify")
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/code/send"]:has(input[name="channel"][value="phone"]) button`)))
		atPath(t, tab, "/verify/code")
		if eval[bool](t, tab, `document.querySelector("button[data-resend-in]").disabled`) {
			t.Error("without JavaScript the resend button is disabled")
		}
		if got, want := text(t, tab, ".resend-wait"), tr.TN("verify.code.resend_in", 60, nil); got != want {
			t.Errorf("wait text %q, want %q", got, want)
		}
		// Pressed early, the server answers with the time left and sends nothing.
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`button[data-resend-in]`)))
		atPath(t, tab, "/verify/code")
		if got, want := text(t, tab, ".resend-wait"), tr.TN("verify.code.resend_in", 60, nil); got != want {
			t.Errorf("after an early resend the page says %q, want %q", got, want)
		}
		if n := deliveredTo(t, s, enPhone); n != 1 {
			t.Fatalf("%d messages to %s, want 1", n, enPhone)
		}
		code := s.LastCode(t, enPhone)

		typeCode(t, tab, wrongOf(code))
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
		atPath(t, tab, "/verify/code/check")
		if got, want := text(t, tab, "#error-summary li"), tr.TN("verify.err.wrong", 4, nil); got != want {
			t.Errorf("error summary %q, want %q", got, want)
		}
		expectedStatus(t, tab, console, checkURL, 422)

		typeCode(t, tab, code)
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
		atPath(t, tab, "/verify/done")
		if got := text(t, tab, "h1"); got != tr.T("verify.done.title") {
			t.Errorf("h1 %q on the confirmation", got)
		}
		noConsoleErrors(t, tab, console)
		wantVerifiedBy(t, s, "demo-en", "phone", eval[string](t, tab, `navigator.userAgent`))
	})

	t.Run("PagesPassAxe", func(t *testing.T) {
		users := map[string]struct{ id, phone string }{
			i18n.Chinese: {"demo-hk", hkPhone}, // an English roster, shown in the chosen Chinese
			i18n.English: {"demo-today", "+8613800138005"},
		}
		for _, lang := range i18n.Languages {
			t.Run(lang, func(t *testing.T) {
				u := users[lang]
				tab, console := openTab(t, browser)
				setLang(t, tab, s.URL, lang)
				check := func(name string) {
					t.Helper()
					if got := eval[string](t, tab, `document.documentElement.lang`); got != lang {
						t.Errorf("%s in %q, want %q", name, got, lang)
					}
					for _, v := range testsupport.Axe(t, tab) {
						t.Errorf("axe on %s: %s", name, v)
					}
					noConsoleErrors(t, tab, console)
				}
				navigate(t, tab, s.NoticeLink(u.id))
				navigate(t, tab, s.URL+"/verify")
				check("/verify")
				submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/code/send"]:has(input[name="channel"][value="phone"]) button`)))
				check("/verify/code")
				typeCode(t, tab, "12")
				do(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
				do(t, tab, chromedp.WaitVisible(chromedp.ID("code-error")))
				expectedStatus(t, tab, console, checkURL, 422)
				check("/verify/code with an error")

				navigate(t, tab, s.URL+"/verify/knowledge")
				check("/verify/knowledge")
				submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/knowledge"] button[type="submit"]`)))
				expectedStatus(t, tab, console, s.URL+"/verify/knowledge", 422)
				check("/verify/knowledge with errors")

				navigate(t, tab, s.URL+"/verify/assist")
				check("/verify/assist")
				do(t, tab, chromedp.SendKeys(chromedp.CSS("input#code"), "1234"))
				submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/assist"] button[type="submit"]`)))
				expectedStatus(t, tab, console, s.URL+"/verify/assist", 422)
				check("/verify/assist with an error")

				s.Deliver(t)
				navigate(t, tab, s.URL+"/verify/code")
				typeCode(t, tab, s.LastCode(t, u.phone))
				submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`#code-form button[type="submit"]`)))
				atPath(t, tab, "/verify/done")
				check("/verify/done")
			})
		}
	})
}

// typeCode replaces what the code field holds with code, typed key by key.
func typeCode(t *testing.T, tab context.Context, code string) {
	t.Helper()
	do(t, tab, chromedp.WaitVisible(chromedp.CSS("input#code")))
	do(t, tab, chromedp.Evaluate[chromedp.Void](`document.querySelector("input#code").value = ""`))
	do(t, tab, chromedp.SendKeys(chromedp.CSS("input#code"), code))
}

func atPath(t *testing.T, tab context.Context, want string) {
	t.Helper()
	if got := eval[string](t, tab, `location.pathname`); got != want {
		t.Fatalf("at %s, want %s; the page says %q", got, want, text(t, tab, "main"))
	}
}

// expectedStatus takes from the console the one report of an answer the test asked for, a 4xx
// status of url, and fails on any other error.
func expectedStatus(t *testing.T, tab context.Context, console *testsupport.ConsoleErrors, url string, status int) {
	t.Helper()
	eval[bool](t, tab, `true`) // a round trip: every earlier event is in
	want := "status of " + strconv.Itoa(status)
	seen := 0
	for _, e := range console.Take() {
		if e.Source == "network" && e.URL == url && strings.Contains(e.Text, want) {
			seen++
			continue
		}
		t.Errorf("browser console: %s", e)
	}
	if seen > 1 {
		t.Errorf("%d reports of %s answering %d, want at most one", seen, url, status)
	}
}

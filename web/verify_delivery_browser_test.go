package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// In real Chromium, a user who stays on the code page learns that the code is delayed as soon as
// the first attempt fails, with the other methods at hand, without reloading: htmx asks for the
// status block every 3 seconds and swaps it only when it changed.
func TestVerifyBrowser_DelayShowsWithoutAReload(t *testing.T) {
	g := &flakyGateway{down: true}
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMS: g}))
	browser := testsupport.Browser(t)
	tr := s.Catalog.For(i18n.Chinese)
	tab, console := openTab(t, browser)
	navigate(t, tab, s.NoticeLink("demo-zh"))
	navigate(t, tab, s.URL+"/verify")
	submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/verify/code/send"]:has(input[name="channel"][value="phone"]) button`)))
	atPath(t, tab, "/verify/code")
	eval[bool](t, tab, `window.stayed = true`)

	s.Deliver(t) // the gateway answers 500: delayed
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](`!!document.querySelector('#delivery .alert-warning[role="status"]')`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the page does not say the code is delayed: %v", err)
	}
	if got, want := text(t, tab, "#delivery .alert-warning p"), tr.T("verify.code.delivery_delayed"); got != want {
		t.Errorf("alert %q, want %q", got, want)
	}
	if !eval[bool](t, tab, `window.stayed === true`) {
		t.Error("the page was reloaded")
	}
	if n := eval[int](t, tab, `document.querySelectorAll('#delivery a[href="/verify"]').length`); n != 1 {
		t.Errorf("%d links to the other methods in the alert", n)
	}
	for _, v := range testsupport.Axe(t, tab) {
		t.Errorf("axe: %s", v)
	}
	noConsoleErrors(t, tab, console)
}

package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/testsupport"
)

// phoneJourney is sessionJourney on a 375×812 phone.
func phoneJourney(t *testing.T, browser context.Context, base string) *journey {
	t.Helper()
	j := sessionJourney(t, browser, base)
	j.phone = true
	if err := chromedp.Do(j.tab, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)); err != nil {
		t.Fatal(err)
	}
	return j
}

// askFromDesk names the account on the desktop and asks the phone, returning the number shown.
func askFromDesk(desk *journey) string {
	desk.t.Helper()
	desk.open("/signin")
	if desk.eval(`String(document.querySelector("#account") !== null)`) == "true" {
		desk.fill("#account", "138 0013 8002")
		desk.click(`form[action="/signin/account"] button[value="approval"]`, "/signin/approval")
	} else {
		desk.click(`form[action="/signin/approval"] button[type="submit"]`, "/signin/approval")
	}
	number := desk.text(".approval-number")
	if len(number) != 6 {
		desk.t.Fatalf("the desktop shows %q, want 6 digits", number)
	}
	return number
}

// openRequest waits on My security until the phone's page shows the request (polled), and opens it.
func openRequest(phone *journey) string {
	phone.t.Helper()
	phone.open("/security")
	phone.waitUntil(`document.querySelector("#approval-inbox .approval-waiting a") !== null`, "the request on the phone's page")
	href := phone.eval(`document.querySelector("#approval-inbox .approval-waiting a").getAttribute("href")`)
	phone.click("#approval-inbox .approval-waiting a", href)
	phone.check()
	return href
}

// fetchStatus posts (or gets) path from the page open in j, as a script of that page would, and
// returns the status; the console errors such a refusal reports are taken.
func fetchStatus(j *journey, method, path, body string) int {
	j.t.Helper()
	js := `fetch(` + strconv.Quote(path) + `, {method: ` + strconv.Quote(method) + `, credentials: "same-origin", headers: {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}` +
		map[bool]string{true: `, body: ` + strconv.Quote(body), false: ""}[method == "POST"] + `}).then((r) => r.status)`
	n := evalAs[int](j, js)
	j.console.Take()
	return n
}

// Approval through an open page, in two Chromium contexts: the desktop and a phone. Success;
// the completion replayed with the binding cookie put back; a context without the binding
// cookie; an answer without the form's token; a wrong number; a refusal; expiry on the fake clock.
func TestBrowser_ApprovalOnThePhone(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	browser := testsupport.Browser(t)
	phone := phoneJourney(t, browser, srv.URL)
	srv.Clock.Advance(30 * time.Second)
	signInTOTP(phone, codeNow(t, srv.Clock.Now(), secret))
	phone.click(`form[action="/security/approver"] button[type="submit"]`, "/security")
	if got := phone.text(`#approval .alert-success`); got != "This device approves your sign-ins." {
		t.Fatalf("after enrolling, My security says %q", got)
	}
	phone.check()

	// Success.
	desk := sessionJourney(t, browser, srv.URL)
	number := askFromDesk(desk)
	desk.check()
	href := openRequest(phone)
	if strings.Contains(phone.eval(`document.body.textContent`), number) {
		t.Fatal("the phone's page shows the number")
	}
	stranger := sessionJourney(t, browser, srv.URL)
	stranger.open("/signin")
	if n := fetchStatus(phone, "POST", href, "answer=approve&code="+number); n != 403 {
		t.Fatalf("an answer without the form's token: %d, want 403", n)
	}
	phone.fill("#number", number)
	phone.click(`button[name="answer"][value="approve"]`, href)
	if got := phone.text(`.alert-success`); got != "Approved. Go back to the computer to finish signing in." {
		t.Fatalf("the phone says %q", got)
	}
	desk.waitUntil(`document.querySelector("#approval-complete") !== null`, "the desktop to learn of the approval")
	if n := fetchStatus(stranger, "GET", "/signin/approval/status", ""); n != 403 {
		t.Fatalf("status from a context without the binding: %d", n)
	}
	if n := fetchStatus(stranger, "POST", "/signin/approval/complete", ""); n != 403 {
		t.Fatalf("completion from a context without the binding: %d", n)
	}
	cookies, err := chromedp.Call(desk.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var bound *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "smsretire_approval" {
			bound = c
		}
	}
	if bound == nil || !bound.HTTPOnly || bound.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("binding cookie %+v, want HttpOnly and SameSite=Strict", bound)
	}
	desk.click("#approval-complete", "/security")
	if got := desk.text("h1"); got != "My security" {
		t.Fatalf("after completing, the desktop shows %q", got)
	}
	if got := desk.eval(`[...document.querySelectorAll(".session-list .badge")].map((b) => b.textContent.trim()).join("|")`); !strings.Contains(got, "Signed in with approval on the phone") {
		t.Errorf("the session list says %q", got)
	}
	// Replay: the binding cookie put back, the completion posted again.
	httpOnly := true
	if _, err := chromedp.Call(desk.tab, network.SetCookie, network.SetCookieParams{Name: bound.Name, Value: bound.Value, URL: srv.URL,
		HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict}); err != nil {
		t.Fatal(err)
	}
	if n := fetchStatus(desk, "POST", "/signin/approval/complete", ""); n != 409 {
		t.Fatalf("replayed completion: %d, want 409", n)
	}

	// A wrong number, then a refusal: each ends the request, and the desktop says so.
	for _, tc := range []struct{ answer, says string }{
		{"approve", "Another number was typed on your phone, so the request ended. Nothing was signed in."},
		{"deny", "The request was refused on your phone. Nothing was signed in."},
	} {
		srv.Clock.Advance(31 * time.Second)
		other := sessionJourney(t, browser, srv.URL)
		number := askFromDesk(other)
		href := openRequest(phone)
		if tc.answer == "approve" {
			wrong := []byte(number)
			wrong[0] = '0' + (wrong[0]-'0'+1)%10
			phone.fill("#number", string(wrong))
		}
		phone.click(`button[name="answer"][value="`+tc.answer+`"]`, href)
		other.waitText("#approval-status .alert p", tc.says)
		other.check()
	}

	// Expiry: nobody answers for two minutes.
	srv.Clock.Advance(31 * time.Second)
	late := sessionJourney(t, browser, srv.URL)
	askFromDesk(late)
	srv.Clock.Advance(2*time.Minute + time.Second)
	late.waitText("#approval-status .alert p", "Nobody answered in time, so the request ended. Nothing was signed in.")
	// Three failures in a row: approval is paused, and the user was told by email.
	srv.Clock.Advance(31 * time.Second)
	late.press(`#approval-status form button[type="submit"]`)
	late.waitUntil(`document.querySelector("#blocked p") !== null`, "the refusal")
	if got := late.text("#blocked p"); !strings.HasPrefix(got, "Approval on the phone is paused until") {
		t.Errorf("after three failures: %q", got)
	}
	late.console.Take() // the refusal's 429
}

// The service worker's push handler in Chromium: a message delivered through the DevTools
// protocol (ServiceWorker.deliverPushMessage) shows the notification it carries.
func TestBrowser_ServiceWorkerShowsTheNotification(t *testing.T) {
	srv := fastServer(t)
	browser := testsupport.Browser(t)
	j := sessionJourney(t, browser, srv.URL)
	if _, err := chromedp.CallBrowser(j.tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: srv.URL, BrowserContextID: chromedp.FromContext(j.tab).BrowserContextID,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	regs := make(chan serviceworker.RegistrationID, 8)
	err := chromedp.Listen(j.tab, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range e.Registrations {
				if r.ScopeURL == srv.URL+"/" && !r.IsDeleted {
					select {
					case regs <- r.RegistrationID:
					default:
					}
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(j.tab, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	j.open("/faq")
	if scope := evalAs[string](j, `navigator.serviceWorker.register("/sw.js", {scope: "/"}).then(() => navigator.serviceWorker.ready).then((r) => r.scope)`); scope != srv.URL+"/" {
		t.Fatalf("service worker scope %q", scope)
	}
	var id serviceworker.RegistrationID
	select {
	case id = <-regs:
	case <-time.After(stepTimeout):
		t.Fatal("no service worker registration reported")
	}
	data := `{"id":"req123","title":"Approve a sign-in?","body":"Someone is signing in on Chrome on Windows","url":"/approve/req123"}`
	deliver := func() {
		if _, err := chromedp.Call(j.tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: srv.URL, RegistrationID: id, Data: data}); err != nil {
			t.Fatalf("deliver push message: %v", err)
		}
	}
	deliver()
	shown := `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.some((n) => n.title === "Approve a sign-in?" && n.body.startsWith("Someone is signing in") && n.tag === "approval-req123"))`
	polls := 0
	if !j.poll(func() bool {
		v, err := chromedp.Run(j.tab, chromedp.Evaluate[bool](shown, chromedp.EvalAwaitPromise))
		if polls++; !v && polls%50 == 0 {
			// A push service delivers again what was not acknowledged; DevTools' delivery can be
			// dropped while the worker is starting (seen once in a full run). The notification's
			// tag is the request's, so a second delivery replaces the first rather than adding one.
			deliver()
		}
		return err == nil && v
	}) {
		t.Fatal("the service worker showed no notification")
	}
	j.noConsoleErrors()
}

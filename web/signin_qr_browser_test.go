package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/qrsignin"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// androidUA is the phone's browser: Chrome on Android.
const androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

// qrPhone opens a tab with its own browser context as a phone (a 375 px screen, touch, Chrome on
// Android), in English, on the portal at base.
func qrPhone(t *testing.T, browser context.Context, base string) *journey {
	t.Helper()
	j := sessionJourney(t, browser, base)
	j.phone = true
	if _, err := chromedp.Call(j.tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: androidUA, AcceptLanguage: "en-US,en"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(j.tab, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)); err != nil {
		t.Fatal(err)
	}
	return j
}

// qrBinding returns the value of the binding cookie the tab holds ("" for none): the binding
// token and the code's id, which the page itself cannot read (HttpOnly).
func qrBinding(j *journey) string {
	j.t.Helper()
	res, err := chromedp.Call(j.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{j.base}})
	if err != nil {
		j.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "smsretire_qr" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				j.t.Errorf("binding cookie HttpOnly %v SameSite %v, want HttpOnly and Strict", c.HTTPOnly, c.SameSite)
			}
			return c.Value
		}
	}
	return ""
}

// showQR starts a QR code sign-in on the computer and returns the code's id.
func showQR(c *journey) string {
	c.t.Helper()
	c.open("/signin")
	c.click(`form[action="/signin/qr"] button[type="submit"]`, "/signin/qr")
	c.waitUntil(`document.querySelector(".qr-code img")?.complete === true`, "the QR code")
	_, id, ok := strings.Cut(qrBinding(c), ".")
	if !ok {
		c.t.Fatal("the computer holds no binding cookie")
	}
	return id
}

// postStatus posts to path from the page open in j, as a script of another page could, and
// returns the status; the console's report of the refusal is taken.
func postStatus(j *journey, path, body string) int {
	j.t.Helper()
	n := evalAs[int](j, `fetch(`+jsString(path)+`, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: `+jsString(body)+`}).then((r) => r.status)`)
	j.console.Take()
	return n
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestBrowser_QRSignIn is the QR code sign-in in two Chromium contexts, a computer and a signed-in
// phone: the code, the claim that hides it, the approval, the computer signed in by htmx without a
// click; a second phone and a third browser that knows the id get nothing, nor does a replayed
// completion or an approval without the form's token; a refusal; codes that run out (the server's
// clock moved).
func TestBrowser_QRSignIn(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	browser := testsupport.Browser(t)
	computer := sessionJourney(t, browser, srv.URL)
	phone := qrPhone(t, browser, srv.URL)
	srv.Clock.Advance(30 * time.Second)
	signInTOTP(phone, codeNow(t, srv.Clock.Now(), secret))

	// Success.
	id := showQR(computer)
	computer.check()
	phone.open("/qr/" + id)
	if got := phone.text(".approval-context"); !strings.Contains(got, "Chrome") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("the phone is told %q, want the computer's browser and IP", got)
	}
	if n := evalAs[int](phone, `document.querySelectorAll('form[action$="/approve"]').length`); n != 0 {
		t.Fatal("approval offered before the phone claimed the code")
	}
	phone.check()
	phone.click(`form[action="/qr/`+id+`/claim"] button`, "/qr/"+id)
	phone.check()
	// Approve and Refuse are alike, side by side.
	if same := phone.eval(`(() => { const [a, d] = [...document.querySelectorAll(".qr-decide button")]; return String(a.className === d.className && a.offsetWidth === d.offsetWidth && a.offsetHeight === d.offsetHeight) })()`); same != "true" {
		t.Error("Approve and Refuse are not equally prominent")
	}
	computer.waitUntil(`document.querySelector(".qr-code img") === null && document.querySelector("#qr-status .alert-warning") !== null`, "the code hidden once claimed")

	// A second phone, signed in too, is refused; a third browser that knows the id cannot watch
	// or complete.
	second := qrPhone(t, browser, srv.URL)
	srv.Clock.Advance(30 * time.Second)
	signInTOTP(second, codeNow(t, srv.Clock.Now(), secret))
	second.open("/qr/" + id)
	if got := second.text("main .alert-warning"); !strings.Contains(got, "Another phone scanned this QR code first") {
		t.Errorf("the second phone is told %q", got)
	}
	if n := postStatus(second, "/qr/"+id+"/claim", ""); n != 409 {
		t.Errorf("the second phone's claim: %d, want 409", n)
	}
	third := sessionJourney(t, browser, srv.URL)
	third.open("/signin/qr")
	if third.eval(`String(document.querySelector(".qr-code img") === null)`) != "true" {
		t.Error("a browser without the binding cookie sees a code")
	}
	if n := postStatus(third, "/signin/qr/complete", ""); n != 403 {
		t.Errorf("completion without the binding cookie: %d, want 403", n)
	}
	// CSRF: an approval without the form's token is refused and changes nothing.
	if n := postStatus(phone, "/qr/"+id+"/approve", ""); n != 403 {
		t.Errorf("approval without the token: %d, want 403", n)
	}
	if c, _ := srv.App.QRSignIn.Look(context.Background(), id); c.State != qrsignin.Claimed {
		t.Fatalf("after the refusals the code is %s, want claimed", c.State)
	}

	binding := qrBinding(computer)
	phone.click(`form[action="/qr/`+id+`/approve"] button`, "/qr/"+id)
	// The computer's watch sees the approval and completes with its cookie, with no click.
	computer.landed("/security")
	if got := computer.text(".session-list"); !strings.Contains(got, "Signed in with a QR code") {
		t.Errorf("the computer's session list says %q", got)
	}
	if qrBinding(computer) != "" {
		t.Error("the binding cookie outlived the sign-in")
	}
	// A replay of the completion, with the cookie as it was, gets nothing.
	if _, err := chromedp.Call(third.tab, network.SetCookie, network.SetCookieParams{Name: "smsretire_qr", Value: binding, URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if n := postStatus(third, "/signin/qr/complete", ""); n != 409 {
		t.Errorf("replayed completion: %d, want 409", n)
	}

	// Deny.
	other := sessionJourney(t, browser, srv.URL)
	id = showQR(other)
	phone.open("/qr/" + id)
	phone.click(`form[action="/qr/`+id+`/claim"] button`, "/qr/"+id)
	phone.click(`.qr-decide form[action="/qr/`+id+`/deny"] button`, "/qr/"+id)
	other.waitUntil(`document.querySelector("#qr-status .alert-error")?.textContent.includes("Refused on the phone") === true`, "the refusal on the computer")

	// Expiry: the code is replaced when it runs out, and the whole sign-in ends after 10 minutes.
	id = showQR(other)
	before := other.eval(`document.querySelector(".qr-code img").src`)
	srv.Clock.Advance(qrsignin.PendingTTL)
	other.waitUntil(`(document.querySelector(".qr-code img")?.src ?? "") !== `+jsString(before)+` && document.querySelector(".qr-code img")?.complete === true`, "a new code")
	if _, after, _ := strings.Cut(qrBinding(other), "."); after == id {
		t.Error("the refreshed code kept its id")
	}
	phone.open("/qr/" + id)
	if got := phone.text("main"); !strings.Contains(got, "no longer works") {
		t.Errorf("the phone, with the replaced code, is told %q", got)
	}
	srv.Clock.Advance(qrsignin.Lifetime)
	other.waitUntil(`document.querySelector("#qr-status")?.textContent.includes("The QR code expired") === true`, "the expiry on the computer")
	other.noConsoleErrors()
	computer.noConsoleErrors()
}

package web_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/examples/partnersite"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// embedding is a partner's page on one site that frames the portal on another, in Chromium: the
// portal at http://localhost:PORT (the relying party of passkeys), the demo partner site
// (examples/partnersite) at http://127.0.0.1:PORT2, listed as the test partner's origin.
type embedding struct {
	t       *testing.T
	srv     *webtest.Server
	portal  string // http://localhost:PORT
	partner string // http://127.0.0.1:PORT2
	tab     context.Context
	console *testsupport.ConsoleErrors
	speaks  string // the browser's Accept-Language, which each frame's target needs told too
}

// newEmbedding starts the portal with the test partner (trusted to have verified its users)
// served at the partner site it also starts, and a browser tab.
func newEmbedding(t *testing.T) *embedding {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	partnerURL := "http://" + ln.Addr().String()
	srv := webtest.NewServer(t, withPartner(true, partnerURL), webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
	portal := strings.Replace(srv.URL, "://127.0.0.1:", "://localhost:", 1)
	site := partnersite.New(partnersite.Config{PortalURL: portal, Audience: srv.Config.BaseURL, PartnerID: testPartnerID,
		Secret: []byte(testPartnerSecret), BaseURL: partnerURL, Users: []string{"demo-zh", "demo-en"}, Now: srv.Clock.Now})
	hs := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	tab := testsupport.Tab(t, testsupport.Browser(t))
	return &embedding{t: t, srv: srv, portal: portal, partner: partnerURL, tab: tab, console: testsupport.WatchConsole(t, tab)}
}

// openPartner opens the partner's page for userID, which frames the portal with a fresh launch.
func (e *embedding) openPartner(userID string) {
	e.t.Helper()
	resp, err := chromedp.Run(e.tab, chromedp.NavigateResponse(e.partner+"/?user="+userID))
	if err != nil || resp == nil || resp.Status != 200 {
		e.t.Fatalf("partner page: %v %v", resp, err)
	}
}

// frame attaches to the portal's iframe, which Chromium runs as a target of its own (another
// site), once it shows a page under path, and returns a journey inside it.
func (e *embedding) frame(lang, path string) *journey {
	e.t.Helper()
	var id string
	deadline := time.Now().Add(stepTimeout)
	for id == "" && time.Now().Before(deadline) {
		infos, err := chromedp.Targets(e.tab)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, e.portal+"/") {
				id = string(info.TargetID)
			}
		}
		if id == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if id == "" {
		e.t.Fatalf("no frame of the portal in the partner's page; the page's console: %v", e.console.Take())
	}
	ctx, cancel := chromedp.NewContext(e.tab, chromedp.WithTargetID(target.ID(id)))
	e.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		e.t.Fatal(err)
	}
	if e.speaks != "" {
		speak(e.t, ctx, e.speaks)
	}
	j := &journey{t: e.t, tab: ctx, console: testsupport.WatchConsole(e.t, ctx), base: e.portal, lang: lang}
	j.landed(path)
	return j
}

// messages returns the messages the partner's page received from the frame, as it lists them.
func (e *embedding) messages() []string {
	e.t.Helper()
	v, err := chromedp.Run(e.tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li")].map((li) => li.textContent)`))
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// waitMessage waits until the partner's page received a message that contains want.
func (e *embedding) waitMessage(want string) {
	e.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		for _, m := range e.messages() {
			if strings.Contains(m, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("the partner's page got no message with %s; it got %q", want, e.messages())
}

// TestJourney_EmbeddedInAPartnersPage is the whole journey inside a cross-site iframe: the demo
// partner page launches a Chinese user into the portal, the notice, the confirmation the launch
// gave, an authenticator app set up, the recovery codes and the end; the partner's page hears
// ready, resize and completed with the user's methods, and sizes the frame. The embedded cookie
// is SameSite=None, Secure and partitioned by the partner's site; axe passes on every page of the
// frame, 320 px wide, and no page is wider than that.
func TestJourney_EmbeddedInAPartnersPage(t *testing.T) {
	e := newEmbedding(t)
	e.speak("zh-CN,zh")
	if err := chromedp.Do(e.tab, chromedp.EmulateViewport(360, 900)); err != nil {
		t.Fatal(err)
	}
	e.openPartner("demo-zh")
	// The frame 320 px wide: no page of the journey may be wider.
	if _, err := chromedp.Run(e.tab, chromedp.Evaluate[string](`document.getElementById("smsretire").style.width = "320px"`)); err != nil {
		t.Fatal(err)
	}
	ep := "/embed/" + testPartnerID
	j := e.frame(i18n.Chinese, ep+"/notice")
	j.phone = true
	if w := evalAs[int](j, `window.innerWidth`); w > 320 {
		t.Errorf("the frame is %dpx wide, want 320", w)
	}
	e.waitMessage(`"type":"smsretire:ready"`)
	e.waitMessage(`"type":"smsretire:resize"`)
	j.check()
	if n := evalAs[int](j, `document.querySelectorAll("header.site-header, footer.site-footer").length`); n != 0 {
		t.Errorf("the embedded notice has %d header or footer", n)
	}
	if w := evalAs[int](j, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("the embedded notice is %dpx wider than its frame", w)
	}
	if h := evalAs[int](e.dummy(), `document.getElementById("smsretire").getBoundingClientRect().height`); h < 600 {
		t.Errorf("the partner's frame is %dpx high: partner.js did not size it to the page", h)
	}

	// The embedded cookie: SameSite=None, Secure, partitioned by the partner's site.
	all, err := chromedp.CallBrowser(e.tab, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(e.tab).BrowserContextID})
	if err != nil {
		t.Fatal(err)
	}
	cookies := all.Cookies
	found := false
	for _, c := range cookies {
		if c.Name != "smsretire_embed" {
			continue
		}
		found = true
		if c.SameSite != network.CookieSameSiteNone || !c.Secure || !c.HTTPOnly || c.PartitionKey == nil || c.PartitionKey.TopLevelSite != "http://127.0.0.1" {
			t.Errorf("embedded cookie %+v (partition %+v)", c, c.PartitionKey)
		}
	}
	if !found {
		t.Errorf("no embedded cookie; cookies %v", cookies)
	}

	// The launch verified the user: on to the methods, an authenticator app, inside the frame.
	j.click(`.cta a.button`, ep+"/verify/done")
	j.check()
	j.click(`.cta a.button`, ep+"/enroll")
	j.check()
	j.click(`a.button[href="`+ep+`/enroll/totp"]`, ep+"/enroll/totp")
	j.check()
	secret := strings.ReplaceAll(j.text("#totp-secret"), " ", "")
	code, err := totp.CodeAt(secret, e.srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	j.fill("#code", code)
	j.click(`form[action="`+ep+`/enroll/totp"] button[type="submit"]`, ep+"/enroll/recovery")
	j.check()
	j.click(`form[action="`+ep+`/enroll/recovery/done"] button[type="submit"]`, ep+"/enroll/done")
	j.check()
	e.waitMessage(`"type":"smsretire:completed","factors":["totp"]`)
	j.press(`[data-embed-close]`)
	e.waitMessage(`"type":"smsretire:closed"`)
	for _, m := range e.console.Take() {
		t.Errorf("partner page console: %s", m)
	}
}

// dummy is a journey on the partner's own page, for evaluating there.
func (e *embedding) dummy() *journey {
	return &journey{t: e.t, tab: e.tab, console: e.console, base: e.partner}
}

// TestJourney_EmbeddedPasskey makes a passkey inside the partner's frame with Chromium's virtual
// authenticator: the iframe delegates publickey-credentials-create, the portal's page allows it
// for itself, and the portal accepts the ceremony whose topOrigin is the partner's.
func TestJourney_EmbeddedPasskey(t *testing.T) {
	e := newEmbedding(t)
	e.speak("en-US,en")
	e.openPartner("demo-en")
	ep := "/embed/" + testPartnerID
	j := e.frame(i18n.English, ep+"/notice")
	platformAuthenticator(t, j.tab)
	j.click(`.cta a.button`, ep+"/verify/done")
	j.click(`.cta a.button`, ep+"/enroll")
	j.click(`a.button[href="`+ep+`/enroll/passkey"]`, ep+"/enroll/passkey")
	j.check()
	j.waitUntil(`document.querySelector('form[data-passkey="register"]').dataset.passkeyReady === "true"`, "passkey.js")
	j.replace("#passkey-name", "Framed laptop")
	j.click(`form[data-passkey="register"] button[type="submit"]`, ep+"/enroll/recovery")
	j.click(`form[action="`+ep+`/enroll/recovery/done"] button[type="submit"]`, ep+"/enroll/done")
	if got := j.text(".factor-list li strong"); got != "Framed laptop" {
		t.Errorf("done page lists %q, want the passkey", got)
	}
	e.waitMessage(`"type":"smsretire:completed","factors":["passkey"]`)
	factors, err := e.srv.Store.Factors(context.Background(), "demo-en")
	if err != nil || len(factors) != 1 || factors[0].Kind != "passkey" {
		t.Errorf("factors %+v, %v", factors, err)
	}
}

// TestEmbed_RefusedFramesAndTokens: a page on an origin the partner does not list cannot frame
// the portal, nor can the partner frame a page that is not embedded; a replayed or an expired
// launch token shows, inside the frame, that the user must start again from the partner's site.
func TestEmbed_RefusedFramesAndTokens(t *testing.T) {
	e := newEmbedding(t)
	e.speak("zh-CN,zh")
	ep := "/embed/" + testPartnerID

	// The portal's own pages refuse the partner's frame; the partner's page on another origin
	// (localhost instead of 127.0.0.1) is not the partner.
	stranger := strings.Replace(e.partner, "://127.0.0.1:", "://localhost:", 1)
	for _, page := range []struct{ at, frame string }{
		{e.partner + "/", e.portal + "/faq"},
		{stranger + "/", e.portal + launchPath(launchToken(t, e.srv, "demo-zh", 2*time.Minute))},
	} {
		if _, err := chromedp.Run(e.tab, chromedp.Navigate(page.at)); err != nil {
			t.Fatal(err)
		}
		e.console.Take()
		js := `new Promise((done) => { const f = document.createElement("iframe"); f.id = "smsretire"; f.src = ` + jsString(page.frame) + `;
			f.onload = () => done(true); document.body.append(f); setTimeout(() => done(false), 5000); })`
		if _, err := chromedp.Run(e.tab, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		refused := false
		for deadline := time.Now().Add(stepTimeout); !refused && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, m := range e.console.Take() {
				refused = refused || strings.Contains(m.Text, "frame-ancestors")
			}
		}
		if !refused {
			t.Errorf("%s framed %s without the browser refusing it", page.at, page.frame)
		}
	}

	// A launch used once, and one expired, show the refusal inside the frame.
	e.openPartner("demo-zh")
	e.frame(i18n.Chinese, ep+"/notice")
	src := evalAs[string](e.dummy(), `document.getElementById("smsretire").src`)
	expired := e.portal + launchPath(launchToken(t, e.srv, "demo-zh", -time.Minute))
	for _, again := range []string{src, expired} {
		if _, err := chromedp.Run(e.tab, chromedp.Evaluate[string](`document.getElementById("smsretire").src = `+jsString(again))); err != nil {
			t.Fatal(err)
		}
		e.console.Take()
		j := e.frame(i18n.Chinese, "/embed/launch")
		if got := j.text("h1"); got != "此链接已失效" {
			t.Errorf("a used or expired launch says %q", got)
		}
		j.check()
	}
}

// speak sets the browser's languages, for the partner's page and the frames to come.
func (e *embedding) speak(acceptLanguage string) {
	e.t.Helper()
	speak(e.t, e.tab, acceptLanguage)
	e.speaks = acceptLanguage
}

// TestJourney_EmbeddedPasskeyInAWindow: a partner's iframe that does not delegate passkeys (no
// allow attribute) makes the frame offer the step in a window of its own; the passkey is made
// there, at the portal's own site, with the frame's verification, and the frame moves on to the
// end of the journey and tells the partner's page.
func TestJourney_EmbeddedPasskeyInAWindow(t *testing.T) {
	e := newEmbedding(t)
	e.speak("en-US,en")
	e.openPartner("demo-en")
	ep := "/embed/" + testPartnerID
	e.frame(i18n.English, ep+"/notice")
	// The same page, with an iframe that delegates nothing.
	src := e.portal + launchPath(launchToken(t, e.srv, "demo-en", 2*time.Minute))
	if _, err := chromedp.Run(e.tab, chromedp.Evaluate[string](`const old = document.getElementById("smsretire"); const f = document.createElement("iframe");
		f.id = "smsretire"; f.title = old.title; f.src = `+jsString(src)+`; old.replaceWith(f); f.src`)); err != nil {
		t.Fatal(err)
	}
	j := e.frame(i18n.English, ep+"/notice")
	j.click(`.cta a.button`, ep+"/verify/done")
	j.click(`.cta a.button`, ep+"/enroll")
	j.click(`a.button[href="`+ep+`/enroll/passkey"]`, ep+"/enroll/passkey")
	j.waitUntil(`!document.querySelector("[data-embed-window]").hidden`, "the way to a window of its own")
	j.check()
	before, err := chromedp.Targets(e.tab)
	if err != nil {
		t.Fatal(err)
	}
	j.press(`[data-embed-window] a`)
	var window string
	for deadline := time.Now().Add(stepTimeout); window == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		infos, _ := chromedp.Targets(e.tab)
	next:
		for _, info := range infos {
			if info.Type != "page" || !strings.HasPrefix(info.URL, e.portal+"/") {
				continue
			}
			for _, b := range before {
				if b.TargetID == info.TargetID {
					continue next
				}
			}
			window = string(info.TargetID)
		}
	}
	if window == "" {
		t.Fatal("no window of the portal opened")
	}
	wctx, cancel := chromedp.NewContext(e.tab, chromedp.WithTargetID(target.ID(window)))
	t.Cleanup(cancel)
	if err := chromedp.Do(wctx); err != nil {
		t.Fatal(err)
	}
	speak(t, wctx, "en-US,en")
	w := &journey{t: t, tab: wctx, console: testsupport.WatchConsole(t, wctx), base: e.portal, lang: i18n.English}
	w.landed("/enroll/passkey")
	platformAuthenticator(t, wctx)
	w.waitUntil(`document.querySelector('form[data-passkey="register"]').dataset.passkeyReady === "true"`, "passkey.js")
	w.replace("#passkey-name", "Window laptop")
	w.click(`form[data-passkey="register"] button[type="submit"]`, "/enroll/recovery")
	// Back in the partner's page, the frame has moved on by itself.
	j.landed(ep + "/enroll/done")
	j.check()
	e.waitMessage(`"type":"smsretire:completed","factors":["passkey"]`)
}

package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/examples/shop"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

const shopSecretBrowser = "example-shop-secret-0123456789-0123456789"

// shopSite is the portal and the example shop, each on its own loopback port, reached as
// http://localhost:PORT as a person opens them (passkeys need a domain).
type shopSite struct {
	srv    *webtest.Server
	portal string // http://localhost:PORT of the portal
	shop   string // http://localhost:PORT of the shop
}

// newShopSite starts the portal with the example shop registered as a client, and the shop.
func newShopSite(t *testing.T, opts ...webtest.ServerOption) *shopSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	shopURL := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	srv := webtest.NewServer(t, append([]webtest.ServerOption{webtest.WithDelivery(webtest.DeliveryOptions{}), webtest.WithConfig(func(c *config.Config) {
		c.MinSendTime = 0
		c.Clients = []config.Client{{ID: "example-shop", Name: "示例商城", NameEN: "Example Shop", Secret: shopSecretBrowser,
			RedirectURIs: []string{shop.RedirectURL(shopURL)}, Scopes: []string{"openid", "profile", "email"}}}
	})}, opts...)...)
	h, err := shop.New(shop.Config{Issuer: srv.Config.BaseURL + "/oidc", ClientID: "example-shop", ClientSecret: shopSecretBrowser, BaseURL: shopURL})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return &shopSite{srv: srv, portal: srv.Config.BaseURL, shop: shopURL}
}

// shopper is a person at the shop and, when it sends them there, at the portal, in one tab.
type shopper struct {
	portal, shop *journey
}

func newShopper(t *testing.T, site *shopSite, browser context.Context, lang, acceptLanguage string) *shopper {
	tab := testsupport.Tab(t, browser)
	console := testsupport.WatchConsole(t, tab)
	speak(t, tab, acceptLanguage)
	return &shopper{
		portal: &journey{t: t, tab: tab, console: console, base: site.portal, lang: lang},
		shop:   &journey{t: t, tab: tab, console: console, base: site.shop, lang: lang},
	}
}

// signInAtShop starts a sign-in at the shop for hint (the shop's own user ID; "" for none),
// asking for a passkey when phr, and returns the portal's path it lands on.
func (p *shopper) signInAtShop(hint string, phr bool, lands string) {
	p.shop.t.Helper()
	p.shop.open("/")
	p.shop.check()
	if hint != "" {
		p.shop.fill("#login_hint", hint)
	}
	if phr {
		p.shop.press("#passkey")
	}
	p.shop.clickInto(`form[action="/login"] button[type="submit"]`, lands)
	p.portal.check()
}

// clickInto presses the button css names and waits for a page whose path starts with prefix,
// such as the notice of one authorization request.
func (j *journey) clickInto(css, prefix string) {
	j.t.Helper()
	j.press(css)
	var at string
	j.poll(func() bool {
		// Evaluating can fail while the page changes; ask again.
		v, err := chromedp.Run(j.tab, chromedp.Evaluate[string](`document.readyState === "complete" ? location.pathname : ""`))
		if err == nil {
			at = v
		}
		return strings.HasPrefix(at, prefix)
	})
	j.landed(at)
}

// claims reads the claims the shop shows after a sign-in.
func (p *shopper) claims() map[string]string {
	p.shop.t.Helper()
	return evalAs[map[string]string](p.shop, `Object.fromEntries([...document.querySelectorAll("#claims td[data-claim]")].map((td) => [td.dataset.claim, td.textContent.trim()]))`)
}

// The example service → the provider → an authenticator app sign-in → back to the service, which
// shows sub, amr, nonce and auth_time from the verified ID token; the service's name is on the
// sign-in page.
func TestOIDCBrowser_ShopSignsInWithTheAppInChinese(t *testing.T) {
	site := newShopSite(t)
	secret := enrolledTOTP(t, site.srv, "demo-zh")
	p := newShopper(t, site, testsupport.Browser(t), i18n.Chinese, "zh-CN,zh")
	p.signInAtShop("demo-zh", false, "/signin")
	if got := p.portal.text(".service-banner p"); got != "正在为 示例商城 确认身份" {
		t.Errorf("banner %q", got)
	}
	if got := p.portal.text(".signin-shown"); got == "" || strings.Contains(got, "demo-zh") {
		t.Errorf("the account the shop named shows as %q, want it masked", got)
	}
	if n := evalAs[int](p.portal, `document.querySelectorAll('form[action="/signin/forget"]').length`); n != 0 {
		t.Error(`"not you?" offered for the account the service named`)
	}
	site.srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, site.srv.Clock.Now())
	p.portal.fill("#totp-code", code)
	signedInAt := site.srv.Clock.Now()
	p.portal.click(`form[action="/signin/totp"] button[type="submit"]`, "/callback")
	p.shop.check()
	c := p.claims()
	if c["sub"] != "demo-zh" || c["amr"] != "otp" || c["acr"] != "otp" || c["nonce"] == "" ||
		!strings.HasPrefix(c["auth_time"], strconv.FormatInt(signedInAt.Unix(), 10)) || c["email"] != "zhang.wei@example.com" {
		t.Errorf("claims at the shop %v; want sub demo-zh, amr otp, a nonce, auth_time %d", c, signedInAt.Unix())
	}
}

// A user not yet migrated meets the notice at sign-in: "remind me later" three times, each with
// an SMS code and back to the service with amr sms, then no more; every choice in the history.
func TestOIDCBrowser_RemindMeLaterThreeTimesThenNoMore(t *testing.T) {
	site := newShopSite(t)
	p := newShopper(t, site, testsupport.Browser(t), i18n.English, "en-US,en")
	const user, phone = "demo-soon", "+8613800138004"
	for i := 1; i <= 3; i++ {
		p.signInAtShop(user, false, "/oidc/nudge/")
		if got := p.portal.text("#nudge-later + p"); !strings.Contains(got, strconv.Itoa(4-i)) {
			t.Errorf("round %d: the notice says %q, want %d left", i, got, 4-i)
		}
		p.portal.click(`form[action="/oidc/nudge/later"] button[type="submit"]`, "/verify/code")
		p.portal.check()
		site.srv.Deliver(t)
		p.portal.fill("#code", site.srv.LastCode(t, phone))
		p.portal.click(`#code-form button[type="submit"]`, "/callback")
		if c := p.claims(); c["sub"] != user || c["amr"] != "sms" || c["acr"] != "otp" {
			t.Errorf("round %d: claims %v, want %s with amr sms", i, c, user)
		}
		site.srv.Clock.Advance(61 * time.Second) // the next code may be sent
	}
	p.signInAtShop(user, false, "/oidc/nudge/")
	if n := evalAs[int](p.portal, `document.querySelectorAll('form[action="/oidc/nudge/later"]').length`); n != 0 {
		t.Error(`"remind me later" offered a fourth time`)
	}
	events, _ := site.srv.Store.Events(context.Background(), user, 100)
	counts := map[audit.Type]int{}
	for _, e := range events {
		counts[e.Type]++
	}
	if counts[audit.NudgeLater] != 3 || counts[audit.NudgeShown] != 4 || counts[audit.OIDCSignedIn] != 3 {
		t.Errorf("history: %d later, %d shown, %d signed in to the shop; want 3, 4, 3", counts[audit.NudgeLater], counts[audit.NudgeShown], counts[audit.OIDCSignedIn])
	}
}

// After the deadline there is no "later": the user verifies another way, adds an authenticator
// app, signs in with it and is back at the service.
func TestOIDCBrowser_AfterTheDeadlineEnrollThenReturn(t *testing.T) {
	site := newShopSite(t)
	p := newShopper(t, site, testsupport.Browser(t), i18n.Chinese, "zh-CN,zh")
	p.signInAtShop("demo-late", false, "/oidc/nudge/")
	if n := evalAs[int](p.portal, `document.querySelectorAll('form[action="/oidc/nudge/later"]').length`); n != 0 {
		t.Error(`"remind me later" offered after the deadline`)
	}
	p.portal.click(`form[action="/oidc/nudge/setup"] button[type="submit"]`, "/verify")
	p.portal.click(`form:has(input[name="channel"][value="email"]) button[type="submit"]`, "/verify/code")
	site.srv.Deliver(t)
	p.portal.fill("#code", site.srv.LastCode(t, "li.na@example.com"))
	p.portal.click(`#code-form button[type="submit"]`, "/verify/done")
	p.portal.open("/enroll/totp")
	p.portal.check()
	secret := strings.ReplaceAll(p.portal.text("#totp-secret"), " ", "")
	code, _ := totp.CodeAt(secret, site.srv.Clock.Now())
	p.portal.fill("#code", code)
	p.portal.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/recovery")
	p.portal.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
	p.portal.check()
	// The banner leads on to the service: sign in with the new app, and back.
	p.portal.click(`.service-banner a.service-continue`, "/signin")
	site.srv.Clock.Advance(30 * time.Second)
	code, _ = totp.CodeAt(secret, site.srv.Clock.Now())
	p.portal.fill("#totp-code", code)
	p.portal.click(`form[action="/signin/totp"] button[type="submit"]`, "/callback")
	if c := p.claims(); c["sub"] != "demo-late" || c["amr"] != "otp" {
		t.Errorf("claims %v, want demo-late with amr otp", c)
	}
	events, _ := site.srv.Store.Events(context.Background(), "demo-late", 100)
	if !hasEvent(events, audit.NudgeSetUp, "client", "example-shop") {
		t.Error("the choice to set up now is not in the history")
	}
}

// enrollPasskey verifies userID with an assist code in p's tab and makes a passkey on its virtual
// authenticator.
func enrollPasskey(t *testing.T, site *shopSite, j *journey, userID string) {
	t.Helper()
	j.open("/notice/" + site.srv.NoticeToken(userID))
	j.click(`a.button[href="/verify"]`, "/verify")
	j.click(`a[href="/verify/assist"]`, "/verify/assist")
	j.fill("#code", assistCode(t, site.srv, userID))
	j.click(`form[action="/verify/assist"] button[type="submit"]`, "/verify/done")
	j.open("/enroll/passkey")
	j.waitUntil(`document.querySelector('form[data-passkey="register"]').dataset.passkeyReady === "true"`, "passkey.js")
	j.click(`form[data-passkey="register"] button[type="submit"]`, "/enroll/recovery")
	j.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
}

// A service that asks for a phishing-resistant sign-in (acr_values=phr) gets a passkey only:
// the named user's passkey signs in with amr hwk user and acr phr; another account's passkey is
// refused, even though it verifies.
func TestOIDCBrowser_PasskeyWhenTheServiceDemandsIt(t *testing.T) {
	site := newShopSite(t)
	browser := testsupport.Browser(t)
	p := newShopper(t, site, browser, i18n.English, "en-US,en")
	platformAuthenticator(t, p.portal.tab)
	enrollPasskey(t, site, p.portal, "demo-en")
	site.srv.Clock.Advance(time.Minute)

	p.signInAtShop("demo-en", true, "/signin")
	if n := evalAs[int](p.portal, `document.querySelectorAll('form[action="/signin/totp"], form[action="/signin/recovery"], form[action="/signin/email/send"]').length`); n != 0 {
		t.Errorf("%d code forms offered where the service asks for a passkey", n)
	}
	p.portal.waitUntil(`document.querySelector('form[data-passkey="login"]').dataset.passkeyReady === "true"`, "passkey.js")
	p.portal.click(`form[data-passkey="login"] button[type="submit"]`, "/callback")
	if c := p.claims(); c["sub"] != "demo-en" || c["amr"] != "hwk user" || c["acr"] != "phr" {
		t.Errorf("claims %v, want demo-en with amr hwk user and acr phr", c)
	}

	// Another person's browser holds demo-hk's passkey: signing in for demo-en with it is refused.
	other := newShopper(t, site, browser, i18n.English, "en-US,en")
	platformAuthenticator(t, other.portal.tab)
	enrollPasskey(t, site, other.portal, "demo-hk")
	site.srv.Clock.Advance(time.Minute)
	other.signInAtShop("demo-en", true, "/signin")
	other.portal.waitUntil(`document.querySelector('form[data-passkey="login"]').dataset.passkeyReady === "true"`, "passkey.js")
	other.portal.press(`form[data-passkey="login"] button[type="submit"]`)
	if got := other.portal.waitText(".passkey-status", "This passkey belongs to another account. Use a passkey of the account the service asked for."); !strings.Contains(got, "another account") {
		t.Errorf("another account's passkey: the page says %q", got)
	}
	if other.portal.path() != "/signin" {
		t.Errorf("another account's passkey led to %s", other.portal.path())
	}
	other.portal.console.Take() // the refusal's 422 is expected
	if u, _ := url.Parse(site.portal); u.Hostname() != "localhost" {
		t.Errorf("portal at %s, want localhost for passkeys", site.portal)
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// useCookies gives the tab the cookies client holds for the server, so the tab is that browser.
func useCookies(t *testing.T, tab context.Context, s *webtest.Server, client *http.Client) {
	t.Helper()
	u, _ := url.Parse(s.URL)
	if _, err := chromedp.Call(tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("clear cookies: %v", err)
	}
	for _, c := range client.Jar.Cookies(u) {
		if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.URL + "/"}); err != nil {
			t.Fatalf("set cookie %s: %v", c.Name, err)
		}
	}
}

// TestBrowser_LayoutOnA390pxPhone holds the layout bugs found on a 390 px phone in Chromium: the
// ways to verify showed list bullets beside their cards, and the history's event column wrapped
// every 3–4 characters. Computed styles and boxes are asserted, in both languages.
func TestBrowser_LayoutOnA390pxPhone(t *testing.T) {
	s := fastServer(t)
	secret, _ := enrolledWithRecovery(t, s, "demo-zh")
	signedIn := signIn(t, s, "demo-zh", secret)
	s.Get(t, signedIn, "/security", nil)
	browser := testsupport.Browser(t)
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			tab, console := openTab(t, browser)
			do(t, tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulatePortrait))
			setLang(t, tab, s.URL, lang)

			navigate(t, tab, s.NoticeLink("demo-en"))
			navigate(t, tab, s.URL+"/verify")
			if got := eval[string](t, tab, `getComputedStyle(document.querySelector("ul.methods")).listStyleType`); got != "none" {
				t.Errorf("the ways to verify are listed with %q bullets", got)
			}
			// The cards line up with the page's text, not indented for bullets.
			if off := eval[float64](t, tab, `document.querySelector("ul.methods li").getBoundingClientRect().left - document.querySelector("main h1").getBoundingClientRect().left`); off != 0 {
				t.Errorf("the first card is %vpx right of the heading", off)
			}
			if w := eval[int](t, tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
				t.Errorf("/verify is %dpx wider than the phone", w)
			}

			useCookies(t, tab, s, signedIn)
			setLang(t, tab, s.URL, lang)
			navigate(t, tab, s.URL+"/security")
			type row struct {
				Text  string  `json:"text"`
				Width float64 `json:"width"`
				Lines float64 `json:"lines"`
				Em    float64 `json:"em"`
			}
			rows := eval[[]row](t, tab, `[...document.querySelectorAll("table.history .event-text")].map((el) => {
				const cs = getComputedStyle(el);
				const r = el.getBoundingClientRect();
				return {text: el.textContent.trim(), width: r.width, lines: Math.round(r.height / parseFloat(cs.lineHeight)), em: parseFloat(cs.fontSize)};
			})`)
			if len(rows) < 4 {
				t.Fatalf("%d history rows", len(rows))
			}
			for _, r := range rows {
				if r.Width < 12*r.Em {
					t.Errorf("event %q gets %.0fpx, less than 12 characters' width (%.0fpx)", r.Text, r.Width, 12*r.Em)
				}
				if chars := float64(len([]rune(r.Text))); r.Lines > 1 && chars/r.Lines < 8 {
					t.Errorf("event %q wraps every %.1f characters over %.0f lines", r.Text, chars/r.Lines, r.Lines)
				}
			}
			if over := eval[float64](t, tab, `(() => { const el = document.querySelector(".table-scroll"); return el.scrollWidth - el.clientWidth; })()`); over > 0 {
				t.Errorf("the history scrolls sideways by %vpx on a 390px phone", over)
			}
			if w := eval[int](t, tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
				t.Errorf("/security is %dpx wider than the phone", w)
			}
			if png, err := chromedp.Run(tab, chromedp.FullScreenshot(90)); err == nil {
				saveScreenshot(t, "security-390-"+lang+".png", png)
			}
			noConsoleErrors(t, tab, console)
		})
	}
}

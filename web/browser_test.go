package web_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestBrowser drives the foundation pages in real headless Chromium: one browser, a fresh tab
// (with its own cookies) for each case.
func TestBrowser(t *testing.T) {
	s := webtest.NewServer(t)
	browser := testsupport.Browser(t)

	t.Run("NoticeSwitchesLanguageWithTheForm", func(t *testing.T) {
		tab, console := openTab(t, browser)
		navigate(t, tab, s.NoticeLink("demo-zh"))
		if got := text(t, tab, "time.deadline"); got != "2026年12月31日" {
			t.Errorf("deadline %q, want 2026年12月31日", got)
		}
		if got := eval[string](t, tab, `document.documentElement.lang`); got != i18n.Chinese {
			t.Errorf("lang %q, want zh-Hans", got)
		}
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(".lang-switch button")))
		if got := text(t, tab, "time.deadline"); got != "31 December 2026" {
			t.Errorf("after switching, deadline %q, want 31 December 2026", got)
		}
		if got := eval[string](t, tab, `document.documentElement.lang`); got != i18n.English {
			t.Errorf("after switching, lang %q, want en", got)
		}
		if got := eval[string](t, tab, `location.pathname`); !strings.HasPrefix(got, "/notice/") {
			t.Errorf("after switching, at %q, want the notice again", got)
		}
		noConsoleErrors(t, tab, console)
	})

	t.Run("FAQOpensByKeyboardAndClick", func(t *testing.T) {
		tab, console := openTab(t, browser)
		navigate(t, tab, s.URL+"/faq")
		if eval[bool](t, tab, `document.getElementById("faq-lost_phone").open`) {
			t.Fatal("a question is open before anyone asked")
		}
		do(t, tab, chromedp.Focus(chromedp.CSS("#faq-lost_phone summary")), chromedp.KeyEvent(kb.Enter))
		if !eval[bool](t, tab, `document.getElementById("faq-lost_phone").open`) {
			t.Error("Enter on a question did not open it")
		}
		do(t, tab, chromedp.WaitVisible(chromedp.CSS("#faq-lost_phone p")))
		do(t, tab, chromedp.Click(chromedp.CSS("#faq-passkey summary")))
		if !eval[bool](t, tab, `document.getElementById("faq-passkey").open`) {
			t.Error("a click on a question did not open it")
		}
		noConsoleErrors(t, tab, console)
	})

	t.Run("EmptyLookUpFocusesErrorSummary", func(t *testing.T) {
		tab, console := openTab(t, browser)
		setLang(t, tab, s.URL, i18n.English)
		navigate(t, tab, s.URL+"/")
		submitAndWait(t, tab, chromedp.Click(chromedp.CSS(`form[action="/find"] button[type="submit"]`)))
		do(t, tab, chromedp.WaitVisible(chromedp.ID("error-summary")))
		if got := eval[string](t, tab, `document.activeElement && document.activeElement.id`); got != "error-summary" {
			t.Errorf("focus is on %q, want the error summary", got)
		}
		do(t, tab, chromedp.Click(chromedp.CSS(`#error-summary a[href="#account"]`)))
		if got := eval[string](t, tab, `document.activeElement && document.activeElement.id`); got != "account" {
			t.Errorf("the summary's link moved focus to %q, want the field", got)
		}
		noConsoleErrors(t, tab, console)
	})

	t.Run("PagesPassAxe", func(t *testing.T) {
		pages := []struct{ name, path string }{
			{"home", "/"},
			{"notice", "/notice/" + s.NoticeToken("demo-zh")},
			{"notice past due", "/notice/" + s.NoticeToken("demo-late")},
			{"notice link broken", "/notice/n1.broken"},
			{"faq", "/faq"},
			{"privacy", "/privacy"},
			{"not found", "/no/such/page"},
		}
		for _, lang := range i18n.Languages {
			tab, console := openTab(t, browser)
			setLang(t, tab, s.URL, lang)
			for _, p := range pages {
				t.Run(p.name+"/"+lang, func(t *testing.T) {
					navigate(t, tab, s.URL+p.path)
					if got := eval[string](t, tab, `document.documentElement.lang`); got != lang {
						t.Fatalf("page in %q, want %q", got, lang)
					}
					if p.name == "faq" { // the answers too
						do(t, tab, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
					}
					for _, v := range testsupport.Axe(t, tab) {
						t.Errorf("axe: %s", v)
					}
					noConsoleErrors(t, tab, console)
				})
			}
		}
	})

	t.Run("PagesFitAPhone", func(t *testing.T) {
		tab, console := openTab(t, browser)
		do(t, tab, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
		pages := []struct{ name, path string }{
			{"notice", "/notice/" + s.NoticeToken("demo-zh")},
			{"notice-late", "/notice/" + s.NoticeToken("demo-late")},
			{"home", "/"},
			{"faq", "/faq"},
			{"privacy", "/privacy"},
		}
		for _, lang := range i18n.Languages {
			setLang(t, tab, s.URL, lang)
			for _, p := range pages {
				navigate(t, tab, s.URL+p.path)
				if w := eval[int](t, tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
					t.Errorf("%s in %s: the page is %dpx wider than a 375px phone", p.name, lang, w)
				}
				if p.name == "notice" || os.Getenv("SMSRETIRE_SCREENSHOT_DIR") != "" {
					png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatalf("screenshot: %v", err)
					}
					saveScreenshot(t, p.name+"-phone-"+lang+".png", png)
				}
			}
		}
		noConsoleErrors(t, tab, console)
	})

	t.Run("ConsoleWatchSeesCSPViolations", func(t *testing.T) {
		// The other cases pass only when the console stays clean; this shows the watch would
		// notice a blocked inline style.
		tab, console := openTab(t, browser)
		navigate(t, tab, s.URL+"/")
		do(t, tab, chromedp.Evaluate[chromedp.Void](`document.head.insertAdjacentHTML("beforeend", "<style>p{color:red}</style>")`))
		eval[bool](t, tab, `true`) // a round trip, so the violation has been reported
		if errs := console.Take(); len(errs) == 0 {
			t.Error("an inline <style> was not reported as a CSP violation")
		}
	})

	t.Run("AxeSeesViolations", func(t *testing.T) {
		// The axe case passes only when axe finds nothing; this shows it would find something.
		tab, _ := openTab(t, browser)
		navigate(t, tab, s.URL+"/")
		do(t, tab, chromedp.Evaluate[chromedp.Void](`document.querySelector("main").insertAdjacentHTML("beforeend", '<img src="/static/img/logo.svg">')`))
		var ids []string
		for _, v := range testsupport.Axe(t, tab) {
			ids = append(ids, v.ID)
		}
		if !slices.Contains(ids, "image-alt") {
			t.Errorf("axe found %q on a page with an image without alt, want image-alt", ids)
		}
	})
}

// openTab opens a fresh tab with its own cookies and starts watching its console.
func openTab(t *testing.T, browser context.Context) (context.Context, *testsupport.ConsoleErrors) {
	t.Helper()
	tab := testsupport.Tab(t, browser)
	return tab, testsupport.WatchConsole(t, tab)
}

func do(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatal(err)
	}
}

func navigate(t *testing.T, tab context.Context, url string) {
	t.Helper()
	resp, err := chromedp.Run(tab, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if resp == nil || resp.Status >= 500 {
		t.Fatalf("open %s: %v", url, resp)
	}
}

// submitAndWait runs an action that submits a form and waits for the page it leads to.
func submitAndWait(t *testing.T, tab context.Context, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(cdppage.LoadEventFired, nil, action)); err != nil {
		t.Fatalf("submit: %v", err)
	}
}

func text(t *testing.T, tab context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// setLang gives the tab the language cookie, as the language switch would.
func setLang(t *testing.T, tab context.Context, siteURL, lang string) {
	t.Helper()
	if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{Name: "lang", Value: lang, URL: siteURL + "/"}); err != nil {
		t.Fatalf("set lang cookie: %v", err)
	}
}

// noConsoleErrors fails on every error the page reported, except the status of the page itself
// (an error page is meant to answer 404).
func noConsoleErrors(t *testing.T, tab context.Context, console *testsupport.ConsoleErrors) {
	t.Helper()
	here := eval[string](t, tab, `location.href.split("#")[0]`) // also a round trip: every earlier event is in
	for _, e := range console.Take() {
		if e.Source == "network" && e.URL == here && strings.Contains(e.Text, "status of 4") {
			continue
		}
		t.Errorf("browser console: %s", e)
	}
}

// saveScreenshot keeps a screenshot in the test's temporary directory, and also in
// $SMSRETIRE_SCREENSHOT_DIR when set, for a person to look at.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("SMSRETIRE_SCREENSHOT_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}
}

package web_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/testsupport"
)

// journey is one person's way through the portal in one browser tab. Every page it lands on is
// in the expected language and leaves the console clean; check also runs axe on it.
type journey struct {
	t       *testing.T
	tab     context.Context
	console *testsupport.ConsoleErrors
	base    string // the portal as this browser reaches it: http://host:port
	lang    string // the language every page must be in
	phone   bool   // the tab is a 375×812 phone: no page may be wider
}

// stepTimeout bounds one step of a journey: a page load, a form post, a passkey ceremony.
const stepTimeout = 15 * time.Second

// speak makes the tab's browser ask for pages in acceptLanguage, as a browser set to that
// language does.
func speak(t *testing.T, tab context.Context, acceptLanguage string) {
	t.Helper()
	v, err := chromedp.Call(tab, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent, AcceptLanguage: acceptLanguage}); err != nil {
		t.Fatalf("browser language: %v", err)
	}
}

// open loads path and checks the page.
func (j *journey) open(path string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(j.base+path))
	if err != nil {
		j.t.Fatalf("open %s: %v", path, err)
	}
	if resp == nil {
		j.t.Fatalf("open %s: no response", path)
	}
	if resp.Status != 200 {
		j.t.Fatalf("open %s: status %d", path, resp.Status)
	}
	j.landed(strings.SplitN(path, "?", 2)[0])
}

// click presses the element css names, as a person would, and waits for the page it leads to,
// which must be at path.
func (j *journey) click(css, path string) {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))); err != nil {
		j.t.Fatalf("at %s, press %s: no new page (%v); the page says %q", j.path(), css, err, j.statusText())
	}
	j.landed(path)
}

// landed waits until the tab shows path, fully loaded, then checks the language, the width and
// the console.
func (j *journey) landed(path string) {
	j.t.Helper()
	var at string
	j.poll(func() bool {
		// Evaluating can fail while the page changes; ask again.
		v, err := chromedp.Run(j.tab, chromedp.Evaluate[any](`document.readyState === "complete" && location.pathname`))
		if s, ok := v.(string); err == nil && ok {
			at = s
		}
		return at == path
	})
	if at != path {
		j.t.Fatalf("at %q, want %s; the page says %q", at, path, j.statusText())
	}
	if got := j.eval(`document.documentElement.lang`); got != j.lang {
		j.t.Errorf("%s is in %q, want %q", path, got, j.lang)
	}
	if j.phone {
		if w := evalAs[int](j, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			j.t.Errorf("%s is %dpx wider than a 375px phone", path, w)
		}
	}
	j.noConsoleErrors()
}

// check runs axe on the page open now.
func (j *journey) check() {
	j.t.Helper()
	for _, v := range testsupport.Axe(j.t, j.tab) {
		j.t.Errorf("axe on %s (%s): %s", j.path(), j.lang, v)
	}
}

// press clicks the element css names, on the page open now.
func (j *journey) press(css string) {
	j.t.Helper()
	if err := chromedp.Do(j.tab, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible)); err != nil {
		j.t.Fatalf("at %s, press %s: %v", j.path(), css, err)
	}
}

// waitText waits until the text of the element css names is want, and returns the text it has.
func (j *journey) waitText(css, want string) string {
	j.t.Helper()
	var got string
	j.poll(func() bool {
		got = j.text(css)
		return got == want
	})
	return got
}

// waitUntil waits until js is true on the page open now; what it is waits for fails the test.
func (j *journey) waitUntil(js, what string) {
	j.t.Helper()
	if !j.poll(func() bool { v, err := chromedp.Run(j.tab, chromedp.Evaluate[bool](js)); return err == nil && v }) {
		j.t.Fatalf("at %s, waited in vain for %s", j.path(), what)
	}
}

// poll asks ok until it says true or a step's time is up, and reports the last answer.
func (j *journey) poll(ok func() bool) bool {
	j.t.Helper()
	for end := time.Now().Add(stepTimeout); time.Now().Before(end); {
		if ok() {
			return true
		}
		if err := chromedp.Do(j.tab, chromedp.Sleep(20*time.Millisecond)); err != nil {
			j.t.Fatal(err)
		}
	}
	return false
}

// replace types value into the field css names instead of what it holds.
func (j *journey) replace(css, value string) {
	j.t.Helper()
	if err := chromedp.Do(j.tab, chromedp.Clear(chromedp.CSS(css), chromedp.NodeVisible)); err != nil {
		j.t.Fatalf("at %s, clear %s: %v", j.path(), css, err)
	}
	j.fill(css, value)
}

// fill types value into the field css names.
func (j *journey) fill(css, value string) {
	j.t.Helper()
	if err := chromedp.Do(j.tab, chromedp.SendKeys(chromedp.CSS(css), value, chromedp.NodeVisible)); err != nil {
		j.t.Fatalf("at %s, type into %s: %v", j.path(), css, err)
	}
}

// text is the visible text of the first element css names, trimmed.
func (j *journey) text(css string) string {
	j.t.Helper()
	s, err := chromedp.Run(j.tab, chromedp.Text(chromedp.CSS(css), chromedp.NodeReady))
	if err != nil {
		j.t.Fatalf("at %s, text of %s: %v", j.path(), css, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates js to a string.
func (j *journey) eval(js string) string {
	j.t.Helper()
	return evalAs[string](j, js)
}

func evalAs[T any](j *journey, js string) T {
	j.t.Helper()
	v, err := chromedp.Run(j.tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		j.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (j *journey) path() string {
	v, _ := chromedp.Run(j.tab, chromedp.Evaluate[string](`location.pathname`))
	return v
}

// statusText is what the page's status and error elements say, for a failure message.
func (j *journey) statusText() string {
	v, _ := chromedp.Run(j.tab, chromedp.Evaluate[string](`[...document.querySelectorAll("[role=status], [role=alert], .field-error")].map((s) => s.textContent.trim()).join(" | ")`))
	return v
}

// noConsoleErrors fails on every error the pages reported so far, except the status of the page
// itself: a refused form answers 422.
func (j *journey) noConsoleErrors() {
	j.t.Helper()
	here := j.eval(`location.href.split("#")[0]`) // also a round trip: every earlier event is in
	for _, e := range j.console.Take() {
		if e.Source == "network" && e.URL == here && strings.Contains(e.Text, "status of 422") {
			continue
		}
		j.t.Errorf("browser console at %s: %s", j.path(), e)
	}
}

// screenshot keeps a full-page screenshot in $SMSRETIRE_SCREENSHOT_DIR, when set, for a person to
// look at.
func (j *journey) screenshot(name string) {
	j.t.Helper()
	if os.Getenv("SMSRETIRE_SCREENSHOT_DIR") == "" {
		return
	}
	png, err := chromedp.Run(j.tab, chromedp.FullScreenshot(100))
	if err != nil {
		j.t.Fatalf("screenshot: %v", err)
	}
	saveScreenshot(j.t, name, png)
}

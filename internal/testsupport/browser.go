package testsupport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// BrowserTimeout bounds everything one test does in its browser.
const BrowserTimeout = 90 * time.Second

// chromiumPath finds the browser: CHROME_PATH when set, else /usr/bin/chromium, else chromium on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROME_PATH=%s: %w", p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium not found (install it with apt-get install chromium, or set CHROME_PATH)")
}

// Browser starts real headless Chromium for the test and returns the context of its first tab.
// The context ends after BrowserTimeout; the browser stops when the test ends. Without Chromium
// the test fails in CI and skips elsewhere.
func Browser(t testing.TB) context.Context {
	t.Helper()
	return BrowserFor(t, BrowserTimeout)
}

// BrowserFor is Browser for a test that does more than one journey's worth in its browser, such
// as a walk of every page of the tour: the context ends after timeout.
func BrowserFor(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		Unavailable(t, "%v", err)
	}
	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			Unavailable(t, "start chromium %s: %v", path, err)
		}
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// Tab opens a new tab of the browser in a fresh browser context, so its cookies are its own.
// It closes when the test ends.
func Tab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// ConsoleErrors collects what a page reports as an error: console.error calls, uncaught
// exceptions and browser log errors such as CSP violations and failed loads.
type ConsoleErrors struct {
	mu   sync.Mutex
	errs []ConsoleError
}

// ConsoleError is one error a page reported.
type ConsoleError struct {
	Source string // "console", "exception", or the browser log's source: "network", "security", …
	Text   string
	URL    string // the resource it is about, when known
}

// String writes the error for a test failure.
func (e ConsoleError) String() string {
	s := e.Source + ": " + e.Text
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	return s
}

// WatchConsole starts collecting the errors of the tab ctx. The events are seen in the order the
// browser sends them, so after any later action returns, every error before it is collected.
func WatchConsole(t testing.TB, ctx context.Context) *ConsoleErrors {
	t.Helper()
	ce := &ConsoleErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		var e ConsoleError
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			e = ConsoleError{Source: "console", Text: strings.Join(parts, " ")}
		case *runtime.EventExceptionThrown:
			e = ConsoleError{Source: "exception", Text: ev.ExceptionDetails.Text, URL: ev.ExceptionDetails.URL}
			if ev.ExceptionDetails.Exception != nil {
				e.Text += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.EntryLevelError {
				return
			}
			e = ConsoleError{Source: string(ev.Entry.Source), Text: ev.Entry.Text, URL: ev.Entry.URL}
		default:
			return
		}
		ce.mu.Lock()
		ce.errs = append(ce.errs, e)
		ce.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("watch console: %v", err)
	}
	return ce
}

// Take returns the errors collected so far and forgets them.
func (ce *ConsoleErrors) Take() []ConsoleError {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	out := ce.errs
	ce.errs = nil
	return out
}

// AxeViolation is one rule that axe-core found broken on a page, with the elements that break it.
type AxeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []AxeNode `json:"nodes"`
}

// AxeNode is one element that breaks a rule.
type AxeNode struct {
	Target  []string `json:"target"`
	HTML    string   `json:"html"`
	Summary string   `json:"summary"`
}

// String writes the violation for a test failure: rule, impact, help and each element.
func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s  %s", strings.Join(n.Target, " "), n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	return b.String()
}

var axeSource = sync.OnceValues(func() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return "", err
	}
	return string(b), nil
})

// Axe runs axe-core on the page open in ctx and returns its violations. The script is injected
// through the DevTools protocol, which the page's CSP does not govern. Without node_modules the
// test fails in CI and skips elsewhere.
func Axe(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		Unavailable(t, "axe-core: %v (run `make vendor` or `npm ci`)", err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`if (typeof window.axe === "undefined") {`+src+"\n}\n0")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help,
		nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary || ""})),
	})))`
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]AxeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return vs
}

// RepoRoot returns the directory of go.mod, found by walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

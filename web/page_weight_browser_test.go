package web_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// maxPageWeight is the most a page may transfer on its first load, everything it loads included:
// 60 KB, counted as 60,000 bytes.
const maxPageWeight = 60_000

// TestBrowser_PageWeight opens every page of the tour that a browser reaches by its URL, in both
// languages, in headless Chromium with its cache off, as on a first visit, and adds up the bytes
// the browser received for the page and everything it loaded (headers and compressed bodies, as
// DevTools reports them). Each page must stay under 60 KB and load nothing from another origin.
// Pages that answer a form post are not first loads: the page before them loaded the same files.
func TestBrowser_PageWeight(t *testing.T) {
	// Every first load of the tour, twice: more than one journey's time (the embedded journey
	// added some 20 pages per language).
	browser := testsupport.BrowserFor(t, 4*testsupport.BrowserTimeout)
	type row struct {
		name  string
		bytes int
		reqs  int
	}
	var rows []row
	for _, lang := range i18n.Languages {
		s := tourServer(t)
		origin := s.URL
		tab := testsupport.Tab(t, browser)
		net := watchNetwork(t, tab)
		if _, err := chromedp.Call(tab, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			t.Fatalf("disable the cache: %v", err)
		}
		tourVisit(t, s, lang, func(st stop) {
			if !st.firstLoad() {
				return
			}
			// The cookies the page's own URL gets (the embedded pages' cookie has the path /embed).
			u, _ := url.Parse(s.URL + st.resp.Request.URL.Path)
			cookies := st.client.Jar.Cookies(u)
			if _, err := chromedp.Call(tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatalf("clear cookies: %v", err)
			}
			for _, c := range cookies {
				if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.URL + "/"}); err != nil {
					t.Fatalf("set cookie %s: %v", c.Name, err)
				}
			}
			net.reset()
			page := st.resp.Request.URL.RequestURI()
			if _, err := chromedp.Run(tab, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Navigate(s.URL+page))); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			loads := net.settled(t)
			total := 0
			for _, l := range loads {
				total += l.bytes
				if l.failed != "" {
					t.Errorf("%s in %s: %s failed to load: %s", st.name, lang, l.url, l.failed)
				}
				if o := originOf(l.url); o != "" && o != origin {
					t.Errorf("%s in %s: request to another origin: %s", st.name, lang, l.url)
				}
			}
			if total >= maxPageWeight {
				var parts []string
				for _, l := range loads {
					parts = append(parts, fmt.Sprintf("%s %d", l.url, l.bytes))
				}
				t.Errorf("%s in %s: %d bytes on first load, want under %d:\n    %s", st.name, lang, total, maxPageWeight, strings.Join(parts, "\n    "))
			}
			if len(loads) == 0 || loads[0].status != st.resp.StatusCode {
				t.Errorf("%s in %s: the browser did not get the page the tour saw (%+v, want status %d)", st.name, lang, loads, st.resp.StatusCode)
			}
			rows = append(rows, row{st.name + " (" + lang + ")", total, len(loads)})
		})
	}
	if len(rows) < 20 {
		t.Errorf("weighed %d pages, want every page of the tour in both languages", len(rows))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].bytes > rows[j].bytes })
	for _, r := range rows {
		t.Logf("%6d bytes %2d requests  %s", r.bytes, r.reqs, r.name)
	}
}

// originOf returns scheme://host[:port] of a URL fetched over the network, or "" for one that is
// not (data:, blob:, about:).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// load is one network request of a page, as DevTools saw it.
type load struct {
	url    string
	status int
	bytes  int    // encodedDataLength: headers and body as received, before decompression
	failed string // why it failed, if it did
	done   bool
	loader cdp.LoaderID // the navigation the request belongs to ("" from a worker)
}

// networkWatch collects the requests of a tab from the DevTools Network events.
type networkWatch struct {
	mu    sync.Mutex
	order []network.RequestID
	loads map[network.RequestID]*load
	last  time.Time
	docs  map[cdp.LoaderID]bool // navigations that requested a document since reset: the page, its frames
}

func watchNetwork(t *testing.T, tab context.Context) *networkWatch {
	t.Helper()
	w := &networkWatch{loads: map[network.RequestID]*load{}, docs: map[cdp.LoaderID]bool{}}
	err := chromedp.Listen(tab, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.last = time.Now()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasPrefix(ev.Request.URL, "data:") {
				return
			}
			if _, ok := w.loads[ev.RequestID]; !ok {
				w.order = append(w.order, ev.RequestID)
				w.loads[ev.RequestID] = &load{loader: ev.LoaderID}
			}
			w.loads[ev.RequestID].url = ev.Request.URL // the last URL of a redirect chain
			if ev.Type == network.ResourceTypeDocument {
				w.docs[ev.LoaderID] = true
			}
		case *network.EventResponseReceived:
			if l, ok := w.loads[ev.RequestID]; ok {
				l.status = int(ev.Response.Status)
			}
		case *network.EventLoadingFinished:
			if l, ok := w.loads[ev.RequestID]; ok {
				l.bytes, l.done = int(ev.EncodedDataLength), true
			}
		case *network.EventLoadingFailed:
			if l, ok := w.loads[ev.RequestID]; ok {
				l.failed, l.done = ev.ErrorText, true
			}
		}
	})
	if err != nil {
		t.Fatalf("watch the network: %v", err)
	}
	return w
}

func (w *networkWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.order, w.loads, w.docs = nil, map[network.RequestID]*load{}, map[cdp.LoaderID]bool{}
}

// stale says whether a request belongs to the page before: on a loaded machine its events (the
// previous page's favicon, say) can arrive after reset, and as the browser navigated away it
// never finishes. Requests of a navigation since reset (the page, its frames) and of workers count.
func (w *networkWatch) stale(l *load) bool {
	return !l.done && l.loader != "" && len(w.docs) > 0 && !w.docs[l.loader]
}

// settled waits until every request has finished and the network has been quiet for a moment
// (scripts may fetch after the load event), and returns the requests in the order they started.
func (w *networkWatch) settled(t *testing.T) []load {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous: the machine may be loaded
	for {
		w.mu.Lock()
		var pending []string
		for _, l := range w.loads {
			if !l.done && !w.stale(l) {
				pending = append(pending, l.url)
			}
		}
		quiet := time.Since(w.last) > 50*time.Millisecond
		if len(pending) == 0 && quiet {
			out := make([]load, 0, len(w.order))
			for _, id := range w.order {
				if l := w.loads[id]; !w.stale(l) {
					out = append(out, *l)
				}
			}
			w.mu.Unlock()
			return out
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still loading after 30 s: %s", len(pending), strings.Join(pending, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

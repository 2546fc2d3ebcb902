package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

// page is one page of the foundation and how to reach it.
type page struct {
	name   string
	status int
	h1Key  string
	fetch  func(t *testing.T, s *webtest.Server, h http.Header) *webtest.Response
}

func get(path string) func(*testing.T, *webtest.Server, http.Header) *webtest.Response {
	return func(t *testing.T, s *webtest.Server, h http.Header) *webtest.Response {
		return s.Get(t, s.Client(), path, h)
	}
}

// pages lists every foundation page. The valid notice belongs to demo-soon, whose roster has no
// language, so the browser's choice decides.
var pages = []page{
	{"home", http.StatusOK, "home.title", get("/")},
	{"faq", http.StatusOK, "faq.title", get("/faq")},
	{"notice", http.StatusOK, "notice.title", func(t *testing.T, s *webtest.Server, h http.Header) *webtest.Response {
		return s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-soon"), h)
	}},
	{"notice invalid", http.StatusNotFound, "notice.invalid.title", get("/notice/n1.not-a-token")},
	{"notice expired", http.StatusGone, "notice.expired.title", func(t *testing.T, s *webtest.Server, h http.Header) *webtest.Response {
		token := s.NoticeToken("demo-soon")
		s.Clock.Advance(s.Config.NoticeLinkTTL + time.Second)
		defer s.Clock.Set(webtest.Now)
		return s.Get(t, s.Client(), "/notice/"+token, h)
	}},
	{"not found", http.StatusNotFound, "error.not_found.title", get("/no/such/page")},
	{"find empty", http.StatusUnprocessableEntity, "home.title", func(t *testing.T, s *webtest.Server, h http.Header) *webtest.Response {
		return s.PostForm(t, s.Client(), "/find", url.Values{"account": {"  "}}, h)
	}},
}

func TestPages_RenderInBothLanguages(t *testing.T) {
	s := webtest.NewServer(t)
	for _, p := range pages {
		for _, l := range both {
			t.Run(p.name+"/"+l.name, func(t *testing.T) {
				r := p.fetch(t, s, l.header)
				if r.StatusCode != p.status {
					t.Fatalf("status %d, want %d", r.StatusCode, p.status)
				}
				checkPage(t, s, r, l.lang, p.h1Key)
			})
		}
	}
}

func TestPages_SendSecurityHeaders(t *testing.T) {
	s := webtest.NewServer(t)
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			r := p.fetch(t, s, nil)
			csp := r.Header.Get("Content-Security-Policy")
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
				directives[name] = value
			}
			if got := directives["script-src"]; got != "'self'" {
				t.Errorf("CSP script-src %q, want 'self' (CSP %q)", got, csp)
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows unsafe code: %q", csp)
			}
			if got := directives["frame-ancestors"]; got != "'none'" {
				t.Errorf("CSP frame-ancestors %q, want 'none'", got)
			}
			if got := directives["object-src"]; got != "'none'" {
				t.Errorf("CSP object-src %q, want 'none'", got)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}

func TestPages_LinkOnlyVersionedSameOriginAssets(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.Get(t, s.Client(), "/", nil)
	client := s.Client()
	r.Doc.Find(`script[src], link[rel="stylesheet"][href], link[rel="icon"][href], img[src]`).Each(func(_ int, el *goquery.Selection) {
		ref := el.AttrOr("src", el.AttrOr("href", ""))
		if !strings.HasPrefix(ref, "/static/") || !strings.Contains(ref, "?v=") {
			t.Errorf("asset %q: want a versioned /static/ URL", ref)
			return
		}
		a := s.Get(t, client, ref, nil)
		if a.StatusCode != http.StatusOK || len(a.Body) == 0 {
			t.Errorf("GET %s: status %d, %d bytes", ref, a.StatusCode, len(a.Body))
		}
	})
}

func TestOversizedPost_GetsHardenedFriendlyPage(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.PostForm(t, s.Client(), "/find", url.Values{"account": {strings.Repeat("1", 70<<10)}}, cookieLang(i18n.English))
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", r.StatusCode)
	}
	checkPage(t, s, r, i18n.English, "error.bad_request.title")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("error page without the CSP: %q", csp)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
}

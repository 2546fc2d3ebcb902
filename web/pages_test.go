package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/static"
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

func TestPages_LinkOnlyVersionedSameOriginAssets(t *testing.T) {
	s := webtest.NewServer(t)
	set, err := static.Files()
	if err != nil {
		t.Fatal(err)
	}
	client := s.Client()
	for _, path := range []string{"/", "/signin"} {
		r := s.Get(t, client, path, nil)
		r.Doc.Find(`script[src], link[rel="stylesheet"][href], link[rel="icon"][href], img[src]`).Each(func(_ int, el *goquery.Selection) {
			ref := el.AttrOr("src", el.AttrOr("href", ""))
			if !strings.HasPrefix(ref, "/static/"+set.Version+"/") {
				t.Errorf("%s links %q: want a URL under /static/%s/", path, ref, set.Version)
				return
			}
			a := s.Get(t, client, ref, nil)
			if a.StatusCode != http.StatusOK || len(a.Body) == 0 {
				t.Errorf("GET %s: status %d, %d bytes", ref, a.StatusCode, len(a.Body))
			}
			if got := a.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s: Cache-Control %q, want a year, immutable", ref, got)
			}
		})
	}
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

// The redirect that drops a trailing slash runs before routing; it is hardened like every other
// response.
func TestTrailingSlashRedirect_SendsTheSecurityHeaders(t *testing.T) {
	s := webtest.NewServer(t)
	for _, path := range []string{"/faq/", "/verify/", "/security/", "/no-such-page/"} {
		r := s.Get(t, s.Client(), path, nil)
		if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != strings.TrimSuffix(path, "/") {
			t.Fatalf("%s: %d → %q, want 301 without the slash", path, r.StatusCode, r.Header.Get("Location"))
		}
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
		}
		for name, value := range want {
			if got := r.Header.Get(name); got != value {
				t.Errorf("%s: %s %q, want %q", path, name, got, value)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

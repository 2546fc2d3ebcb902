package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

// posts are the state changes of the foundation, each with a form that would succeed.
var posts = []struct {
	path string
	form url.Values
}{
	{"/lang", url.Values{"lang": {"en"}, "next": {"/faq"}}},
	{"/find", url.Values{"account": {"13800138001"}}},
}

func TestCrossOriginPosts_AreRefusedWithFriendlyPage(t *testing.T) {
	s := webtest.NewServer(t)
	// The portal runs at http://…: a page at https:// on the same host is another origin.
	sameHostHTTPS := strings.Replace(s.URL, "http://", "https://", 1)
	baseHTTPS := strings.Replace(s.Config.BaseURL, "http://", "https://", 1)
	origins := []struct {
		name   string
		header http.Header
	}{
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"Origin evil.example", http.Header{"Origin": {"https://evil.example"}}},
		{"Origin null", http.Header{"Origin": {"null"}}},
		{"Origin of this host by another scheme", http.Header{"Origin": {sameHostHTTPS}}},
		{"Origin of the base URL by another scheme", http.Header{"Origin": {baseHTTPS}}},
	}
	for _, p := range posts {
		for _, o := range origins {
			for _, lang := range i18n.Languages {
				t.Run(p.path+"/"+o.name+"/"+lang, func(t *testing.T) {
					c := s.Client()
					h := cookieLang(lang)
					for k, v := range o.header {
						h[k] = v
					}
					r := s.PostForm(t, c, p.path, p.form, h)
					if r.StatusCode != http.StatusForbidden {
						t.Fatalf("status %d, want 403", r.StatusCode)
					}
					checkPage(t, s, r, lang, "error.forbidden.title")
					if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
						t.Errorf("a refused request set cookies: %q", sc)
					}
				})
			}
		}
	}
}

func TestSameOriginPosts_Pass(t *testing.T) {
	s := webtest.NewServer(t)
	origins := []struct {
		name   string
		header http.Header
	}{
		{"Sec-Fetch-Site same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}},
		{"Origin of the site", http.Header{"Origin": {s.URL}}},
		{"Origin of the base URL", http.Header{"Origin": {s.Config.BaseURL}}},
		{"typed by the user", http.Header{"Sec-Fetch-Site": {"none"}}},
		// Neither header: not a browser (every browser sends one), such as a script; Go's
		// CrossOriginProtection lets it through, and README says so.
		{"no browser headers", nil},
	}
	for _, p := range posts {
		for _, o := range origins {
			t.Run(p.path+"/"+o.name, func(t *testing.T) {
				r := s.PostForm(t, s.Client(), p.path, p.form, o.header)
				if r.StatusCode != http.StatusSeeOther {
					t.Errorf("status %d, want 303", r.StatusCode)
				}
			})
		}
	}
}

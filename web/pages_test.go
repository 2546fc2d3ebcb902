package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/config"
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

// Regression: "（北京时间）" was written whatever --time-zone said. The support hours say the
// configured zone, in the page's language.
func TestPages_TimeZoneFromTheConfiguration(t *testing.T) {
	for zone, want := range map[string]map[string]string{
		"Asia/Shanghai": {i18n.Chinese: "北京时间", i18n.English: "China Standard Time"},
		"Europe/Berlin": {i18n.Chinese: "UTC+1", i18n.English: "UTC+1"},
	} {
		s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.TimeZone = zone }))
		for lang, label := range want {
			for _, path := range []string{"/", "/faq"} {
				r := s.Get(t, s.Client(), path, cookieLang(lang))
				body := r.Doc.Find("body").Text()
				if !strings.Contains(r.Doc.Find("footer").Text(), label) {
					t.Errorf("%s %s %s: the footer does not say %q", zone, lang, path, label)
				}
				if zone != "Asia/Shanghai" && strings.Contains(body, "北京时间") {
					t.Errorf("%s %s %s: the page says 北京时间", zone, lang, path)
				}
			}
		}
	}
}

// The FAQ keeps the product's promises: the ID digits are offered only where they confirm
// identity on their own (--knowledge-suffices); the cost answer names free apps and says which
// cost money; "is my account safe" answers per method.
func TestFAQ_SaysWhatWorksAndWhatCosts(t *testing.T) {
	for _, suffices := range []bool{false, true} {
		s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.KnowledgeSuffices = suffices }))
		r := s.Get(t, s.Client(), "/faq", cookieLang(i18n.Chinese))
		answer := func(topic string) string { return r.Doc.Find("#faq-" + topic).Text() }
		for _, topic := range []string{"lost_phone", "changed_number"} {
			if got := strings.Contains(answer(topic), "证件号码"); got != suffices {
				t.Errorf("knowledge suffices %v: %s offers the ID digits: %v", suffices, topic, got)
			}
		}
		if strings.Contains(answer("nothing"), "证件") {
			t.Error("after the deadline the ID digits never verify, yet the FAQ offers them")
		}
		cost := answer("cost")
		for _, want := range []string{"Google Authenticator", "免费", "1Password", "付费"} {
			if !strings.Contains(cost, want) {
				t.Errorf("the cost answer does not say %q", want)
			}
		}
		safe := answer("safe")
		for _, want := range []string{"通行密钥", "身份验证器应用", "邮箱验证码"} {
			if !strings.Contains(safe, want) {
				t.Errorf("\"is my account safe\" says nothing of %s", want)
			}
		}
		if strings.Contains(safe, "比以前更安全。") {
			t.Error("\"is my account safe\" still answers without condition")
		}
	}
}

// "SMS TokenIM" was named once and never explained. Where a page says it, the same parenthesis
// says in one sentence what it is: the one-time codes texted to the user's phone.
func TestHome_ExplainsSMSTokenIM(t *testing.T) {
	s := fastServer(t)
	for lang, words := range map[string][]string{
		i18n.Chinese: {"短信", "手机", "一次性验证码"},
		i18n.English: {"one-time codes", "text", "phone"},
	} {
		text := mainText(s.Get(t, s.Client(), "/", cookieLang(lang)).Doc)
		_, after, ok := strings.Cut(text, "SMS TokenIM")
		if !ok {
			t.Fatalf("%s: the home page no longer names SMS TokenIM", lang)
		}
		explained, _, ok := strings.Cut(after, map[string]string{i18n.Chinese: "）", i18n.English: ")"}[lang])
		if !ok {
			t.Fatalf("%s: SMS TokenIM is not followed by its explanation in parentheses: %q", lang, after)
		}
		for _, w := range words {
			if !strings.Contains(explained, w) {
				t.Errorf("%s: the explanation %q does not say %q", lang, explained, w)
			}
		}
	}
}

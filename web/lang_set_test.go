package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

func TestLangSet_RemembersChoiceAndReturns(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	r := s.PostForm(t, c, "/lang", url.Values{"lang": {"en"}, "next": {"/faq"}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", r.StatusCode)
	}
	if got := r.Header.Get("Location"); got != "/faq" {
		t.Errorf("Location %q, want /faq", got)
	}
	if got := s.Cookie(c, "lang"); got != i18n.English {
		t.Errorf("lang cookie %q, want en", got)
	}
	// The next pages come in English, even to a browser that prefers Chinese.
	for _, path := range []string{"/faq", "/"} {
		page := s.Get(t, c, path, acceptLang("zh-CN"))
		if got := page.Doc.Find("html").AttrOr("lang", ""); got != i18n.English {
			t.Errorf("%s after choosing English: <html lang=%q>", path, got)
		}
	}
	// And back to Chinese.
	r = s.PostForm(t, c, "/lang", url.Values{"lang": {"zh-Hans"}, "next": {"/"}}, nil)
	if r.StatusCode != http.StatusSeeOther || s.Cookie(c, "lang") != i18n.Chinese {
		t.Fatalf("switch back: status %d, cookie %q", r.StatusCode, s.Cookie(c, "lang"))
	}
	if got := s.Get(t, c, "/", acceptLang("en")).Doc.Find("html").AttrOr("lang", ""); got != i18n.Chinese {
		t.Errorf("after choosing Chinese: <html lang=%q>", got)
	}
}

func TestLangSet_SwitchOnEveryPageComesBackToIt(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	notice := "/notice/" + s.NoticeToken("demo-zh")
	for _, path := range []string{"/", "/faq", notice, "/faq?x=1"} {
		page := s.Get(t, c, path, nil)
		form := page.Doc.Find(`form[action="/lang"][method="post"]`)
		if form.Length() != 1 {
			t.Fatalf("%s: want one language switch form, got %d", path, form.Length())
		}
		next := form.Find(`input[name="next"]`).AttrOr("value", "")
		lang := form.Find(`input[name="lang"]`).AttrOr("value", "")
		if next != path {
			t.Errorf("%s: switch returns to %q", path, next)
		}
		r := s.PostForm(t, c, "/lang", url.Values{"lang": {lang}, "next": {next}}, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path {
			t.Errorf("%s: switch answered %d to %q", path, r.StatusCode, r.Header.Get("Location"))
		}
		after := s.Get(t, c, path, nil)
		if got := after.Doc.Find("html").AttrOr("lang", ""); got != lang {
			t.Errorf("%s: after switching to %s the page is in %q", path, lang, got)
		}
	}
}

func TestLangSet_NeverRedirectsAway(t *testing.T) {
	s := webtest.NewServer(t)
	host, _ := url.Parse(s.URL)
	for _, next := range []string{
		"//evil.example", "//evil.example/path", "https://evil.example", "http://evil.example/", `/\evil.example`,
		`\\evil.example`, "javascript:alert(1)", "JaVaScRiPt:alert(1)", "/\t/evil.example", "/%0a/evil.example",
		"///evil.example", "http:evil.example", "evil.example", "", "/%2F%2Fevil.example", "/@evil.example",
	} {
		t.Run(next, func(t *testing.T) {
			r := s.PostForm(t, s.Client(), "/lang", url.Values{"lang": {"en"}, "next": {next}}, nil)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", r.StatusCode)
			}
			loc := r.Header.Get("Location")
			target, err := host.Parse(loc)
			if err != nil || target.Host != host.Host || target.Scheme != host.Scheme {
				t.Errorf("next=%q redirects to %q, off the site", next, loc)
			}
			if len(loc) > 1 && (loc[1] == '/' || loc[1] == '\\') {
				t.Errorf("next=%q redirects to %q, which browsers read as another host", next, loc)
			}
		})
	}
	for _, next := range []string{"//evil.example", "https://evil.example", `/\evil`, "javascript:alert(1)"} {
		r := s.PostForm(t, s.Client(), "/lang", url.Values{"lang": {"en"}, "next": {next}}, nil)
		if got := r.Header.Get("Location"); got != "/" {
			t.Errorf("next=%q: Location %q, want /", next, got)
		}
	}
}

func TestLangSet_UnknownLanguageGetsFriendlyPage(t *testing.T) {
	s := webtest.NewServer(t)
	for _, lang := range []string{"fr", "", "zh-Hant", "en<script>"} {
		t.Run(lang, func(t *testing.T) {
			c := s.Client()
			r := s.PostForm(t, c, "/lang", url.Values{"lang": {lang}, "next": {"/faq"}}, cookieLang(i18n.English))
			if r.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.StatusCode)
			}
			checkPage(t, s, r, i18n.English, "error.bad_request.title")
			if got := s.Cookie(c, "lang"); got != "" {
				t.Errorf("lang cookie set to %q", got)
			}
		})
	}
}

func TestLangSet_SwitchOnAnsweredPostLandsOnAPage(t *testing.T) {
	s := webtest.NewServer(t)
	answers := []struct {
		name     string
		path     string
		form     url.Values
		wantNext string
	}{
		{"find without input", "/find", url.Values{"account": {""}}, "/"},
		{"unknown language", "/lang", url.Values{"lang": {"fr"}}, "/"},
		{"post to a page", "/faq", url.Values{}, "/faq"},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			c := s.Client()
			page := s.PostForm(t, c, a.path, a.form, nil)
			form := page.Doc.Find(`form[action="/lang"]`)
			next := form.Find(`input[name="next"]`).AttrOr("value", "")
			if next != a.wantNext {
				t.Errorf("switch returns to %q, want %q", next, a.wantNext)
			}
			r := s.PostForm(t, c, "/lang", url.Values{"lang": {form.Find(`input[name="lang"]`).AttrOr("value", "")}, "next": {next}}, nil)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("switch: status %d, want 303", r.StatusCode)
			}
			loc := r.Header.Get("Location")
			if got := s.Get(t, c, loc, nil); got.StatusCode != http.StatusOK {
				t.Errorf("switching language on the answer to POST %s leads to %s, which answers %d", a.path, loc, got.StatusCode)
			}
		})
	}
}

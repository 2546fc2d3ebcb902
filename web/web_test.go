package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

// Shared helpers of the handler tests: each test starts the real server with testsupport and
// asserts on the parsed HTML.

// cookieLang asks for a language the way the language switch does.
func cookieLang(lang string) http.Header { return http.Header{"Cookie": {"lang=" + lang}} }

// acceptLang asks for a language the way a browser does before any choice.
func acceptLang(v string) http.Header { return http.Header{"Accept-Language": {v}} }

// h1Text returns the trimmed text of the page's only h1, failing when there is not exactly one.
func h1Text(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	h1 := doc.Find("h1")
	if h1.Length() != 1 {
		t.Fatalf("want one <h1>, got %d", h1.Length())
	}
	return strings.TrimSpace(h1.Text())
}

// mainText returns the text of <main>, with runs of white space collapsed.
func mainText(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find("main").Text()), " ")
}

// checkPage asserts what every full page shares: the language, a title naming the page and the
// site, one h1 with the expected text, a <main id="main">, no message key shown as text, and
// markup that a strict CSP allows.
func checkPage(t *testing.T, s *webtest.Server, r *webtest.Response, lang, h1Key string) {
	t.Helper()
	tr := s.Catalog.For(lang)
	if got, _ := r.Doc.Find("html").Attr("lang"); got != lang {
		t.Errorf("<html lang=%q>, want %q", got, lang)
	}
	title := strings.TrimSpace(r.Doc.Find("head title").Text())
	if title == "" || !strings.Contains(title, tr.T("site.name")) {
		t.Errorf("<title> %q, want one naming the site %q", title, tr.T("site.name"))
	}
	if got, want := h1Text(t, r.Doc), tr.T(h1Key); got != want {
		t.Errorf("<h1> %q, want %q", got, want)
	}
	if n := r.Doc.Find("main#main").Length(); n != 1 || r.Doc.Find("main").Length() != 1 {
		t.Errorf(`want one <main id="main">, got %d (and %d <main>)`, n, r.Doc.Find("main").Length())
	}
	for _, k := range rawKeys(r.Doc) {
		t.Errorf("message key shown instead of text: %q", k)
	}
	for _, p := range cspProblems(r.Doc) {
		t.Errorf("not allowed by a strict CSP: %s", p)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
}

// keyLike matches a message ID such as "notice.expired.title".
var keyLike = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)

// rawKeys returns every text node and human-readable attribute that looks like a message ID.
func rawKeys(doc *goquery.Document) []string {
	var found []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			if s := strings.TrimSpace(n.Data); keyLike.MatchString(s) {
				found = append(found, s)
			}
		case html.ElementNode:
			for _, a := range n.Attr {
				switch a.Key {
				case "title", "alt", "aria-label", "placeholder", "content":
					if s := strings.TrimSpace(a.Val); keyLike.MatchString(s) {
						found = append(found, a.Key+"="+s)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range doc.Nodes {
		walk(n)
	}
	return found
}

// cspProblems lists markup that a CSP without 'unsafe-inline' would block or that runs code from
// attributes: inline scripts, scripts from elsewhere, style attributes and <style> elements, and
// event handler attributes (on*, hx-on*, data-hx-on*).
func cspProblems(doc *goquery.Document) []string {
	var out []string
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		src, ok := s.Attr("src")
		switch {
		case !ok:
			out = append(out, "inline <script> without src")
		case !strings.HasPrefix(src, "/") || strings.HasPrefix(src, "//"):
			out = append(out, "script from another origin: "+src)
		}
	})
	if doc.Find("style").Length() > 0 {
		out = append(out, "inline <style> element")
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			k := strings.ToLower(a.Key)
			if k == "style" || strings.HasPrefix(k, "on") || strings.HasPrefix(k, "hx-on") || strings.HasPrefix(k, "data-hx-on") {
				out = append(out, "<"+s.Nodes[0].Data+" "+a.Key+"=…>")
			}
		}
	})
	return out
}

func TestRawKeys_FindsKeysButNotText(t *testing.T) {
	doc := webtest.ParseHTML(t, []byte(`<html><head><title>notice.title</title></head><body>
		<p>Hello.</p><p> home.find.required </p><p>support@example.com</p><p>v1.2</p><p>zh-Hans</p>
		<button title="site.lang.switch_hint">中文</button></body></html>`))
	got := strings.Join(rawKeys(doc), "|")
	if want := "notice.title|home.find.required|title=site.lang.switch_hint"; got != want {
		t.Errorf("rawKeys = %q, want %q", got, want)
	}
}

func TestCSPProblems_FindsInlineCode(t *testing.T) {
	doc := webtest.ParseHTML(t, []byte(`<html><head><script>alert(1)</script>
		<script src="https://cdn.example/x.js"></script><script src="/static/js/app.js"></script><style>p{}</style></head>
		<body><p style="color:red">x</p><button onclick="go()">y</button><div hx-on:click="go()"></div><div data-hx-on:click="go()"></div></body></html>`))
	if got := len(cspProblems(doc)); got != 7 {
		t.Errorf("found %d problems, want 7: %q", got, cspProblems(doc))
	}
}

// both is each supported language with a request header that selects it, by cookie and by
// Accept-Language.
var both = []struct {
	name   string
	lang   string
	header http.Header
}{
	{"cookie zh-Hans", i18n.Chinese, cookieLang(i18n.Chinese)},
	{"cookie en", i18n.English, cookieLang(i18n.English)},
	{"Accept-Language zh-CN", i18n.Chinese, acceptLang("zh-CN,zh;q=0.9,en;q=0.5")},
	{"Accept-Language en-GB", i18n.English, acceptLang("en-GB,en;q=0.9")},
}

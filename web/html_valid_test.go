package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// A document the checker must refuse, checked in the same run as the pages: it shows that the
// checker ran and that its errors reach the test.
const invalidControl = `<!DOCTYPE html><html lang="en"><head><title>control</title></head><body><p><div>x</div></p></body></html>`

// TestPages_ValidHTML checks every page of the tour, in every language, with the Nu HTML checker:
// one run of the checker over a directory of the collected pages. Errors and warnings fail the
// test. htmx fragments are checked as fragments: placed in a minimal document, under an <h1> as
// on the page they are swapped into.
func TestPages_ValidHTML(t *testing.T) {
	dir := t.TempDir()
	slug := regexp.MustCompile(`[^a-z0-9]+`)
	pages := map[string]string{} // file → the stop's name and language, for the failure message
	for _, lang := range i18n.Languages {
		s := tourServer(t)
		for i, st := range tour(t, s, lang) {
			if !isHTML(st.resp) {
				continue
			}
			body := st.resp.Body
			if st.fragment() {
				body = []byte(`<!DOCTYPE html><html lang="` + lang + `"><head><meta charset="utf-8"><title>htmx fragment</title></head><body><h1>htmx fragment</h1>` +
					string(body) + "</body></html>")
			}
			name := fmt.Sprintf("%s/%02d-%s.html", lang, i, strings.Trim(slug.ReplaceAllString(strings.ToLower(st.name), "-"), "-"))
			writeFile(t, filepath.Join(dir, name), body)
			pages[name] = st.name + " in " + lang + fmt.Sprintf(" (%s %s)", st.resp.Request.Method, st.resp.Request.URL.Path)
		}
	}
	writeFile(t, filepath.Join(dir, "control", "invalid.html"), []byte(invalidControl))

	controlSeen := false
	for _, m := range testsupport.CheckHTML(t, dir) {
		switch {
		case m.File == filepath.Join("control", "invalid.html"):
			controlSeen = controlSeen || m.Error()
		case m.Error() || m.SubType == "warning":
			t.Errorf("%s: %s", pages[m.File], m)
		}
	}
	if !controlSeen {
		t.Error("the checker found no error in a document with a <div> inside a <p>: it did not check the pages")
	}
	t.Logf("checked %d pages", len(pages))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

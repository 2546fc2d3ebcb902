package web_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/i18n"
)

// Every page of the tour, as a reader and a screen reader get it (text, hidden text, alt, labels,
// titles), uses the glossary's terms in both languages and full-width punctuation in Chinese:
// "选择此方式: 通行密钥" was read out from a hidden span.
func TestTour_PagesUseTheGlossaryAndFullWidthPunctuation(t *testing.T) {
	terms, err := i18n.Glossary()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range i18n.Languages {
		s := tourServer(t)
		for _, st := range tour(t, s, lang) {
			if !isHTML(st.resp) {
				continue
			}
			texts := []string{st.resp.Doc.Find("body").Text()}
			st.resp.Doc.Find("[alt], [aria-label], [title]").Each(func(_ int, el *goquery.Selection) {
				for _, a := range []string{"alt", "aria-label", "title"} {
					if v, ok := el.Attr(a); ok {
						texts = append(texts, v)
					}
				}
			})
			for _, text := range texts {
				if st.name == "development outbox" {
					continue // it shows what was sent, checked in views/message
				}
				for _, bad := range i18n.Misused(terms, lang, text) {
					t.Errorf("%s in %s: %s", st.name, lang, bad)
				}
				if lang == i18n.Chinese {
					for _, p := range i18n.HalfWidthPunctuation(strings.Join(strings.Fields(text), " ")) {
						t.Errorf("%s: %s", st.name, p)
					}
				}
			}
		}
	}
}

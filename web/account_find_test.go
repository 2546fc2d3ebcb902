package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

func TestAccountFind_RefusesBadInputWithMessagesInPageLanguage(t *testing.T) {
	s := webtest.NewServer(t)
	tests := []struct {
		name, account, msgKey string
	}{
		{"empty", "", "home.find.required"},
		{"blank", "   ", "home.find.required"},
		{"markup", "<script>", "home.find.invalid"},
		{"too long", strings.Repeat("1", 65), "home.find.invalid"},
	}
	for _, tt := range tests {
		for _, lang := range i18n.Languages {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				c := s.Client()
				r := s.PostForm(t, c, "/find", url.Values{"account": {tt.account}}, cookieLang(lang))
				if r.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", r.StatusCode)
				}
				checkPage(t, s, r, lang, "home.title")
				want := s.Catalog.For(lang).T(tt.msgKey)
				link := r.Doc.Find(`.error-summary a[href="#account"]`)
				if link.Length() != 1 || strings.TrimSpace(link.Text()) != want {
					t.Errorf("error summary link to #account: %d links, text %q, want %q", link.Length(), link.Text(), want)
				}
				if r.Doc.Find(`.error-summary[role="alert"]`).Length() != 1 {
					t.Error(`error summary is not role="alert"`)
				}
				input := r.Doc.Find("input#account")
				if got := input.AttrOr("aria-invalid", ""); got != "true" {
					t.Errorf(`input aria-invalid=%q, want "true"`, got)
				}
				if got := input.AttrOr("aria-describedby", ""); !strings.Contains(got, "account-error") {
					t.Errorf("input aria-describedby=%q does not name the error", got)
				}
				if got := strings.TrimSpace(r.Doc.Find("#account-error").Text()); got != want {
					t.Errorf("field message %q, want %q", got, want)
				}
				if got := input.AttrOr("value", ""); got != strings.TrimSpace(tt.account) {
					t.Errorf("input keeps %q, want %q", got, strings.TrimSpace(tt.account))
				}
				if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
					t.Errorf("refused input set cookies: %q", sc)
				}
			})
		}
	}
}

func TestAccountFind_ValidInputGoesOnToVerify(t *testing.T) {
	s := webtest.NewServer(t)
	for _, account := range []string{"13800138001", "138 0013 8001", "+86 138-0013-8001", "demo-zh", "no-such-account"} {
		t.Run(account, func(t *testing.T) {
			r := s.PostForm(t, s.Client(), "/find", url.Values{"account": {account}}, nil)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", r.StatusCode)
			}
			if got := r.Header.Get("Location"); got != "/verify" {
				t.Errorf("Location %q, want /verify", got)
			}
		})
	}
}

package message_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/views/message"
)

func TestRender_SecurityNoticesAndCheckupInBothLanguages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	cat.OnMissing(func(lang, id string) { missing = append(missing, lang+":"+id) })
	cfg := config.Default()
	cfg.BaseURL = "https://portal.example.cn"
	r := message.NewRenderer(cat, cfg)
	for _, lang := range i18n.Languages {
		for _, change := range []string{"factor.added", "factor.removed", "recovery.used", "recovery.regenerated"} {
			data := map[string]string{"change": change, "kind": "passkey", "date": "2026-11-24T10:30:00Z", "browser": "chrome", "system": "android", "ip": "203.0.113.7"}
			got, err := r.Render(context.Background(), "email", "security.notice", lang, data, "")
			if err != nil {
				t.Fatalf("%s %s: %v", lang, change, err)
			}
			device, zone := "Chrome on Android", "China Standard Time" // the device and the zone in the reader's language
			if lang == i18n.Chinese {
				device, zone = "Android 上的 Chrome", "北京时间"
			}
			for _, want := range []string{device, zone, "203.0.113.7", "18:30", "https://portal.example.cn/signin", cfg.SupportEmail} {
				if !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, want) {
					t.Errorf("%s %s lacks %q:\n%s", lang, change, want, got.Text)
				}
			}
		}
		// A notice queued by an earlier version names the device in English.
		old := map[string]string{"change": "factor.added", "kind": "totp", "date": "2026-11-24T10:30:00Z", "device": "Chrome on Android", "ip": "203.0.113.7"}
		if got, err := r.Render(context.Background(), "email", "security.notice", lang, old, ""); err != nil || !strings.Contains(got.Text, "Chrome on Android") {
			t.Errorf("%s: an earlier payload: %v\n%s", lang, err, got.Text)
		}
		if _, err := r.Render(context.Background(), "email", "security.notice", lang, map[string]string{"change": "something.else"}, ""); err == nil {
			t.Error("an unknown change rendered")
		}
		got, err := r.Render(context.Background(), "email", "checkup.reminder", lang, map[string]string{"date": "2026-11-24T10:30:00Z"}, "")
		if err != nil || !strings.Contains(got.Text, "/signin") {
			t.Errorf("%s checkup: %v\n%s", lang, err, got.Text)
		}
	}
	if len(missing) > 0 {
		t.Errorf("missing messages: %v", missing)
	}
}

// Every notice a user without email gets by SMS fits in one message (70 characters in Chinese,
// 160 in English), says how to reach support and carries neither a code nor a link.
func TestRender_SMSNoticesFitInOneMessageWithoutLinks(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	cat.OnMissing(func(lang, id string) { missing = append(missing, lang+":"+id) })
	cfg := config.Default()
	cfg.BaseURL = "https://portal.example.cn"
	r := message.NewRenderer(cat, cfg)
	type tc struct {
		template string
		data     map[string]string
		secret   string
	}
	var cases []tc
	for _, change := range []string{"factor.added", "factor.removed", "recovery.used", "recovery.regenerated", "signin.new_device", "contact.changed", "contact.registered", "support.factors_reset", "signin.qr"} {
		cases = append(cases, tc{"security.notice", map[string]string{"change": change, "kind": "passkey", "date": "2026-11-24T10:30:00Z",
			"device": "Samsung Internet on Android", "ip": "203.0.113.7", "field": "phone", "to": "139****0009"}, ""})
	}
	cases = append(cases, tc{"checkup.reminder", map[string]string{"date": "2026-11-24T10:30:00Z"}, ""},
		tc{"retired.confirmation", map[string]string{"factors": "totp,passkey,email", "date": "2026-11-24"}, ""},
		tc{"contact.code", map[string]string{"minutes": "10"}, "493817"})
	for _, c := range cases {
		for lang, max := range map[string]int{"zh-Hans": 70, "en": 160} {
			got, err := r.Render(context.Background(), "sms", c.template, lang, c.data, c.secret)
			if err != nil {
				t.Fatalf("%s %s %s: %v", c.template, c.data["change"], lang, err)
			}
			if n := utf8.RuneCountInString(got.Text); n > max {
				t.Errorf("%s %s %s: %d characters, more than %d: %q", c.template, c.data["change"], lang, n, max, got.Text)
			}
			if c.secret == "" && (!strings.Contains(got.Text, cfg.SupportPhone) || strings.Contains(got.Text, "http")) {
				t.Errorf("%s %s %s: no support number, or a link: %q", c.template, c.data["change"], lang, got.Text)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("missing messages: %v", missing)
	}
}

// Every security email carries its "this wasn't me" link, in both bodies, and says what it does.
func TestRender_SecurityEmailsCarryTheThisWasntMeLink(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.BaseURL = "https://portal.example.cn"
	r := message.NewRenderer(cat, cfg)
	const token = "abcdefghijklmnopqrstuvwxyzABCDEFabcdefghijklmnop"
	link := "https://portal.example.cn/not-me/" + token
	type tc struct {
		template string
		data     map[string]string
	}
	cases := []tc{
		{"retired.confirmation", map[string]string{"factors": "passkey", "date": "2026-11-24"}},
		{"checkup.reminder", map[string]string{"date": "2026-11-24T10:30:00Z"}},
	}
	for _, change := range []string{"factor.added", "factor.removed", "recovery.used", "recovery.regenerated", "signin.new_device", "contact.changed", "contact.registered", "support.factors_reset", "signin.qr"} {
		cases = append(cases, tc{"security.notice", map[string]string{"change": change, "kind": "totp", "date": "2026-11-24T10:30:00Z",
			"device": "Chrome on Windows", "ip": "203.0.113.7", "field": "email", "to": "n***@example.com"}})
	}
	for _, lang := range i18n.Languages {
		tr := cat.For(lang)
		for _, c := range cases {
			got, err := r.Render(context.Background(), "email", c.template, lang, c.data, token)
			if err != nil {
				t.Fatalf("%s %s: %v", c.template, lang, err)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(got.HTML))
			if err != nil {
				t.Fatal(err)
			}
			a := doc.Find(`a[href="` + link + `"]`)
			if a.Length() != 1 || strings.TrimSpace(a.Text()) != tr.T("mail.notme.link") {
				t.Errorf("%s %s %s: HTML link %d, %q", c.template, c.data["change"], lang, a.Length(), a.Text())
			}
			if !strings.Contains(got.Text, tr.Tf("mail.link_line", map[string]any{"Text": tr.T("mail.notme.link"), "URL": link})) || !strings.Contains(got.Text, cfg.SupportEmail) {
				t.Errorf("%s %s %s: text lacks the link or support:\n%s", c.template, c.data["change"], lang, got.Text)
			}
		}
		// A notice made by support, not from a device, says when only.
		got, _ := r.Render(context.Background(), "email", "security.notice", lang, map[string]string{"change": "factor.removed", "kind": "totp", "date": "2026-11-24T10:30:00Z"}, "")
		if strings.Contains(got.Text, tr.T("mail.notice.unknown_device")) {
			t.Errorf("%s: a notice without device or IP names an unknown device:\n%s", lang, got.Text)
		}
	}
}

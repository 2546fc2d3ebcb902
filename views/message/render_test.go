package message_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/views/message"
)

func renderer(t *testing.T) *message.Renderer {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	cat.OnMissing(func(lang, id string) { t.Errorf("message %q missing in %s", id, lang) })
	cfg := config.Default()
	cfg.BaseURL = "https://portal.example.cn"
	return message.NewRenderer(cat, cfg)
}

var ctx = context.Background()

var codeData = map[string]string{"minutes": "10"}

func TestRender_VerifyCodeSMS(t *testing.T) {
	r := renderer(t)
	en, err := r.Render(ctx, "sms", "verify.code", "en", codeData, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Your smsretire verification code is 123456. It expires in 10 minutes. We will never ask you for it."; en.Text != want {
		t.Errorf("en = %q\nwant %q", en.Text, want)
	}
	zh, err := r.Render(ctx, "sms", "verify.code", "zh-Hans", codeData, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if want := "【smsretire】您的验证码是 123456，10 分钟内有效。我们绝不会向您索要验证码。"; zh.Text != want {
		t.Errorf("zh = %q\nwant %q", zh.Text, want)
	}
	if en.Subject != "" || en.HTML != "" {
		t.Errorf("an SMS has no subject or HTML: %+v", en)
	}
}

// One SMS holds 70 characters when any is Chinese (UCS-2) and 160 in the GSM alphabet.
func TestRender_SMSFitsInOneMessage(t *testing.T) {
	r := renderer(t)
	data := map[string]string{"minutes": "10", "factors": "totp,passkey", "date": "2026-11-24"}
	for _, tmpl := range []string{"verify.code", "retired.confirmation"} {
		for lang, max := range map[string]int{"zh-Hans": 70, "en": 160} {
			got, err := r.Render(ctx, "sms", tmpl, lang, data, "123456")
			if err != nil {
				t.Fatal(err)
			}
			if n := utf8.RuneCountInString(got.Text); n > max {
				t.Errorf("%s %s: %d characters, more than %d: %q", tmpl, lang, n, max, got.Text)
			}
		}
	}
}

func TestRender_EveryEmailInBothLanguages(t *testing.T) {
	r := renderer(t)
	data := map[string]string{"minutes": "15", "name": "张伟", "factors": "totp,passkey", "date": "2026-11-24"}
	for _, tmpl := range []string{"verify.code", "enroll.email_code", "signin.email_code", "retired.confirmation"} {
		for _, lang := range i18n.Languages {
			secret := "493817"
			if tmpl == "retired.confirmation" {
				secret = ""
			}
			got, err := r.Render(ctx, "email", tmpl, lang, data, secret)
			if err != nil {
				t.Fatalf("%s %s: %v", tmpl, lang, err)
			}
			if !strings.Contains(got.Subject, "smsretire") {
				t.Errorf("%s %s: subject %q lacks the service name", tmpl, lang, got.Subject)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(got.HTML))
			if err != nil {
				t.Fatal(err)
			}
			if l, _ := doc.Find("html").Attr("lang"); l != lang {
				t.Errorf("%s %s: html lang = %q", tmpl, lang, l)
			}
			if doc.Find("title").Text() != got.Subject {
				t.Errorf("%s %s: title %q", tmpl, lang, doc.Find("title").Text())
			}
			if !strings.Contains(got.Text, "张伟") || !strings.Contains(doc.Text(), "张伟") {
				t.Errorf("%s %s: no greeting by name", tmpl, lang)
			}
			if !strings.Contains(got.Text, "support@example.com") || !strings.Contains(doc.Text(), "400-000-0000") {
				t.Errorf("%s %s: no support contact", tmpl, lang)
			}
			if secret != "" {
				if doc.Find("strong").Text() != secret || !strings.Contains(got.Text, secret) || !strings.Contains(got.Text, "15") {
					t.Errorf("%s %s: code or lifetime missing\n%s", tmpl, lang, got.Text)
				}
			}
		}
	}
}

func TestRender_EmailWordsDependOnTheLanguage(t *testing.T) {
	r := renderer(t)
	zh, _ := r.Render(ctx, "email", "verify.code", "zh-Hans", codeData, "123456")
	en, _ := r.Render(ctx, "email", "verify.code", "en", codeData, "123456")
	if !strings.Contains(zh.Text, "您的 smsretire 验证码是 123456，10 分钟内有效。我们绝不会向您索要验证码。") || zh.Subject != "您的 smsretire 验证码" {
		t.Errorf("zh:\n%s", zh.Text)
	}
	if !strings.Contains(en.Text, "Your smsretire verification code is 123456. It expires in 10 minutes. We will never ask you for it.") {
		t.Errorf("en:\n%s", en.Text)
	}
	// An unknown or empty locale gets Chinese, the default.
	def, _ := r.Render(ctx, "email", "verify.code", "", codeData, "123456")
	if def.Subject != zh.Subject {
		t.Errorf("default language subject %q", def.Subject)
	}
}

func TestRender_EscapesDataInHTMLOnly(t *testing.T) {
	r := renderer(t)
	name := `<script>alert("x")</script> & Co`
	got, err := r.Render(ctx, "email", "verify.code", "en", map[string]string{"minutes": "10", "name": name}, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.HTML, "<script>") || !strings.Contains(got.HTML, "&lt;script&gt;") {
		t.Errorf("name not escaped in HTML:\n%s", got.HTML)
	}
	if !strings.Contains(got.Text, "Hello "+name+",") {
		t.Errorf("text should carry the name as written:\n%s", got.Text)
	}
}

func TestRender_RetiredConfirmation(t *testing.T) {
	r := renderer(t)
	// 17:30 UTC is already the next day in Shanghai, the configured zone.
	data := map[string]string{"factors": "totp,passkey,email", "date": time.Date(2026, 11, 24, 17, 30, 0, 0, time.UTC).Format(time.RFC3339)}
	en, err := r.Render(ctx, "email", "retired.confirmation", "en", data, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(en.Text, "On 25 November 2026, SMS codes were retired on your account. From now on you sign in with an authenticator app, a passkey or codes by email.") {
		t.Errorf("en:\n%s", en.Text)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(en.HTML))
	if href, _ := doc.Find("a").Attr("href"); href != "https://portal.example.cn/security" {
		t.Errorf("link = %q", href)
	}
	zh, _ := r.Render(ctx, "email", "retired.confirmation", "zh-Hans", map[string]string{"factors": "passkey", "date": "2026-12-01"}, "")
	if !strings.Contains(zh.Text, "2026年12月1日，您的账户已停用短信验证码。今后请使用通行密钥登录。") {
		t.Errorf("zh:\n%s", zh.Text)
	}
	sms, err := r.Render(ctx, "sms", "retired.confirmation", "en", data, "")
	if err != nil || !strings.Contains(sms.Text, "400-000-0000") {
		t.Errorf("sms = %q, %v", sms.Text, err)
	}
}

func TestRender_RefusesWhatCannotBeSent(t *testing.T) {
	r := renderer(t)
	cases := []struct{ kind, tmpl, secret string }{
		{"email", "no.such.template", "1"},
		{"sms", "enroll.email_code", "123456"}, // email only
		{"sms", "signin.email_code", "123456"},
		{"event", "verify.code", "123456"},
		{"email", "verify.code", ""}, // a code message without its code
		{"sms", "verify.code", ""},
	}
	for _, c := range cases {
		if got, err := r.Render(ctx, c.kind, c.tmpl, "en", codeData, c.secret); err == nil {
			t.Errorf("%s %s %q rendered: %+v", c.kind, c.tmpl, c.secret, got)
		}
	}
	if _, err := r.Render(ctx, "email", "no.such.template", "en", nil, ""); !errors.Is(err, message.ErrUnknownTemplate) {
		t.Errorf("unknown template: %v", err)
	}
}

var _ outbox.Renderer = (*message.Renderer)(nil)

func TestRender_TextBodyWritesTheCodeOnItsOwnLine(t *testing.T) {
	r := renderer(t)
	zh, _ := r.Render(ctx, "email", "signin.email_code", "zh-Hans", codeData, "493817")
	en, _ := r.Render(ctx, "email", "signin.email_code", "en", codeData, "493817")
	if !strings.Contains(zh.Text, "\n\n您的验证码：493817\n\n") || !strings.Contains(en.Text, "\n\nYour code: 493817\n\n") {
		t.Errorf("zh:\n%s\nen:\n%s", zh.Text, en.Text)
	}
}

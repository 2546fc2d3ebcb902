package message_test

import (
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
)

// Every message as sent — subject, text and HTML, with what the renderer adds (the link's line,
// the device, the zone) — uses the glossary's terms, and the Chinese ones full-width punctuation:
// "查看和管理您的登录方式: https://…" was both wrong.
func TestRender_EveryMessageInTheGlossarysWordsAndPunctuation(t *testing.T) {
	r := renderer(t)
	terms, err := i18n.Glossary()
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"minutes": "10", "name": "张伟", "factors": "totp,passkey,email", "date": "2026-11-24T10:30:00Z",
		"kind": "totp", "browser": "chrome", "system": "android", "ip": "203.0.113.7", "deadline": "2026-12-31", "grace_end": "2027-01-14"}
	type msg struct {
		kind, template string
		extra          map[string]string
	}
	var msgs []msg
	for _, tmpl := range []string{outbox.TemplateVerifyCode, outbox.TemplateEnrollEmailCode, outbox.TemplateSigninEmailCode, outbox.TemplateRetiredConfirmation, outbox.TemplateCheckup} {
		msgs = append(msgs, msg{"email", tmpl, nil})
	}
	msgs = append(msgs, msg{"sms", outbox.TemplateVerifyCode, nil}, msg{"sms", outbox.TemplateRetiredConfirmation, nil})
	for _, change := range []string{"factor.added", "factor.removed", "recovery.used", "recovery.regenerated"} {
		msgs = append(msgs, msg{"email", outbox.TemplateSecurityNotice, map[string]string{"change": change}})
	}
	for _, phase := range []map[string]string{{"phase": "open", "days": "30"}, {"phase": "grace", "days": "-3"}, {"phase": "closed", "days": "-20"}} {
		msgs = append(msgs, msg{"email", outbox.TemplateCampaignNotice, phase}, msg{"sms", outbox.TemplateCampaignNotice, phase})
	}
	for _, days := range []string{"7", "1", "0"} {
		msgs = append(msgs, msg{"email", outbox.TemplateCampaignReminder, map[string]string{"phase": "open", "days": days}},
			msg{"sms", outbox.TemplateCampaignReminder, map[string]string{"phase": "open", "days": days}})
	}
	for _, m := range msgs {
		data := map[string]string{}
		for k, v := range base {
			data[k] = v
		}
		for k, v := range m.extra {
			data[k] = v
		}
		secret := "493817"
		if strings.HasPrefix(m.template, "campaign.") {
			secret = link
		} else if m.template == outbox.TemplateRetiredConfirmation || m.template == outbox.TemplateCheckup || m.template == outbox.TemplateSecurityNotice {
			secret = ""
		}
		for _, lang := range i18n.Languages {
			got, err := r.Render(ctx, m.kind, m.template, lang, data, secret)
			if err != nil {
				t.Fatalf("%s %s %s: %v", m.kind, m.template, lang, err)
			}
			for _, text := range []string{got.Subject, got.Text} {
				for _, bad := range i18n.Misused(terms, lang, text) {
					t.Errorf("%s %s %v in %s: %s", m.kind, m.template, m.extra, lang, bad)
				}
				if lang == i18n.Chinese {
					for _, p := range i18n.HalfWidthPunctuation(text) {
						t.Errorf("%s %s %v: %s", m.kind, m.template, m.extra, p)
					}
				}
			}
		}
	}
}

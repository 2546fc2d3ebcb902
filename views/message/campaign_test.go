package message_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
)

const link = "https://portal.example.cn/notice/n1.dXNlcg.abc.sig"

// The campaign's notice and reminders in both languages, by SMS and email: each carries the
// signed link and the deadline, and says what applies on its day.
func TestRender_CampaignMessagesInBothLanguages(t *testing.T) {
	r := renderer(t)
	cases := []struct {
		template, phase, days string
		en                    string // words the English email says
	}{
		{outbox.TemplateCampaignNotice, "open", "30", "stop working after 31 December 2026"},
		{outbox.TemplateCampaignNotice, "grace", "-3", "Until 14 January 2027 you can still confirm"},
		{outbox.TemplateCampaignNotice, "closed", "-20", "call support on 400-000-0000"},
		{outbox.TemplateCampaignReminder, "open", "7", "in 7 days"},
		{outbox.TemplateCampaignReminder, "open", "1", "in 1 day."},
		{outbox.TemplateCampaignReminder, "open", "0", "Today is the last day"},
	}
	for _, c := range cases {
		data := map[string]string{"name": "张伟", "deadline": "2026-12-31", "grace_end": "2027-01-14", "phase": c.phase, "days": c.days}
		for _, lang := range i18n.Languages {
			mail, err := r.Render(ctx, "email", c.template, lang, data, link)
			if err != nil {
				t.Fatalf("%s %s: %v", c.template, lang, err)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(mail.HTML))
			if err != nil {
				t.Fatal(err)
			}
			if href, _ := doc.Find("a").Attr("href"); href != link || !strings.Contains(mail.Text, link) {
				t.Errorf("%s %s %s: link %q\n%s", c.template, c.phase, lang, href, mail.Text)
			}
			if !strings.Contains(mail.Subject, "smsretire") {
				t.Errorf("%s %s: subject %q", c.template, lang, mail.Subject)
			}
			if lang == i18n.English && !strings.Contains(mail.Text, c.en) {
				t.Errorf("%s %s days %s: %q not in\n%s", c.template, c.phase, c.days, c.en, mail.Text)
			}
			if c.phase != "open" {
				continue
			}
			sms, err := r.Render(ctx, "sms", c.template, lang, data, link)
			if err != nil || !strings.Contains(sms.Text, link) || sms.Subject != "" {
				t.Errorf("%s sms %s: %+v, %v", c.template, lang, sms, err)
			}
		}
	}
	if _, err := r.Render(ctx, "email", outbox.TemplateCampaignNotice, "en", map[string]string{"deadline": "2026-12-31"}, ""); err == nil {
		t.Error("a notice without its link was rendered")
	}
}

// Package message renders the messages the outbox delivers — SMS texts and email in plain text and
// HTML — in the recipient's language from the i18n catalog. cmd/ hands a Renderer to the outbox
// worker, since internal packages do not import views.
//
// Both email bodies come from one view model (Email), so they cannot say different things. The
// HTML body is a templ component, which escapes everything it writes. The plain-text body is the
// same model's paragraphs joined with blank lines in Go: plain text needs no escaping, and building
// it directly avoids both templ's whitespace rules and undoing HTML escaping afterwards.
package message

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// Renderer renders outbox messages; it implements outbox.Renderer.
type Renderer struct {
	Catalog      *i18n.Catalog
	ServiceName  string
	SupportEmail string
	SupportPhone string
	BaseURL      string         // links in email point here
	Location     *time.Location // dates are written in this zone
}

// NewRenderer returns a renderer with the service name, support contacts, base URL and time
// zone of the configuration.
func NewRenderer(cat *i18n.Catalog, cfg config.Config) *Renderer {
	return &Renderer{Catalog: cat, ServiceName: cfg.ServiceName, SupportEmail: cfg.SupportEmail,
		SupportPhone: cfg.SupportPhone, BaseURL: cfg.BaseURL, Location: cfg.Location()}
}

// Email is the view model of one email: what both bodies say, in order.
type Email struct {
	Lang     string
	Subject  string
	Greeting string
	Body     []string // paragraphs before the code
	CodeText string   // label of the code box; empty when there is no code
	Code     string
	CodeLine string   // the code with its label, as the plain-text body writes it
	After    []string // paragraphs after the code
	Link     string   // an absolute URL to the portal, or empty
	LinkText string
	// NotMe is the absolute URL of the email's "this wasn't me" link, or empty; NotMeIntro says
	// what it does and NotMeText is its words.
	NotMe      string
	NotMeIntro string
	NotMeText  string
	NotMeLine  string // the "this wasn't me" link with its words, as the plain-text body writes it
	LinkLine   string // the link with its text, as the plain-text body writes it
	Footer     string
}

// ErrUnknownTemplate means no such template exists for the kind of message.
var ErrUnknownTemplate = errors.New("unknown template")

// campaignTemplates carry the user's signed notice link in place of a code.
var campaignTemplates = map[string]bool{
	outbox.TemplateCampaignNotice:   true,
	outbox.TemplateCampaignReminder: true,
}

// codeTemplates carry a one-time code; their data has "minutes".
var codeTemplates = map[string]bool{
	outbox.TemplateVerifyCode:      true,
	outbox.TemplateEnrollEmailCode: true,
	outbox.TemplateSigninEmailCode: true,
	outbox.TemplateContactCode:     true,
}

// noticeChanges are the changes a security.notice reports (internal/securitynotice), each with its own
// words by SMS and email.
var noticeChanges = map[string]bool{
	"factor.added": true, "factor.removed": true, "recovery.used": true, "recovery.regenerated": true,
	"signin.new_device": true, "contact.changed": true, "contact.registered": true, "support.factors_reset": true,
	"signin.qr":          true,                             // internal/qrsignin
	"approval.signed_in": true, "approval.suspended": true, // internal/approval
}

// NotMePath is the path of a "this wasn't me" link under the base URL, followed by its token:
// web's notme.show route.
const NotMePath = "/not-me/"

// Render renders template for kind "sms" (text only) or "email" (subject, text and HTML) in
// locale. An unknown template, or a code template without its code, is an error.
func (r *Renderer) Render(ctx context.Context, kind, template, locale string, data map[string]string, secret string) (outbox.Rendered, error) {
	t := r.Catalog.For(locale)
	if codeTemplates[template] && secret == "" {
		return outbox.Rendered{}, fmt.Errorf("%s: no code to send", template)
	}
	if campaignTemplates[template] && secret == "" {
		return outbox.Rendered{}, fmt.Errorf("%s: no notice link to send", template)
	}
	v := r.vars(t, template, data, secret)
	switch kind {
	case store.OutboxSMS:
		switch template {
		case outbox.TemplateVerifyCode, outbox.TemplateRetiredConfirmation, outbox.TemplateCheckup, outbox.TemplateContactCode:
			return outbox.Rendered{Text: t.Tf("sms."+template, v)}, nil
		case outbox.TemplateCampaignNotice:
			return outbox.Rendered{Text: t.Tf("sms.campaign.notice", v)}, nil
		case outbox.TemplateCampaignReminder:
			if days, _ := strconv.Atoi(data["days"]); days > 0 {
				return outbox.Rendered{Text: t.TN("sms.campaign.reminder", days, v)}, nil
			}
			return outbox.Rendered{Text: t.Tf("sms.campaign.reminder_today", v)}, nil
		case outbox.TemplateSecurityNotice:
			// Informational only: no code and no link, which a text message should never carry.
			if change := data["change"]; noticeChanges[change] {
				return outbox.Rendered{Text: t.Tf("sms.notice."+change, v)}, nil
			}
		}
	case store.OutboxEmail:
		if m, ok := r.email(t, template, data, v, secret); ok {
			var html bytes.Buffer
			if err := HTML(m).Render(ctx, &html); err != nil {
				return outbox.Rendered{}, fmt.Errorf("render %s: %w", template, err)
			}
			return outbox.Rendered{Subject: m.Subject, Text: Text(m), HTML: html.String()}, nil
		}
	}
	return outbox.Rendered{}, fmt.Errorf("%s %q: %w", kind, template, ErrUnknownTemplate)
}

// vars are the values every message may use.
func (r *Renderer) vars(t *i18n.Translator, template string, data map[string]string, secret string) map[string]any {
	v := map[string]any{
		"Service": r.ServiceName,
		"Email":   r.SupportEmail,
		"Phone":   r.SupportPhone,
		"Name":    data["name"],
		"Code":    secret,
		"Minutes": data["minutes"],
	}
	switch template {
	case outbox.TemplateRetiredConfirmation:
		v["Date"] = r.date(t, data["date"])
		v["Factors"] = factorList(t, data["factors"])
	case outbox.TemplateSecurityNotice:
		v["Date"] = r.dateTime(t, data["date"])
		v["Zone"] = t.Zone(r.Location, r.instant(data["date"]))
		v["Kind"] = factorList(t, data["kind"])
		v["Device"] = t.Device(data["browser"], data["system"])
		if v["Device"] == "" {
			v["Device"] = data["device"] // written by an earlier version, in English
		}
		v["IP"] = data["ip"]
		if v["Device"] == "" {
			v["Device"] = t.T("mail.notice.unknown_device")
		}
		if f := data["field"]; f == "email" || f == "phone" {
			v["Field"] = t.T("mail.field." + f)
		}
		v["To"] = data["to"]
	case outbox.TemplateCheckup:
		v["Date"] = r.date(t, data["date"])
	case outbox.TemplateCampaignNotice, outbox.TemplateCampaignReminder:
		v["Code"] = ""
		v["Link"] = secret
		v["Date"] = r.date(t, data["deadline"])
		v["GraceEnd"] = r.date(t, data["grace_end"])
	}
	return v
}

func (r *Renderer) email(t *i18n.Translator, template string, data map[string]string, v map[string]any, secret string) (Email, bool) {
	m := Email{Lang: t.Lang(), Greeting: t.T("mail.greeting_anonymous"), Footer: t.Tf("mail.footer", v)}
	if data["name"] != "" {
		m.Greeting = t.Tf("mail.greeting", v)
	}
	switch template {
	case outbox.TemplateVerifyCode, outbox.TemplateEnrollEmailCode, outbox.TemplateSigninEmailCode, outbox.TemplateContactCode:
		m.Subject = t.Tf("mail."+template+".subject", v)
		m.Body = []string{t.Tf("mail."+template+".body", v)}
		m.CodeText, m.Code, m.CodeLine = t.T("mail.code_label"), secret, t.Tf("mail.code_line", v)
		m.After = []string{t.T("mail.code.not_you")}
	case outbox.TemplateRetiredConfirmation:
		m.Subject = t.Tf("mail.retired.confirmation.subject", v)
		m.Body = []string{t.Tf("mail.retired.confirmation.body", v)}
		if !r.notMe(t, &m, v, secret) {
			m.Body = append(m.Body, t.Tf("mail.retired.confirmation.not_you", v))
		}
		if r.BaseURL != "" {
			m.Link, m.LinkText = strings.TrimRight(r.BaseURL, "/")+"/security", t.T("mail.retired.confirmation.link")
		}
	case outbox.TemplateSecurityNotice:
		change := data["change"]
		if !noticeChanges[change] {
			return Email{}, false
		}
		when := "mail.notice.when"
		if data["device"] == "" && data["ip"] == "" { // made by support or the system, not from a device
			when = "mail.notice.when_only"
		}
		m.Subject = t.Tf("mail.notice."+change+".subject", v)
		m.Body = []string{t.Tf("mail.notice."+change+".body", v), t.Tf(when, v)}
		if !r.notMe(t, &m, v, secret) {
			m.After = []string{t.Tf("mail.notice.not_you", v)}
		}
		if r.BaseURL != "" {
			m.Link, m.LinkText = strings.TrimRight(r.BaseURL, "/")+"/signin", t.T("mail.notice.link")
		}
	case outbox.TemplateCampaignNotice, outbox.TemplateCampaignReminder:
		days, _ := strconv.Atoi(data["days"])
		switch {
		case template == outbox.TemplateCampaignReminder && days > 0:
			m.Subject = t.TN("mail.campaign.reminder.subject", days, v)
			m.Body = []string{t.TN("mail.campaign.reminder.body", days, v)}
		case template == outbox.TemplateCampaignReminder:
			m.Subject = t.Tf("mail.campaign.reminder_today.subject", v)
			m.Body = []string{t.Tf("mail.campaign.reminder_today.body", v)}
		case data["phase"] == "grace" || data["phase"] == "closed":
			m.Subject = t.Tf("mail.campaign."+data["phase"]+".subject", v)
			m.Body = []string{t.Tf("mail.campaign."+data["phase"]+".body", v)}
		default:
			m.Subject = t.Tf("mail.campaign.notice.subject", v)
			m.Body = []string{t.Tf("mail.campaign.notice.body", v)}
		}
		m.After = []string{t.T("mail.campaign.not_you")}
		m.Link, m.LinkText = secret, t.T("mail.campaign.link")
	case outbox.TemplateCheckup:
		m.Subject = t.Tf("mail.checkup.subject", v)
		m.Body = []string{t.Tf("mail.checkup.body", v)}
		m.After = []string{t.Tf("mail.checkup.help", v)}
		r.notMe(t, &m, v, secret)
		if r.BaseURL != "" {
			m.Link, m.LinkText = strings.TrimRight(r.BaseURL, "/")+"/signin", t.T("mail.checkup.link")
		}
	default:
		return Email{}, false
	}
	if m.Link != "" {
		m.LinkLine = t.Tf("mail.link_line", map[string]any{"Text": m.LinkText, "URL": m.Link})
	}
	return m, true
}

// notMe adds the "this wasn't me" link of a notice whose token is secret, and reports whether it
// did: an email written before the links existed has none.
func (r *Renderer) notMe(t *i18n.Translator, m *Email, v map[string]any, secret string) bool {
	if secret == "" || r.BaseURL == "" {
		return false
	}
	m.NotMe = strings.TrimRight(r.BaseURL, "/") + NotMePath + secret
	m.NotMeIntro, m.NotMeText = t.Tf("mail.notme.intro", v), t.T("mail.notme.link")
	m.NotMeLine = t.Tf("mail.link_line", map[string]any{"Text": m.NotMeText, "URL": m.NotMe})
	return true
}

// instant reads an RFC 3339 time; now when it is not one (a zone's offset is asked for a moment).
func (r *Renderer) instant(s string) time.Time {
	if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return at
	}
	return time.Now()
}

// dateTime writes an RFC 3339 time as a date and a time of day in the configured zone.
func (r *Renderer) dateTime(t *i18n.Translator, s string) string {
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return r.date(t, s)
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	return r.date(t, s) + " " + at.In(loc).Format("15:04")
}

// date writes an RFC 3339 time or a YYYY-MM-DD date the long way, in the configured zone.
func (r *Renderer) date(t *i18n.Translator, s string) string {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	var d campaign.Date
	if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
		d = campaign.DateOf(at, loc)
	} else if day, err := time.Parse(time.DateOnly, s); err == nil {
		d = campaign.Date{Year: day.Year(), Month: day.Month(), Day: day.Day()}
	} else {
		return s
	}
	return t.Tf("date.long", map[string]any{"Year": d.Year, "Month": int(d.Month), "MonthName": d.Month.String(), "Day": d.Day})
}

// factorList names factor kinds ("totp,passkey") in the language: "an authenticator app or a
// passkey".
func factorList(t *i18n.Translator, kinds string) string {
	var names []string
	for _, k := range strings.Split(kinds, ",") {
		switch k = strings.TrimSpace(k); k {
		case "totp", "passkey", "email":
			names = append(names, t.T("mail.factor."+k))
		case "":
		default:
			names = append(names, k)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], t.T("mail.list_separator")) + t.T("mail.list_last_separator") + names[len(names)-1]
}

// Text is the plain-text body: the same paragraphs as the HTML, separated by blank lines.
func Text(m Email) string {
	var b strings.Builder
	para := func(s string) {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	para(m.Greeting)
	for _, p := range m.Body {
		para(p)
	}
	if m.Code != "" {
		para(m.CodeLine)
	}
	for _, p := range m.After {
		para(p)
	}
	if m.Link != "" {
		para(m.LinkLine)
	}
	if m.NotMe != "" {
		para(m.NotMeIntro)
		para(m.NotMeLine)
	}
	para("-- \n" + m.Footer)
	b.WriteString("\n")
	return b.String()
}

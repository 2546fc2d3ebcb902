package main

import (
	"context"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/webhook"
	"github.com/smsretire/smsretire/views/message"
)

// newWorker builds the outbox worker from the configuration: the SMS gateway (log or signed
// HTTP), the mailer (SMTP, or the log without --smtp-url), the renderer and the webhook sender
// (none without --webhook-urls). box is the development outbox, nil unless --demo.
func (a *app) newWorker(cat *i18n.Catalog, clk clock.Clock, box *devbox.Box) (*outbox.Worker, error) {
	w := &outbox.Worker{
		Store:       a.store,
		Render:      message.NewRenderer(cat, a.cfg),
		Clock:       clk,
		Log:         a.log.With("component", "outbox"),
		MaxAttempts: a.cfg.OutboxMaxAttempts,
		Poll:        a.cfg.OutboxPoll,
		Devbox:      box,
	}
	if urls := a.cfg.WebhookURLList(); len(urls) > 0 {
		hooks, err := webhook.NewSender(urls, a.cfg.WebhookSecret, nil, clk)
		if err != nil {
			return nil, err
		}
		w.Events = hooks
	}
	switch a.cfg.SMSGateway {
	case "http":
		g, err := sms.NewHTTPGateway(a.cfg.SMSURL, a.cfg.SMSSecret, nil, clk)
		if err != nil {
			return nil, err
		}
		w.SMS = g
	default:
		w.SMS = sms.LogGateway{Log: w.Log}
		if !a.cfg.Demo {
			a.log.Warn("sms-gateway=log: text messages, codes included, go to the log and are not sent; development only")
		}
	}
	if a.cfg.SMTPURL == "" {
		w.Mail = mail.LogSender{Log: w.Log}
		if !a.cfg.Demo {
			a.log.Warn("no smtp-url: email, codes included, goes to the log and is not sent; development only")
		}
		return w, nil
	}
	set, err := mail.ParseURL(a.cfg.SMTPURL)
	if err != nil {
		return nil, err
	}
	m, err := mail.NewSMTP(set, a.cfg.MailFrom)
	if err != nil {
		return nil, err
	}
	w.Mail = m
	return w, nil
}

// deliveryFailed tells the verification pages whether the latest code to a user on a channel
// was given up.
func (a *app) deliveryFailed(ctx context.Context, userID string, ch identity.Method) (bool, error) {
	kind := store.OutboxSMS
	if ch == identity.MethodEmail {
		kind = store.OutboxEmail
	}
	return outbox.LastFailed(ctx, a.store, userID, kind, outbox.TemplateVerifyCode)
}

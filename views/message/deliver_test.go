package message_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// capturedSMS keeps the text messages a worker hands to the gateway.
type capturedSMS struct {
	mu   sync.Mutex
	sent []sms.Message
}

func (c *capturedSMS) Send(_ context.Context, m sms.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

// The outbox worker delivers with this renderer what the recipient reads: the email over real
// SMTP with both bodies in the user's language, the SMS in the roster language.
func TestRender_DeliveredByTheOutboxWorker(t *testing.T) {
	st := testsupport.SQLite(t)
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	set, err := mail.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	set.TLSConfig = srv.TLSConfig()
	mailer, err := mail.NewSMTP(set, "smsretire <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	gateway := &capturedSMS{}
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	w := &outbox.Worker{Store: st, SMS: gateway, Mail: mailer, Render: renderer(t), Clock: clock.NewFake(t0),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.EnqueueOutbox(ctx, outbox.Email("u1", "li.na@example.com", "en", "verify.code", map[string]string{"minutes": "10", "name": "Li Na"}, "493817", t0)); err != nil {
			return err
		}
		_, err := tx.EnqueueOutbox(ctx, outbox.SMS("u2", "+8613800000001", "zh-Hans", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.DeliverDue(ctx); n != 2 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}

	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
	if s := got[0].Header("Subject"); s != "Your smsretire verification code" {
		t.Errorf("subject = %q", s)
	}
	text, html := got[0].Part("text/plain"), got[0].Part("text/html")
	if !strings.Contains(text, "Hello Li Na,") || !strings.Contains(text, "Your smsretire verification code is 493817. It expires in 10 minutes.") {
		t.Errorf("text part:\n%s", text)
	}
	if !strings.Contains(html, `lang="en"`) || !strings.Contains(html, "<strong") || !strings.Contains(html, "493817") {
		t.Errorf("html part:\n%s", html)
	}
	gateway.mu.Lock()
	defer gateway.mu.Unlock()
	if len(gateway.sent) != 1 || gateway.sent[0].Text != "【smsretire】您的验证码是 493817，10 分钟内有效。我们绝不会向您索要验证码。" || gateway.sent[0].Locale != "zh-Hans" {
		t.Errorf("gateway got %+v", gateway.sent)
	}
}

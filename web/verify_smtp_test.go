package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// newMail returns the one message the server received since it held before messages.
func newMail(t *testing.T, srv *testsupport.SMTPServer, before int) testsupport.ReceivedMail {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != before+1 {
		t.Fatalf("the mail server received %d new messages, want 1", len(msgs)-before)
	}
	return msgs[before]
}

// outboxRow returns the status and the stored payload of the newest outbox item of kind for
// userID, read from the test server's SQLite database.
func outboxRow(t *testing.T, s *webtest.Server, userID, kind string) (status string, payload []byte) {
	t.Helper()
	q := `SELECT status, payload FROM outbox WHERE user_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`
	if err := s.Store.DB().QueryRowContext(context.Background(), q, userID, kind).Scan(&status, &payload); err != nil {
		t.Fatalf("outbox row of %s: %v", userID, err)
	}
	return status, payload
}

// The whole way of an email code: the portal writes the code and the message in one
// transaction, the worker renders it in the user's language and hands it to a real SMTP server
// over STARTTLS with authentication, the test reads the code out of the received mail and
// types it.
func TestVerifyEmail_CodeArrivesOverSMTPAndVerifies(t *testing.T) {
	mailServer := testsupport.StartSMTP(t, testsupport.SMTPOptions{Username: "portal", Password: "test-only-password"})
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMTP: mailServer}))
	tests := []struct {
		user, email, lang string
	}{
		{"demo-zh", zhEmail, i18n.Chinese},
		{"demo-en", enEmail, i18n.English},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			tr := s.Catalog.For(tt.lang)
			v := newVisitor(t, s, nil)
			v.openNotice(tt.user)
			v.send("email")
			before := len(mailServer.Messages())
			s.Deliver(t)
			m := newMail(t, mailServer, before)
			if len(m.To) != 1 || m.To[0] != tt.email || !m.TLS || m.User != "portal" {
				t.Errorf("envelope: to %v, TLS %v, user %q", m.To, m.TLS, m.User)
			}
			if got, want := m.Header("Subject"), tr.Tf("mail.verify.code.subject", map[string]any{"Service": s.Config.ServiceName}); got != want {
				t.Errorf("Subject %q, want %q", got, want)
			}
			text := m.Part("text/plain")
			code := webtest.CodeIn(text)
			if len(code) != 6 {
				t.Fatalf("no 6-digit code in the text part:\n%s", text)
			}
			want := tr.Tf("mail.verify.code.body", map[string]any{"Service": s.Config.ServiceName, "Code": code, "Minutes": 10})
			if !strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " ")) {
				t.Errorf("the text part does not say %q:\n%s", want, text)
			}
			if html := m.Part("text/html"); !strings.Contains(html, code) || !strings.Contains(html, `lang="`+tt.lang+`"`) {
				t.Errorf("the HTML part lacks the code or the language:\n%s", html)
			}
			status, payload := outboxRow(t, s, tt.user, store.OutboxEmail)
			if status != store.OutboxSent || strings.Contains(string(payload), code) {
				t.Errorf("outbox row after delivery: status %q, code still in the payload: %v", status, strings.Contains(string(payload), code))
			}

			wantRedirect(t, v.check(code), "/verify/done")
			r := v.get("/verify/done")
			checkPage(t, s, r, tt.lang, "verify.done.title")
			wantVerified(t, s, tt.user, "email")
		})
	}
}

func TestVerifyEmail_RetriesWhileTheMailServerIsDown(t *testing.T) {
	mailServer := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMTP: mailServer}))
	v := newVisitor(t, s, nil)
	v.lookUp("demo-en")
	v.send("email")

	mailServer.Stop()
	s.Deliver(t)
	if status, _ := outboxRow(t, s, "demo-en", store.OutboxEmail); status != store.OutboxPending {
		t.Fatalf("after a refused connection the message is %q, want pending for a retry", status)
	}
	if r := v.get("/verify/code"); r.Doc.Find(".alert-error").Length() != 0 {
		t.Error("a message still being retried is reported as not sent")
	}

	mailServer.Start()
	s.Deliver(t)
	if n := len(mailServer.Messages()); n != 0 {
		t.Fatalf("the retry went out before its backoff: %d messages", n)
	}
	s.Clock.Advance(10 * time.Second) // the first backoff is 5 s ± 20 %
	s.Deliver(t)
	m := newMail(t, mailServer, 0)
	if status, _ := outboxRow(t, s, "demo-en", store.OutboxEmail); status != store.OutboxSent {
		t.Errorf("after the retry the message is %q, want sent", status)
	}
	wantRedirect(t, v.check(webtest.CodeIn(m.Part("text/plain"))), "/verify/done")
	wantVerified(t, s, "demo-en", "email")
}

func TestVerifyEmail_GivenUpMessageIsReportedOnTheCodePage(t *testing.T) {
	mailServer := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMTP: mailServer, MaxAttempts: 1}))
	mailServer.Stop()
	v := newVisitor(t, s, nil)
	v.openNotice("demo-en")
	v.send("email")
	s.Deliver(t)
	if status, _ := outboxRow(t, s, "demo-en", store.OutboxEmail); status != store.OutboxFailed {
		t.Fatalf("after the last attempt the message is %q, want failed", status)
	}
	r := v.get("/verify/code")
	wantStatus(t, r, http.StatusOK)
	checkPage(t, s, r, i18n.English, "verify.code.title")
	if got, want := strings.TrimSpace(r.Doc.Find(`main .alert-error[role="alert"] p`).First().Text()), s.Catalog.For(i18n.English).T("verify.code.delivery_failed"); got != want {
		t.Errorf("alert %q, want %q", got, want)
	}
	if strings.Contains(mainText(r.Doc), "We sent") {
		t.Errorf("a page that says the code could not be sent also says it was sent: %q", mainText(r.Doc))
	}
}

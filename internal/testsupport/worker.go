package testsupport

import (
	"context"
	"testing"

	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	mailview "github.com/smsretire/smsretire/views/mail"
)

// Worker is the outbox worker of a test server, built as serve builds it, which delivers only
// when the test asks, so the test decides when a message goes out.
type Worker struct {
	t testing.TB
	w *outbox.Worker
}

// NewWorker builds the outbox worker for srv: email over SMTP to mailServer (trusting its test
// certificate), text messages to the log gateway, and the texts of views/mail in the recipient's
// language, on the server's store and fake clock.
func NewWorker(t testing.TB, srv *Server, mailServer *SMTPServer) *Worker {
	t.Helper()
	set, err := mail.ParseURL(mailServer.URL())
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	set.TLSConfig = mailServer.TLSConfig()
	sender, err := mail.NewSMTP(set, srv.Config.MailFrom)
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	log := testLogger(t).With("component", "outbox")
	return &Worker{t: t, w: &outbox.Worker{
		Store:       srv.Store,
		SMS:         sms.LogGateway{Log: log},
		Mail:        sender,
		Render:      mailview.NewRenderer(srv.Catalog, srv.Config),
		Clock:       srv.Clock,
		Log:         log,
		MaxAttempts: srv.Config.OutboxMaxAttempts,
	}}
}

// DeliverDue delivers every message due now and returns how many were sent; a database error
// fails the test.
func (w *Worker) DeliverDue() int {
	w.t.Helper()
	n, err := w.w.DeliverDue(context.Background())
	if err != nil {
		w.t.Fatalf("deliver outbox: %v", err)
	}
	return n
}

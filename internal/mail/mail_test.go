package mail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		in   string
		want mail.Settings
	}{
		{"smtp://mailer:p%40ss@smtp.example.cn", mail.Settings{Host: "smtp.example.cn", Port: 587, Username: "mailer", Password: "p@ss", Security: mail.StartTLS}},
		{"smtp://smtp.example.cn:25?starttls=opportunistic", mail.Settings{Host: "smtp.example.cn", Port: 25, Security: mail.StartTLSOpportunistic}},
		{"smtp://127.0.0.1:2525?starttls=off", mail.Settings{Host: "127.0.0.1", Port: 2525, Security: mail.NoTLS}},
		{"smtp://u:p@h:587?starttls=mandatory", mail.Settings{Host: "h", Port: 587, Username: "u", Password: "p", Security: mail.StartTLS}},
		{"smtps://u:p@smtp.example.cn", mail.Settings{Host: "smtp.example.cn", Port: 465, Username: "u", Password: "p", Security: mail.ImplicitTLS}},
		{"smtps://[::1]:1465", mail.Settings{Host: "::1", Port: 1465, Security: mail.ImplicitTLS}},
	}
	for _, c := range cases {
		got, err := mail.ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"", "http://smtp.example.cn", "smtp://", "smtp://h:0", "smtp://h:99999", "smtp://h/path",
		"smtp://h?starttls=maybe", "smtp://h?tls=1", "smtps://h?starttls=off",
		"smtp://u:secret@h?starttls=off", // a password is never sent in the clear
	} {
		if _, err := mail.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

func TestParseURL_ErrorsDoNotRevealThePassword(t *testing.T) {
	for _, bad := range []string{"smtp://u:hunter2@h:x", "smtp://u:hunter2@h?starttls=maybe", "smtp://u:hunter2@h?starttls=off"} {
		_, err := mail.ParseURL(bad)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error = %v", bad, err)
		}
	}
}

func sender(t *testing.T, srv *testsupport.SMTPServer) *mail.SMTP {
	t.Helper()
	set, err := mail.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	set.TLSConfig = srv.TLSConfig()
	s, err := mail.NewSMTP(set, "smsretire <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var msg = mail.Message{To: "zhang.wei@example.com", Subject: "您的验证码", Text: "验证码：493817", HTML: "<p>验证码：<strong>493817</strong></p>"}

func TestSMTP_SendsMultipartOverSTARTTLSWithAuth(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{Username: "mailer", Password: "s3cret"})
	if err := sender(t, srv).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
	m := got[0]
	if !m.TLS || m.User != "mailer" || m.From != "no-reply@example.com" || len(m.To) != 1 || m.To[0] != msg.To {
		t.Errorf("envelope = tls %v, user %q, from %q, to %v", m.TLS, m.User, m.From, m.To)
	}
	if s := m.Header("Subject"); s != msg.Subject {
		t.Errorf("Subject = %q", s)
	}
	if !strings.HasPrefix(m.Header("Content-Type"), "multipart/alternative") {
		t.Errorf("Content-Type = %q", m.Header("Content-Type"))
	}
	parts, err := m.Parts()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].ContentType != "text/plain" || parts[1].ContentType != "text/html" {
		t.Fatalf("parts = %+v", parts)
	}
	if strings.TrimSpace(parts[0].Body) != msg.Text || strings.TrimSpace(parts[1].Body) != msg.HTML {
		t.Errorf("bodies = %q / %q", parts[0].Body, parts[1].Body)
	}
}

func TestSMTP_SendsOverImplicitTLS(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{ImplicitTLS: true, Username: "mailer", Password: "s3cret"})
	if err := sender(t, srv).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
		t.Fatalf("messages = %+v", got)
	}
}

func TestSMTP_MandatorySTARTTLSSendsNothingWithoutTLS(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{NoTLS: true})
	set, _ := mail.ParseURL("smtp://" + srv.Addr())
	s, _ := mail.NewSMTP(set, "no-reply@example.com")
	if err := s.Send(context.Background(), msg); err == nil {
		t.Fatal("sent over a connection without TLS")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server got %d messages", n)
	}
	// The operator's explicit choice for a local relay.
	if err := sender(t, srv).Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("messages = %+v", got)
	}
}

func TestSMTP_RefusesAnUntrustedCertificate(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	set, _ := mail.ParseURL(srv.URL()) // system roots: the test certificate is not trusted
	s, _ := mail.NewSMTP(set, "no-reply@example.com")
	if err := s.Send(context.Background(), msg); err == nil {
		t.Fatal("sent to a server whose certificate is not trusted")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server got %d messages", n)
	}
}

type permanentError interface{ Permanent() bool }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) && p.Permanent()
}

func TestSMTP_ClassifiesFailures(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	s := sender(t, srv)
	srv.RejectRecipients(true)
	if err := s.Send(context.Background(), msg); err == nil || !isPermanent(err) {
		t.Errorf("550 recipient: err = %v, want permanent", err)
	}
	srv.RejectRecipients(false)
	srv.Stop()
	if err := s.Send(context.Background(), msg); err == nil || isPermanent(err) {
		t.Errorf("server down: err = %v, want temporary", err)
	}
	srv.Start()
	if err := s.Send(context.Background(), msg); err != nil {
		t.Errorf("server back: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d messages, want 1", n)
	}
}

func TestNewSMTP_RefusesABadSender(t *testing.T) {
	if _, err := mail.NewSMTP(mail.Settings{Host: "h", Port: 25}, "not an address"); err == nil {
		t.Error("accepted a bad From")
	}
}

// Messages share connections: one connection carries a run of messages, concurrent senders get
// one each, and the pool keeps no more than MaxIdle.
func TestSMTP_ReusesConnections(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{Username: "mailer", Password: "s3cret"})
	s := sender(t, srv)
	defer s.Close()
	for i := range 5 {
		if err := s.Send(context.Background(), mail.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, conns := len(srv.Messages()), srv.Connections(); got != 5 || conns != 1 {
		t.Fatalf("%d messages over %d connections, want 5 over 1", got, conns)
	}
	for _, m := range srv.Messages() {
		if !m.TLS || m.User != "mailer" {
			t.Errorf("a reused connection lost TLS or authentication: %+v", m)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			errs <- s.Send(context.Background(), mail.Message{To: fmt.Sprintf("p%d@example.com", i), Subject: "s", Text: "t"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, conns := len(srv.Messages()), srv.Connections(); got != 17 || conns > 13 {
		t.Errorf("%d messages over %d connections, want 17 over at most 13", got, conns)
	}
}

// A connection the server dropped while idle (a restart, an idle timeout) is replaced without
// losing the message; an idle connection older than IdleTimeout is not used at all.
func TestSMTP_ReplacesAConnectionTheServerClosed(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	s := sender(t, srv)
	defer s.Close()
	send := func(to string) {
		t.Helper()
		if err := s.Send(context.Background(), mail.Message{To: to, Subject: "s", Text: "t"}); err != nil {
			t.Fatalf("send to %s: %v", to, err)
		}
	}
	send("a@example.com")
	srv.Stop()
	srv.Start()
	send("b@example.com")
	if got, conns := len(srv.Messages()), srv.Connections(); got != 2 || conns != 2 {
		t.Fatalf("%d messages over %d connections, want 2 over 2", got, conns)
	}
	s.IdleTimeout = time.Nanosecond
	send("c@example.com")
	if conns := srv.Connections(); conns != 3 {
		t.Errorf("an expired idle connection was used: %d connections, want 3", conns)
	}
}

// The Message-ID comes from the message's ID, so a second attempt at one message has the same.
func TestSMTP_MessageIDFromTheMessage(t *testing.T) {
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	s := sender(t, srv)
	defer s.Close()
	for range 2 {
		if err := s.Send(context.Background(), mail.Message{ID: "outbox-7.1795852800000", To: "a@example.com", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if got[0].Header("Message-Id") != "<outbox-7.1795852800000@example.com>" || got[1].Header("Message-Id") != got[0].Header("Message-Id") {
		t.Errorf("Message-IDs %q and %q", got[0].Header("Message-Id"), got[1].Header("Message-Id"))
	}
	if id := got[2].Header("Message-Id"); id == "" || id == got[0].Header("Message-Id") {
		t.Errorf("a message without ID got Message-ID %q", id)
	}
}

// checker returns an SMTP sender for rawURL that trusts srv's certificate when trust is set.
func checker(t *testing.T, rawURL string, srv *testsupport.SMTPServer, trust bool) *mail.SMTP {
	t.Helper()
	set, err := mail.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if trust {
		set.TLSConfig = srv.TLSConfig()
	}
	set.Timeout = 5 * time.Second
	s, err := mail.NewSMTP(set, "smsretire <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Check connects as a send would and sends nothing; settings that can never deliver are
// permanent problems with the fix named, an unreachable server is not.
func TestSMTP_CheckFindsSettingsThatCannotDeliver(t *testing.T) {
	withAuth := testsupport.StartSMTP(t, testsupport.SMTPOptions{Username: "mailer", Password: "s3cret"})
	plain := testsupport.StartSMTP(t, testsupport.SMTPOptions{NoTLS: true})
	host := func(srv *testsupport.SMTPServer) string {
		return strings.TrimPrefix(strings.Split(srv.URL(), "?")[0], "smtp://")
	}
	if err := checker(t, withAuth.URL(), withAuth, true).Check(context.Background()); err != nil {
		t.Fatalf("good settings: %v", err)
	}
	if err := checker(t, plain.URL(), plain, false).Check(context.Background()); err != nil {
		t.Fatalf("a relay with starttls=off: %v", err)
	}
	cases := []struct {
		name, url string
		srv       *testsupport.SMTPServer
		trust     bool
		permanent bool
		fix       string
	}{
		{"no STARTTLS offered", "smtp://" + host(plain), plain, true, true, "smtps://"},
		{"wrong password", strings.Replace(withAuth.URL(), "s3cret", "wrong", 1), withAuth, true, true, "password"},
		{"untrusted certificate", withAuth.URL(), withAuth, false, true, "certificate"},
		{"smtps:// to a STARTTLS port", "smtps://" + strings.TrimPrefix(withAuth.URL(), "smtp://"), withAuth, true, true, "smtp://"},
		{"nothing listening", "smtp://127.0.0.1:1", withAuth, true, false, "reach"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(c.srv.Messages())
			err := checker(t, c.url, c.srv, c.trust).Check(context.Background())
			var ce *mail.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a CheckError", err)
			}
			t.Logf("%v", err)
			if ce.Permanent() != c.permanent || !strings.Contains(ce.Fix(), c.fix) {
				t.Errorf("Check = permanent %v, fix %q; want permanent %v, a fix naming %q", ce.Permanent(), ce.Fix(), c.permanent, c.fix)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), ":wrong@") {
				t.Errorf("the error shows the password: %v", err)
			}
			if len(c.srv.Messages()) != before {
				t.Error("Check sent a message")
			}
		})
	}
}

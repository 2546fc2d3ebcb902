// Package mail sends email over SMTP with go-mail: STARTTLS or implicit TLS, text and HTML in
// one multipart/alternative message, over connections kept open and reused. Without an SMTP
// server, LogSender writes mail to the log.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/smsretire/smsretire/internal/campaign"
)

// Message is one email with a plain-text and an HTML body.
type Message struct {
	// ID is the same on every attempt at one message: the Message-ID is ID@ the sender's
	// domain, so that mail clients show a duplicate (at-least-once delivery) once. Empty: a
	// random Message-ID.
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender sends email. An error whose Permanent method reports true means that retrying cannot
// help (the server refused the recipient or the message); any other error is worth another try.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Security is how the connection to the SMTP server is protected.
type Security int

// The connection security modes.
const (
	StartTLS              Security = iota // smtp://: STARTTLS required, or nothing is sent
	StartTLSOpportunistic                 // smtp://…?starttls=opportunistic: STARTTLS when offered
	NoTLS                                 // smtp://…?starttls=off: plain text, for a local relay
	ImplicitTLS                           // smtps://: TLS from the first byte
)

func (s Security) String() string {
	switch s {
	case StartTLS:
		return "starttls"
	case StartTLSOpportunistic:
		return "starttls-opportunistic"
	case NoTLS:
		return "none"
	case ImplicitTLS:
		return "tls"
	}
	return "unknown"
}

// DefaultTimeout bounds dialling and each SMTP exchange.
const DefaultTimeout = 30 * time.Second

// Settings say how to reach the SMTP server.
type Settings struct {
	Host      string
	Port      int
	Username  string // empty: no authentication
	Password  string
	Security  Security
	TLSConfig *tls.Config   // nil: system roots, server name from Host; tests pass their own CA
	Timeout   time.Duration // 0: DefaultTimeout
}

// ParseURL reads --smtp-url: smtp://user:pass@host:587 (STARTTLS required; port 587 by
// default), smtps://user:pass@host:465 (implicit TLS; port 465 by default). The query
// starttls=opportunistic or starttls=off relaxes smtp:// for a relay on a trusted network.
// Special characters in the user or password are percent-encoded.
func ParseURL(raw string) (Settings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Settings{}, fmt.Errorf("smtp-url: %w", redactErr(err, raw))
	}
	var s Settings
	switch u.Scheme {
	case "smtp":
		s.Security, s.Port = StartTLS, 587
	case "smtps":
		s.Security, s.Port = ImplicitTLS, 465
	default:
		return Settings{}, fmt.Errorf("smtp-url: scheme %q: want smtp or smtps", u.Scheme)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return Settings{}, errors.New("smtp-url: no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Settings{}, fmt.Errorf("smtp-url: bad port %q", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return Settings{}, errors.New("smtp-url: unexpected path")
	}
	for k, v := range u.Query() {
		switch {
		case k == "starttls" && s.Security != ImplicitTLS && len(v) == 1:
			switch v[0] {
			case "mandatory":
				s.Security = StartTLS
			case "opportunistic":
				s.Security = StartTLSOpportunistic
			case "off":
				s.Security = NoTLS
			default:
				return Settings{}, fmt.Errorf("smtp-url: starttls=%q: want mandatory, opportunistic or off", v[0])
			}
		default:
			return Settings{}, fmt.Errorf("smtp-url: unknown parameter %q", k)
		}
	}
	if s.Security == NoTLS && s.Username != "" {
		return Settings{}, errors.New("smtp-url: a password is never sent without TLS; drop starttls=off or the credentials")
	}
	return s, nil
}

func redactErr(err error, raw string) error {
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		return errors.New(strings.ReplaceAll(err.Error(), raw, u.Redacted()))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err // url.Error quotes the whole URL, password included
	}
	return err
}

// SMTP sends messages to the configured server over connections it keeps open and reuses: a
// connection that finished a message waits, idle, for the next one (up to MaxIdle of them, each
// for at most IdleTimeout), so a busy portal does not pay for a TCP, TLS and AUTH exchange on
// every message. Send is safe for concurrent use; each send has a connection to itself.
type SMTP struct {
	set    Settings
	from   string
	domain string         // of the sender's address: the right-hand side of Message-IDs
	dialer *gomail.Client // the settings; it dials the connections

	// MaxIdle is how many idle connections are kept (DefaultMaxIdle); IdleTimeout is how long
	// one is kept unused (DefaultIdleTimeout), well below the 5 minutes after which servers may
	// close it (RFC 5321 4.5.3.2.7). Set them before the first Send.
	MaxIdle     int
	IdleTimeout time.Duration

	mu     sync.Mutex
	idle   []idleConn // most recently used last
	closed bool
}

type idleConn struct {
	c     *smtp.Client
	since time.Time
}

// Defaults of the connection pool.
const (
	DefaultMaxIdle     = 8
	DefaultIdleTimeout = time.Minute
)

// NewSMTP returns a sender from the address from ("Name <addr@example.com>").
func NewSMTP(set Settings, from string) (*SMTP, error) {
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail-from %q: %w", from, err)
	}
	if set.Host == "" {
		return nil, errors.New("smtp: no host")
	}
	if set.Timeout <= 0 {
		set.Timeout = DefaultTimeout
	}
	s := &SMTP{set: set, from: from, MaxIdle: DefaultMaxIdle, IdleTimeout: DefaultIdleTimeout}
	s.domain = addr.Address[strings.LastIndex(addr.Address, "@")+1:]
	if s.dialer, err = gomail.NewClient(set.Host, s.options()...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return s, nil
}

// Send delivers m as multipart/alternative (text, then HTML). A 5xx answer to the message is
// permanent; connection, TLS and authentication trouble and 4xx answers are temporary. ctx
// bounds the wait for a connection; each exchange with the server times out after the
// configured Timeout.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return permanent{fmt.Errorf("smtp: from: %w", err)}
	}
	if err := msg.To(m.To); err != nil {
		return permanent{fmt.Errorf("smtp: to: %w", err)}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	ctx, cancel := context.WithTimeout(ctx, s.set.Timeout)
	defer cancel()
	for {
		conn, reused, err := s.conn(ctx)
		if err != nil {
			return fmt.Errorf("smtp %s: %w", s.addr(), err)
		}
		err = s.dialer.SendWithSMTPClient(conn, msg)
		if err == nil {
			s.release(conn)
			return nil
		}
		s.discard(conn)
		var se *gomail.SendError
		if reused && errors.As(err, &se) && se.Reason == gomail.ErrConnCheck {
			continue // the server closed the idle connection: nothing was sent; take another
		}
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return permanent{fmt.Errorf("smtp %s: %w", s.addr(), err)}
		}
		return fmt.Errorf("smtp %s: %w", s.addr(), err)
	}
}

// conn returns an idle connection, or a new one; reused tells which.
func (s *SMTP) conn(ctx context.Context) (c *smtp.Client, reused bool, err error) {
	now := time.Now()
	s.mu.Lock()
	var stale []*smtp.Client
	for len(s.idle) > 0 && now.Sub(s.idle[0].since) > s.IdleTimeout {
		stale = append(stale, s.idle[0].c)
		s.idle = s.idle[1:]
	}
	if n := len(s.idle); n > 0 {
		c = s.idle[n-1].c
		s.idle = s.idle[:n-1]
	}
	s.mu.Unlock()
	for _, old := range stale {
		go s.dialer.CloseWithSMTPClient(old)
	}
	if c != nil {
		return c, true, nil
	}
	c, err = s.dialer.DialToSMTPClientWithContext(ctx)
	return c, false, err
}

// release keeps a connection that finished a message for the next one, or closes it when
// enough are idle.
func (s *SMTP) release(c *smtp.Client) {
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.MaxIdle {
		s.idle = append(s.idle, idleConn{c: c, since: time.Now()})
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		s.dialer.CloseWithSMTPClient(c)
	}
}

// discard drops a connection that failed: its state is unknown.
func (s *SMTP) discard(c *smtp.Client) {
	if c != nil {
		c.Close()
	}
}

// Close says goodbye (QUIT) on every idle connection; connections sending when it is called
// are closed when they finish.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	var errs []error
	for _, ic := range idle {
		if err := s.dialer.CloseWithSMTPClient(ic.c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *SMTP) addr() string { return s.set.Host + ":" + strconv.Itoa(s.set.Port) }

func (s *SMTP) options() []gomail.Option {
	tlsConfig := s.set.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tlsConfig = tlsConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = s.set.Host
	}
	opts := []gomail.Option{
		gomail.WithPort(s.set.Port),
		gomail.WithTimeout(s.set.Timeout),
		gomail.WithTLSConfig(tlsConfig),
	}
	switch s.set.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case StartTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	}
	if s.set.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.set.Username), gomail.WithPassword(s.set.Password))
	}
	return opts
}

// LogSender sends nothing: for development without an SMTP server, where the development outbox
// page (--demo) is the mailbox. It logs that a message was not sent, with the address masked and
// without the text, since logs never hold codes, links or email addresses.
type LogSender struct {
	Log *slog.Logger
}

// Send logs that the message was not sent.
func (l LogSender) Send(ctx context.Context, m Message) error {
	l.Log.InfoContext(ctx, "email (no SMTP server, not sent)", "to", campaign.MaskEmail(m.To), "subject", m.Subject)
	return nil
}

// permanent marks an error that retrying cannot cure.
type permanent struct{ error }

func (p permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error   { return p.error }

// CheckError is what Check found wrong with the SMTP settings, with what to change.
type CheckError struct {
	err       error
	permanent bool
	fix       string
}

func (e *CheckError) Error() string { return e.err.Error() + ": " + e.fix }
func (e *CheckError) Unwrap() error { return e.err }

// Permanent reports whether the settings cannot work as they are (the server offers no STARTTLS,
// its certificate is refused, it speaks no TLS where TLS was asked for, it refuses the
// credentials), so retrying will not help; otherwise the server could not be reached now.
func (e *CheckError) Permanent() bool { return e.permanent }

// Fix says what to change, for the operator.
func (e *CheckError) Fix() string { return e.fix }

// Check connects to the server as a send does — dial, EHLO, STARTTLS when the settings require
// it (or TLS from the first byte), AUTH with the credentials — and says goodbye without sending
// anything. It returns nil, or a *CheckError that says what is wrong and what to change, so that
// serve can refuse settings that can never deliver instead of retrying mail in silence.
func (s *SMTP) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.set.Timeout)
	defer cancel()
	conn, err := s.dialer.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.checkError(err)
	}
	s.dialer.CloseWithSMTPClient(conn)
	return nil
}

// checkError says what a failed connection means for the settings.
func (s *SMTP) checkError(err error) *CheckError {
	msg := err.Error()
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var proto *textproto.Error
	wrapped := fmt.Errorf("smtp %s: %w", s.addr(), err)
	switch {
	case strings.Contains(msg, "does not support STARTTLS"):
		return &CheckError{err: wrapped, permanent: true, fix: "the server offers no STARTTLS, which smtp:// requires: " +
			"use smtps:// if it speaks TLS from the first byte (usually port 465), or for a relay on this machine or a trusted network " +
			"add ?starttls=opportunistic or ?starttls=off (without credentials)"}
	case errors.As(err, &certErr) || strings.Contains(msg, "x509:"):
		return &CheckError{err: wrapped, permanent: true, fix: "the server's certificate is not trusted for " + s.set.Host +
			": use the host name on its certificate, or install the issuing CA in the system's roots"}
	case errors.As(err, &recordErr) || strings.Contains(msg, "first record does not look like a TLS handshake"):
		return &CheckError{err: wrapped, permanent: true, fix: "the server does not speak TLS on this port: " +
			"use smtp:// (STARTTLS, usually port 587) instead of smtps://, or the server's TLS port"}
	case errors.As(err, &proto) && proto.Code >= 500:
		return &CheckError{err: wrapped, permanent: true, fix: "the server refused: check the user and password in --smtp-url " +
			"(percent-encode special characters) and that this sender may use the server"}
	case strings.Contains(msg, "SMTP AUTH"):
		return &CheckError{err: wrapped, permanent: true, fix: "the server offers no way to authenticate that smsretire can use here: " +
			"check that --smtp-url names the server's submission port, or drop the credentials for a relay that needs none"}
	}
	return &CheckError{err: wrapped, fix: "could not reach the SMTP server: check the host and port of --smtp-url and that " +
		"this machine may connect to it; mail waits in the outbox and is retried"}
}

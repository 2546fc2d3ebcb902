// Package mail sends email over SMTP with go-mail: STARTTLS or implicit TLS, text and HTML in
// one multipart/alternative message. Without an SMTP server, LogSender writes mail to the log.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email with a plain-text and an HTML body.
type Message struct {
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

// SMTP sends each message over a new connection to the configured server.
type SMTP struct {
	set  Settings
	from string
}

// NewSMTP returns a sender from the address from ("Name <addr@example.com>").
func NewSMTP(set Settings, from string) (*SMTP, error) {
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail-from %q: %w", from, err)
	}
	if set.Host == "" {
		return nil, errors.New("smtp: no host")
	}
	if set.Timeout <= 0 {
		set.Timeout = DefaultTimeout
	}
	return &SMTP{set: set, from: from}, nil
}

// Send delivers m as multipart/alternative (text, then HTML). A 5xx answer to the message is
// permanent; connection, TLS and authentication trouble and 4xx answers are temporary.
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
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	client, err := gomail.NewClient(s.set.Host, s.options()...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.set.Timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return permanent{fmt.Errorf("smtp %s: %w", s.addr(), err)}
		}
		return fmt.Errorf("smtp %s: %w", s.addr(), err)
	}
	return nil
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

// LogSender writes each message, code included, to the log instead of sending it: for
// development without an SMTP server.
type LogSender struct {
	Log *slog.Logger
}

// Send logs the message.
func (l LogSender) Send(ctx context.Context, m Message) error {
	l.Log.InfoContext(ctx, "email (no SMTP server, not sent)", "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// permanent marks an error that retrying cannot cure.
type permanent struct{ error }

func (p permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error   { return p.error }

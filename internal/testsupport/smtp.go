package testsupport

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions choose how the test SMTP server behaves.
type SMTPOptions struct {
	Username, Password string // when set, AUTH PLAIN with these is required (after TLS)
	ImplicitTLS        bool   // TLS from the first byte (smtps://) instead of STARTTLS
	NoTLS              bool   // offer no TLS at all, like a local relay
	// OnMessage, when set, is told of each message as it is accepted (benchmarks wait for their
	// codes with it instead of reading Messages over and over).
	OnMessage func(ReceivedMail)
}

// SMTPServer is a real SMTP server on 127.0.0.1 that keeps every message it accepts. It offers
// STARTTLS (or implicit TLS) with a certificate made for the test; TLSConfig trusts it. Stop and
// Start take it down and bring it back on the same port, to simulate an outage.
type SMTPServer struct {
	t    testing.TB
	opts SMTPOptions
	addr string
	tls  *tls.Config // the server's
	ca   *x509.CertPool

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	received []ReceivedMail
	reject   bool
	conns    int // connections accepted
}

// ReceivedMail is one message as the server accepted it.
type ReceivedMail struct {
	From string
	To   []string
	Data []byte    // the message as sent: headers and body
	TLS  bool      // the connection was encrypted
	User string    // the authenticated user, or ""
	At   time.Time // when the server accepted it
}

// StartSMTP starts a server for the duration of the test.
func StartSMTP(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	cert, ca, err := selfSigned()
	if err != nil {
		t.Fatalf("smtp test certificate: %v", err)
	}
	s := &SMTPServer{t: t, opts: opts, tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ca: ca}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *SMTPServer) Addr() string { return s.addr }

// URL is the --smtp-url that reaches this server, with its credentials.
func (s *SMTPServer) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.NoTLS {
		u.RawQuery = "starttls=off"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// TLSConfig is a client configuration that trusts the server's certificate.
func (s *SMTPServer) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.ca, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Stop takes the server down: connections are refused until Start.
func (s *SMTPServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close() // closed here too: Serve may not have taken it over yet
	}
	if srv != nil {
		srv.Close()
	}
}

// Start brings a stopped server back on the same address.
func (s *SMTPServer) Start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("smtp restart on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// RejectRecipients makes the server answer every recipient with 550 (mailbox unavailable), a
// permanent refusal, until called with false.
func (s *SMTPServer) RejectRecipients(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = reject
}

// Connections reports how many connections the server has accepted so far.
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Messages returns what the server accepted so far, in order.
func (s *SMTPServer) Messages() []ReceivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceivedMail(nil), s.received...)
}

func (s *SMTPServer) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{server: s, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = discardLogger{}
	ln = countingListener{Listener: ln, s: s}
	switch {
	case s.opts.ImplicitTLS:
		ln = tls.NewListener(ln, s.tls)
	case !s.opts.NoTLS:
		srv.TLSConfig = s.tls
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go srv.Serve(ln)
}

// countingListener counts the connections the server accepts.
type countingListener struct {
	net.Listener
	s *SMTPServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

type smtpSession struct {
	server *SMTPServer
	conn   *smtp.Conn
	tls    bool
	user   string
	from   string
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.server.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.server.opts.Username || password != ss.server.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.server.mu.Lock()
	reject := ss.server.reject
	ss.server.mu.Unlock()
	if reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := ReceivedMail{From: ss.from, To: append([]string(nil), ss.to...), Data: b, TLS: isTLS || ss.tls, User: ss.user, At: time.Now()}
	ss.server.mu.Lock()
	ss.server.received = append(ss.server.received, m)
	ss.server.mu.Unlock()
	if fn := ss.server.opts.OnMessage; fn != nil {
		fn(m)
	}
	return nil
}

func (ss *smtpSession) Reset() { ss.from, ss.to = "", nil }

func (ss *smtpSession) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// Header returns a header of the message, decoded from RFC 2047 words.
func (m ReceivedMail) Header(name string) string {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// MailPart is one decoded body part.
type MailPart struct {
	ContentType string // media type without parameters, such as "text/plain"
	Charset     string
	Body        string
}

// Parts decodes the message's body parts: the parts of a multipart message, or its one body.
func (m ReceivedMail) Parts() ([]MailPart, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, err
	}
	return parts(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func parts(contentType, encoding string, body io.Reader) ([]MailPart, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(decoded(encoding, body))
		if err != nil {
			return nil, err
		}
		return []MailPart{{ContentType: mt, Charset: params["charset"], Body: string(b)}}, nil
	}
	var out []MailPart
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		sub, err := parts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
}

func decoded(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	}
	return r
}

type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, b := range p[:k] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// Part returns the body of the first part of a media type ("text/plain", "text/html"), or "".
func (m ReceivedMail) Part(contentType string) string {
	ps, err := m.Parts()
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.ContentType == contentType {
			return p.Body
		}
	}
	return ""
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a day, and a pool that
// trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smsretire test SMTP " + strconv.FormatInt(serial.Int64(), 16)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

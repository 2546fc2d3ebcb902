// Package sms sends text messages: to the log in development, or as a signed JSON request to the
// operator's own SMS gateway.
package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/phone"
)

// Message is one text message.
type Message struct {
	ID     string // the outbox item's ID: the gateway's idempotency key, since delivery is at least once
	To     string // E.164
	Text   string
	Locale string // zh-Hans or en
}

// Gateway sends text messages. An error whose Permanent method reports true means that retrying
// cannot help; any other error is worth another attempt.
type Gateway interface {
	Send(ctx context.Context, m Message) error
}

// LogGateway sends nothing: for development, where the development outbox page (--demo) is the
// phone. It logs that a message was not sent, with the number masked and without the text, since
// logs never hold codes, links or full phone numbers.
type LogGateway struct {
	Log *slog.Logger
}

// Send logs that the message was not sent.
func (g LogGateway) Send(ctx context.Context, m Message) error {
	g.Log.InfoContext(ctx, "sms (log gateway, not sent)", "id", m.ID, "to", phone.Mask(m.To), "locale", m.Locale, "chars", utf8.RuneCountInString(m.Text))
	return nil
}

// SignatureHeader carries the request's signature: t=<unix seconds>,v1=<hex HMAC-SHA256>.
const SignatureHeader = "X-Smsretire-Signature"

// HTTPGateway posts each message as JSON {"to","text","locale"} to the operator's gateway,
// signed with HMAC-SHA256 under a shared secret. A 2xx answer means accepted.
type HTTPGateway struct {
	url    string
	secret []byte
	client *http.Client
	clock  clock.Clock
}

// DefaultTimeout bounds one request to the gateway.
const DefaultTimeout = 15 * time.Second

// NewHTTPGateway returns a gateway posting to url. client may be nil for one with DefaultTimeout
// that does not follow redirects and keeps enough connections to the gateway open for the
// outbox worker's concurrent deliveries.
func NewHTTPGateway(url, secret string, client *http.Client, clk clock.Clock) (*HTTPGateway, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("sms gateway url %q: want http(s)://", url)
	}
	if secret == "" {
		return nil, errors.New("sms gateway: no signing secret")
	}
	if client == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 16 // the default 2 would reconnect for most of 8 concurrent sends
		client = &http.Client{
			Transport:     transport,
			Timeout:       DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &HTTPGateway{url: url, secret: []byte(secret), client: client, clock: clk}, nil
}

type request struct {
	To     string `json:"to"`
	Text   string `json:"text"`
	Locale string `json:"locale"`
}

// Send posts the message. A timeout, a transport error or an answer of 408, 425, 429 or 5xx is
// temporary; any other non-2xx answer (the gateway refused this message) is permanent.
func (g *HTTPGateway) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(request{To: m.To, Text: m.Text, Locale: m.Locale})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsretire")
	if m.ID != "" {
		req.Header.Set("Idempotency-Key", m.ID)
	}
	req.Header.Set(SignatureHeader, Sign(g.secret, g.clock.Now(), body))
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("sms gateway answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly, resp.StatusCode == http.StatusTooManyRequests:
		return err
	}
	return permanent{err}
}

// Sign returns the signature header value for body sent at t: "t=<unix>,v1=<hex>", where the hex
// is HMAC-SHA256 under secret of "<unix>.<body>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks a signature header against body, as the operator's gateway should: the HMAC must
// match and its time be within tolerance of now, so a captured request cannot be replayed later.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("signature: malformed header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("signature: timestamp outside tolerance")
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("signature: mismatch")
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// permanent marks an error that retrying cannot cure.
type permanent struct{ error }

func (p permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error   { return p.error }

// CheckError is what Check found wrong with the gateway URL, with what to change.
type CheckError struct {
	err       error
	permanent bool
	fix       string
}

func (e *CheckError) Error() string { return e.err.Error() + ": " + e.fix }
func (e *CheckError) Unwrap() error { return e.err }

// Permanent reports whether the URL cannot work as it is (the gateway's certificate is refused,
// it speaks no TLS on an https:// URL); otherwise the gateway could not be reached now.
func (e *CheckError) Permanent() bool { return e.permanent }

// Fix says what to change, for the operator.
func (e *CheckError) Fix() string { return e.fix }

// Check opens a connection to the gateway as a send does — TCP, and the TLS handshake with its
// certificate checked for an https:// URL — and closes it without a request, so nothing reaches
// the gateway's handlers. It returns nil or a *CheckError.
func (g *HTTPGateway) Check(ctx context.Context) error {
	u, err := url.Parse(g.url)
	if err != nil {
		return &CheckError{err: fmt.Errorf("sms gateway: %w", err), permanent: true, fix: "write --sms-url as http(s)://host[:port]/path"}
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	var tlsConfig *tls.Config
	dial := (&net.Dialer{}).DialContext
	if t, ok := g.client.Transport.(*http.Transport); ok {
		if t.DialContext != nil {
			dial = t.DialContext
		}
		if t.TLSClientConfig != nil {
			tlsConfig = t.TLSClientConfig.Clone()
		}
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return &CheckError{err: fmt.Errorf("sms gateway %s: %w", addr, err), fix: "could not reach the SMS gateway: check the host and port of " +
			"--sms-url and that this machine may connect to it; text messages wait in the outbox and are retried"}
	}
	defer conn.Close()
	if u.Scheme != "https" {
		return nil
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = u.Hostname()
	}
	tc := tls.Client(conn, tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		var certErr *tls.CertificateVerificationError
		var recordErr tls.RecordHeaderError
		switch {
		case errors.As(err, &certErr):
			return &CheckError{err: fmt.Errorf("sms gateway %s: %w", addr, err), permanent: true,
				fix: "the gateway's certificate is not trusted for " + u.Hostname() + ": use the host name on its certificate, or install the issuing CA in the system's roots"}
		case errors.As(err, &recordErr):
			return &CheckError{err: fmt.Errorf("sms gateway %s: %w", addr, err), permanent: true,
				fix: "the gateway does not speak TLS on this port: use its https port, or http:// on a trusted network"}
		}
		return &CheckError{err: fmt.Errorf("sms gateway %s: %w", addr, err), fix: "the TLS handshake with the SMS gateway failed; text messages wait in the outbox and are retried"}
	}
	return nil
}

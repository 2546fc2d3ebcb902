// Package webhook delivers operator events (user.verified, factor.enrolled, user.migrated,
// factor.removed) from the outbox to the endpoints the operator configures, signed in the style
// of Standard Webhooks, and lets receivers verify what they get.
//
// Each request is a POST of the event's JSON {id, type, time, data} with three headers:
// webhook-id (the event ID, the same on every attempt), webhook-timestamp (Unix seconds of this
// attempt) and webhook-signature ("v1," and the base64 HMAC-SHA256 under the shared key of
// id + "." + timestamp + "." + body). Delivery is at least once: receivers drop an ID they have
// seen, and Verify refuses a timestamp outside its tolerance, so a captured request cannot be
// replayed later.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/outbox"
)

// The headers of a delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const (
	// DefaultTimeout bounds one request to one endpoint.
	DefaultTimeout = 10 * time.Second
	// DefaultTolerance is how far a delivery's timestamp may be from the receiver's clock.
	DefaultTolerance = 5 * time.Minute
	// secretPrefix marks a Standard Webhooks secret; the base64 key follows it.
	secretPrefix = "whsec_"
	// minKeyLen is the shortest key accepted, in bytes (Standard Webhooks: 24 to 64).
	minKeyLen = 24
)

// Errors Verify returns, so a receiver can log why it refused a request.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp      = errors.New("webhook: timestamp outside tolerance")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// ParseSecret reads a signing secret: "whsec_" followed by the base64 key, or the base64 key
// alone, of at least 24 bytes.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), secretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("webhook secret: want whsec_ followed by base64, or base64")
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("webhook secret: %d bytes; want at least %d", len(key), minKeyLen)
	}
	return key, nil
}

// Sign returns the webhook-signature value of a delivery: "v1," and the base64 HMAC-SHA256 under
// key of id + "." + the Unix seconds of ts + "." + body.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery as a receiver should, over the raw body before parsing it: the
// timestamp lies within tolerance of now (DefaultTolerance when tolerance is 0) and one of the
// space-separated v1 signatures matches under secret (as configured: whsec_… or base64). After
// it succeeds, drop the delivery if its webhook-id was seen before: delivery is at least once.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// Sender delivers events to every configured endpoint; it is the outbox Worker's EventSender.
// One outbox row carries one event to all endpoints: the row is sent when every endpoint has
// answered 2xx, and an attempt that fails at any endpoint is retried at all of them, so a
// receiver may see an event again and drops it by its ID.
type Sender struct {
	endpoints []string
	key       []byte
	client    *http.Client
	clock     clock.Clock
}

// NewSender returns a Sender to the endpoints (http or https URLs) signing with secret (see
// ParseSecret). client may be nil for one with DefaultTimeout that does not follow redirects.
func NewSender(endpoints []string, secret string, client *http.Client, clk clock.Clock) (*Sender, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("webhook: no endpoints")
	}
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook endpoint %q: want http(s)://host/path", redact(e))
		}
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{
			Timeout:       DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Sender{endpoints: endpoints, key: key, client: client, clock: clk}, nil
}

// Send delivers e to every endpoint at once. It succeeds when all answer 2xx. When some fail, the
// error is permanent (the outbox gives the event up) only if every failure is: an answer other
// than 2xx, 408, 425, 429 or 5xx. A timeout or a transport error is worth another attempt.
func (s *Sender) Send(ctx context.Context, e outbox.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("webhook body: %w", err))
	}
	ts := s.clock.Now()
	sig := Sign(s.key, e.ID, ts, body)
	errs := make([]error, len(s.endpoints))
	var wg sync.WaitGroup
	for i, endpoint := range s.endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.post(ctx, endpoint, e.ID, ts, sig, body)
		}()
	}
	wg.Wait()
	return joinFailures(errs)
}

// post makes one request to one endpoint.
func (s *Sender) post(ctx context.Context, endpoint, id string, ts time.Time, sig string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &failure{msg: fmt.Sprintf("webhook %s: %v", redact(endpoint), err), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsretire-webhook")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		// A timeout, a refused connection, a reset: the endpoint may answer next time.
		return &failure{msg: fmt.Sprintf("webhook %s: %v", redact(endpoint), unwrapURLError(err))}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	f := &failure{msg: fmt.Sprintf("webhook %s answered %s: %s", redact(endpoint), resp.Status, strings.TrimSpace(string(snippet)))}
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly, resp.StatusCode == http.StatusTooManyRequests:
	default:
		f.permanent = true // a refusal (4xx) or a redirect, which is not followed
	}
	return f
}

// failure is one endpoint's failed delivery. It does not unwrap, so that a joined error is
// permanent only when joinFailures says so.
type failure struct {
	msg       string
	permanent bool
}

func (f *failure) Error() string   { return f.msg }
func (f *failure) Permanent() bool { return f.permanent }

// joinFailures reports the failed endpoints in one error, permanent only when every one is.
func joinFailures(errs []error) error {
	var msgs []string
	permanent := true
	for _, err := range errs {
		if err == nil {
			continue
		}
		msgs = append(msgs, err.Error())
		var f *failure
		if !errors.As(err, &f) || !f.permanent {
			permanent = false
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &failure{msg: strings.Join(msgs, "; "), permanent: permanent}
}

// unwrapURLError drops the method and URL that *url.Error repeats, since the message names the
// endpoint already, without its query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact names an endpoint by scheme, host and path: credentials and query strings, which may
// carry tokens, stay out of logs and stored errors.
func redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

package sms_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/sms"
)

const secret = "test-secret-of-at-least-thirty-two-characters"

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

type received struct {
	header http.Header
	body   []byte
}

// gatewayServer is the operator's gateway on loopback: it records requests and answers status.
func gatewayServer(t *testing.T, status int) (*httptest.Server, *[]received) {
	t.Helper()
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, received{r.Header.Clone(), b})
		w.WriteHeader(status)
		io.WriteString(w, "gateway says hello")
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestHTTPGateway_PostsSignedJSON(t *testing.T) {
	srv, got := gatewayServer(t, http.StatusAccepted)
	g, err := sms.NewHTTPGateway(srv.URL+"/send", secret, nil, clock.NewFake(t0))
	if err != nil {
		t.Fatal(err)
	}
	msg := sms.Message{ID: "42", To: "+8613800000001", Text: "【smsretire】您的验证码是 493817", Locale: "zh-Hans"}
	if err := g.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("gateway got %d requests", len(*got))
	}
	r := (*got)[0]
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if len(body) != 3 || body["to"] != msg.To || body["text"] != msg.Text || body["locale"] != "zh-Hans" {
		t.Errorf("body = %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if k := r.header.Get("Idempotency-Key"); k != "42" {
		t.Errorf("Idempotency-Key = %q", k)
	}
	// Computed here independently of the package: HMAC-SHA256(secret, "<t>.<body>").
	m := hmac.New(sha256.New, []byte(secret))
	ts := strconv.FormatInt(t0.Unix(), 10)
	m.Write([]byte(ts + "."))
	m.Write(r.body)
	want := "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
	if sig := r.header.Get(sms.SignatureHeader); sig != want {
		t.Errorf("signature = %q, want %q", sig, want)
	}
	if err := sms.Verify([]byte(secret), r.header.Get(sms.SignatureHeader), r.body, t0.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify refused a genuine request: %v", err)
	}
}

func TestVerify_RefusesTamperingWrongKeysAndReplays(t *testing.T) {
	body := []byte(`{"to":"+8613800000001","text":"hi","locale":"en"}`)
	header := sms.Sign([]byte(secret), t0, body)
	cases := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
	}{
		{"changed body", secret, header, bytes.Replace(body, []byte("hi"), []byte("ho"), 1), t0},
		{"wrong secret", secret + "x", header, body, t0},
		{"replayed later", secret, header, body, t0.Add(6 * time.Minute)},
		{"from the future", secret, header, body, t0.Add(-6 * time.Minute)},
		{"no signature", secret, "t=" + strconv.FormatInt(t0.Unix(), 10), body, t0},
		{"garbage", secret, "v1=zz,t=x", body, t0},
	}
	for _, c := range cases {
		if err := sms.Verify([]byte(c.secret), c.header, c.body, c.now, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if err := sms.Verify([]byte(secret), header, body, t0, 5*time.Minute); err != nil {
		t.Errorf("genuine: %v", err)
	}
}

type permanentError interface{ Permanent() bool }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) && p.Permanent()
}

func TestHTTPGateway_ClassifiesRefusals(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusTooManyRequests, false},
		{http.StatusRequestTimeout, false},
		{http.StatusBadRequest, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusFound, true},
	}
	for _, c := range cases {
		srv, _ := gatewayServer(t, c.status)
		g, _ := sms.NewHTTPGateway(srv.URL, secret, nil, clock.NewFake(t0))
		err := g.Send(context.Background(), sms.Message{To: "+8613800000001", Text: "x", Locale: "en"})
		if err == nil {
			t.Errorf("%d: no error", c.status)
			continue
		}
		if isPermanent(err) != c.permanent {
			t.Errorf("%d: permanent = %v, want %v (%v)", c.status, isPermanent(err), c.permanent, err)
		}
	}
}

// A gateway that does not answer in time is an error worth retrying; the request's context
// ends it (the client's own timeout does the same in production).
func TestHTTPGateway_UnansweredRequestIsTemporary(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the sender gives up while the gateway still holds the request
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	defer close(release)
	g, _ := sms.NewHTTPGateway(srv.URL, secret, nil, clock.NewFake(t0))
	err := g.Send(ctx, sms.Message{To: "+8613800000001", Text: "x", Locale: "en"})
	if err == nil || isPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a temporary context error", err)
	}
}

func TestNewHTTPGateway_RefusesBadSettings(t *testing.T) {
	if _, err := sms.NewHTTPGateway("ftp://x", secret, nil, nil); err == nil {
		t.Error("accepted ftp URL")
	}
	if _, err := sms.NewHTTPGateway("https://sms.example.cn/send", "", nil, nil); err == nil {
		t.Error("accepted an empty secret")
	}
}

// The log gateway says a message was not sent, to a masked number, without its text: logs never
// hold codes or whole phone numbers (the development outbox page shows the text).
func TestLogGateway_LogsNeitherTextNorNumber(t *testing.T) {
	var buf bytes.Buffer
	g := sms.LogGateway{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := g.Send(context.Background(), sms.Message{ID: "7", To: "+8613800000001", Text: "code 493817", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "493817") || strings.Contains(buf.String(), "13800000001") || !strings.Contains(buf.String(), "138****0001") {
		t.Errorf("log = %s", buf.String())
	}
}

// Check opens a connection (and the TLS handshake for https://) without a request: a reachable
// gateway passes, an untrusted certificate or plain HTTP on an https:// URL is permanent, a closed
// port is not.
func TestHTTPGateway_CheckConnectsWithoutARequest(t *testing.T) {
	requests := 0
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests++ })
	plain := httptest.NewServer(count)
	defer plain.Close()
	secure := httptest.NewTLSServer(count)
	defer secure.Close()
	check := func(url string, client *http.Client) error {
		t.Helper()
		g, err := sms.NewHTTPGateway(url, strings.Repeat("s", 32), client, nil)
		if err != nil {
			t.Fatal(err)
		}
		return g.Check(context.Background())
	}
	if err := check(plain.URL+"/sms", nil); err != nil {
		t.Errorf("plain HTTP gateway: %v", err)
	}
	if err := check(secure.URL+"/sms", secure.Client()); err != nil {
		t.Errorf("trusted HTTPS gateway: %v", err)
	}
	cases := []struct {
		name, url string
		permanent bool
		fix       string
	}{
		{"untrusted certificate", secure.URL + "/sms", true, "certificate"},
		{"https to a plain port", "https://" + strings.TrimPrefix(plain.URL, "http://") + "/sms", true, "TLS"},
		{"nothing listening", "http://127.0.0.1:1/sms", false, "reach"},
	}
	for _, c := range cases {
		var ce *sms.CheckError
		if err := check(c.url, nil); !errors.As(err, &ce) || ce.Permanent() != c.permanent || !strings.Contains(ce.Fix(), c.fix) {
			t.Errorf("%s: Check = %v; want permanent %v and a fix naming %q", c.name, err, c.permanent, c.fix)
		}
	}
	if requests != 0 {
		t.Errorf("Check made %d requests", requests)
	}
}

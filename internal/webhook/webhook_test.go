package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/internal/webhook"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	// secret is a configured signing secret: whsec_ and 32 random-looking bytes in base64.
	secret = "whsec_" + "c21zcmV0aXJlLXdlYmhvb2stdGVzdC1zZWNyZXQtMzI="
)

// The Standard Webhooks specification publishes this vector; matching it means receivers can use
// any of that specification's libraries.
func TestSign_StandardWebhooksVector(t *testing.T) {
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(webhook.HeaderTimestamp, "1614265330")
	h.Set(webhook.HeaderSignature, got)
	if err := webhook.Verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0), 0); err != nil {
		t.Fatalf("Verify of the vector, secret without prefix: %v", err)
	}
}

func TestParseSecret(t *testing.T) {
	cases := []struct {
		in    string
		bytes int
	}{
		{secret, 32},
		{strings.TrimPrefix(secret, "whsec_"), 32},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 24},
		{"whsec_c2hvcnQ=", 0},          // 5 bytes: too short
		{"whsec_not base64 at all", 0}, // not base64
		{"", 0},
	}
	for _, c := range cases {
		key, err := webhook.ParseSecret(c.in)
		if (err == nil) != (c.bytes > 0) || len(key) != c.bytes {
			t.Errorf("ParseSecret(%q) = %d bytes, %v; want %d bytes", c.in, len(key), err, c.bytes)
		}
	}
}

func signed(t *testing.T, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(key, id, ts, body))
	return h
}

func TestVerify_RefusesReplayTamperingAndForgery(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"user.verified","time":"2026-11-24T02:00:00Z","data":{"method":"phone","user_id":"u1"}}`)
	h := signed(t, "evt_1", t0, body)
	if err := webhook.Verify(secret, h, body, t0.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("fresh delivery refused: %v", err)
	}
	// A captured request replayed after the tolerance, or dated in the future, is refused.
	if err := webhook.Verify(secret, h, body, t0.Add(6*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("replay 6 minutes later: %v", err)
	}
	if err := webhook.Verify(secret, h, body, t0.Add(-6*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("timestamp in the future: %v", err)
	}
	// A replay with a fresh timestamp but the old signature does not match.
	moved := h.Clone()
	moved.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Add(10*time.Minute).Unix(), 10))
	if err := webhook.Verify(secret, moved, body, t0.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("re-dated replay: %v", err)
	}
	tampered := bytes.Replace(body, []byte("phone"), []byte("email"), 1)
	if err := webhook.Verify(secret, h, tampered, t0, 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("tampered body: %v", err)
	}
	otherID := h.Clone()
	otherID.Set(webhook.HeaderID, "evt_2")
	if err := webhook.Verify(secret, otherID, body, t0, 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("another event's ID: %v", err)
	}
	if err := webhook.Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, body, t0, 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("another key: %v", err)
	}
	// During a key rotation the header may carry several signatures; one matching is enough.
	rotated := h.Clone()
	rotated.Set(webhook.HeaderSignature, "v1,AAAA v2,whatever "+h.Get(webhook.HeaderSignature))
	if err := webhook.Verify(secret, rotated, body, t0, 0); err != nil {
		t.Errorf("several signatures: %v", err)
	}
	bare := h.Clone()
	bare.Del(webhook.HeaderSignature)
	if err := webhook.Verify(secret, bare, body, t0, 0); !errors.Is(err, webhook.ErrMissingHeaders) {
		t.Errorf("no signature: %v", err)
	}
}

// delivery is one request a receiver got.
type delivery struct {
	ID, Timestamp string
	Event         outbox.Event
	Body          []byte
	VerifyErr     error
}

// receiver is an operator's endpoint on loopback: it verifies each request with webhook.Verify
// and answers with the next status of its script (200 once the script is used up).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	script []int
}

func newReceiver(t *testing.T, clk clock.Clock, script ...int) *receiver {
	t.Helper()
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{ID: req.Header.Get(webhook.HeaderID), Timestamp: req.Header.Get(webhook.HeaderTimestamp), Body: body,
			VerifyErr: webhook.Verify(secret, req.Header, body, clk.Now(), 0)}
		if err := json.Unmarshal(body, &d.Event); err != nil {
			d.VerifyErr = errors.Join(d.VerifyErr, err)
		}
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			d.VerifyErr = errors.Join(d.VerifyErr, errors.New("not a JSON POST"))
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// textRenderer and sentMail stand in for the mail views and the SMTP server: the user.migrated
// transaction also queues a confirmation email, which is not what these tests are about.
type textRenderer struct{}

func (textRenderer) Render(_ context.Context, kind, template, locale string, _ map[string]string, _ string) (outbox.Rendered, error) {
	return outbox.Rendered{Subject: template, Text: kind + " " + template + " " + locale}, nil
}

type sentMail struct{ n int }

func (m *sentMail) Send(context.Context, mail.Message) error { m.n++; return nil }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func worker(t *testing.T, st *store.SQL, clk clock.Clock, endpoints ...string) *outbox.Worker {
	t.Helper()
	s, err := webhook.NewSender(endpoints, secret, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	return &outbox.Worker{Store: st, Events: s, Mail: &sentMail{}, Render: textRenderer{}, Clock: clk, Log: quietLog(),
		Jitter: func() float64 { return 0.5 }}
}

// produceEvents carries a user through the real domain: verified by an assist code, a first
// factor (which retires SMS), a second, and the first removed. It returns the event IDs the
// outbox holds, by type.
func produceEvents(t *testing.T, st *store.SQL, clk clock.Clock) map[string][]string {
	t.Helper()
	entry := campaign.RosterEntry{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Locale: "en", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{entry}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	c := audit.Client{IP: "192.0.2.1", UserAgent: "test"}
	ident := identity.New(st, clk, bytes.Repeat([]byte{9}, 32), campaign.NewIDHasher(bytes.Repeat([]byte{5}, 32)),
		identity.Settings{AssistTTL: time.Hour, MaxAttempts: 5, Lockout: time.Minute, ClientAttemptsHour: 100}, identity.CodeMessage)
	code, _, err := ident.IssueAssistCode(ctx, "alice", "staff:test", c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ident.CheckAssist(ctx, identity.ForUser("alice", true), code, c); err != nil {
		t.Fatal(err)
	}
	en := enroll.New(st, clk, func(string) ([]string, [][]byte, error) { return nil, nil, nil }, enroll.Policy{EmailCompletes: true},
		securitynotice.New(st, clk, bytes.Repeat([]byte{3}, 32)))
	app, err := en.Add(ctx, "alice", store.Factor{Kind: store.FactorTOTP, Name: "app", Secret: []byte("sealed"), SecretKeyID: "k1"}, c, nil)
	if err != nil || !app.First {
		t.Fatalf("first factor: %+v, %v", app, err)
	}
	if _, err := en.Add(ctx, "alice", store.Factor{Kind: store.FactorEmail, Name: "mail", Email: "alice@example.com"}, c, nil); err != nil {
		t.Fatal(err)
	}
	if err := en.Remove(ctx, "alice", app.Factor, c); err != nil {
		t.Fatal(err)
	}
	items, err := st.RecentOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	for _, it := range items {
		if it.Kind != store.OutboxEvent {
			continue
		}
		e, err := outbox.DecodeEvent(it.Payload)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.Type] = append(ids[e.Type], e.ID)
	}
	return ids
}

// Every event type the portal emits reaches every endpoint through a real outbox Worker, signed
// so that Verify accepts it, with its outbox ID in webhook-id and the documented data.
func TestDeliverDue_AllEventTypesSignedToEveryEndpoint(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		clk := clock.NewFake(t0)
		ids := produceEvents(t, st, clk)
		want := map[string]int{"user.verified": 1, "factor.enrolled": 2, "user.migrated": 1, "factor.removed": 1}
		for typ, n := range want {
			if len(ids[typ]) != n {
				t.Fatalf("outbox holds %d %s events, want %d (%v)", len(ids[typ]), typ, n, ids)
			}
		}
		a, b := newReceiver(t, clk), newReceiver(t, clk)
		w := worker(t, st, clk, a.URL+"/hooks/smsretire", b.URL+"/in?token=x")
		if _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*receiver{"a": a, "b": b} {
			got := map[string]int{}
			for _, d := range r.deliveries() {
				if d.VerifyErr != nil {
					t.Errorf("%s: %s refused: %v", name, d.Event.Type, d.VerifyErr)
				}
				if d.ID != d.Event.ID || !strings.HasPrefix(d.ID, "evt_") {
					t.Errorf("%s: webhook-id %q, body id %q", name, d.ID, d.Event.ID)
				}
				if d.Event.Data["user_id"] != "alice" || d.Event.Time.IsZero() {
					t.Errorf("%s: %s data %v time %v", name, d.Event.Type, d.Event.Data, d.Event.Time)
				}
				switch d.Event.Type {
				case "user.verified":
					if d.Event.Data["method"] != "assist" || d.ID != ids["user.verified"][0] {
						t.Errorf("user.verified: %s %v", d.ID, d.Event.Data)
					}
				case "factor.enrolled", "factor.removed":
					if d.Event.Data["kind"] == nil || d.Event.Data["factor_id"] == nil {
						t.Errorf("%s data %v", d.Event.Type, d.Event.Data)
					}
				case "user.migrated":
					if f, _ := d.Event.Data["factors"].([]any); len(f) != 1 || f[0] != "totp" || d.Event.Data["retired_at"] == nil {
						t.Errorf("user.migrated data %v", d.Event.Data)
					}
				}
				got[d.Event.Type]++
			}
			for typ, n := range want {
				if got[typ] != n {
					t.Errorf("%s received %d %s, want %d (%v)", name, got[typ], typ, n, got)
				}
			}
		}
		items, _ := st.RecentOutbox(ctx, 100)
		for _, it := range items {
			if it.Status != store.OutboxSent {
				t.Errorf("outbox %d %s is %s: %s", it.ID, it.Topic, it.Status, it.LastError)
			}
		}
	})
}

func enqueueEvent(t *testing.T, st *store.SQL, typ string, now time.Time) int64 {
	t.Helper()
	it, err := outbox.NewEvent("u1", typ, map[string]any{"user_id": "u1", "method": "phone"}, now)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := st.InTx(ctx, func(tx *store.Tx) error { id, err = tx.EnqueueOutbox(ctx, it); return err }); err != nil {
		t.Fatal(err)
	}
	return id
}

func outboxItem(t *testing.T, st *store.SQL, id int64) store.OutboxItem {
	t.Helper()
	items, err := st.RecentOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("no outbox item %d", id)
	return store.OutboxItem{}
}

// An endpoint that is briefly unavailable gets the same event again after the backoff, with the
// same ID and body and a fresh timestamp and signature.
func TestDeliverDue_RetriesAfterBackoffThenDelivers(t *testing.T) {
	st := testsupport.SQLite(t)
	clk := clock.NewFake(t0)
	r := newReceiver(t, clk, http.StatusServiceUnavailable)
	w := worker(t, st, clk, r.URL)
	id := enqueueEvent(t, st, "user.verified", clk.Now())

	if n, err := w.DeliverDue(ctx); n != 0 || err != nil {
		t.Fatalf("first attempt: %d sent, %v", n, err)
	}
	it := outboxItem(t, st, id)
	if it.Status != store.OutboxPending || it.Attempts != 1 || !strings.Contains(it.LastError, "503") {
		t.Fatalf("after a 503: %s, %d attempts, %q", it.Status, it.Attempts, it.LastError)
	}
	if !strings.Contains(it.LastError, "127.0.0.1") {
		t.Errorf("the stored error does not name the endpoint: %q", it.LastError)
	}
	// Not due before the backoff (5 s ± 20 %) has passed.
	clk.Advance(3 * time.Second)
	if n, _ := w.DeliverDue(ctx); n != 0 || len(r.deliveries()) != 1 {
		t.Fatalf("retried before the backoff: %d", len(r.deliveries()))
	}
	clk.Advance(5 * time.Second)
	if n, err := w.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("second attempt: %d sent, %v", n, err)
	}
	if it := outboxItem(t, st, id); it.Status != store.OutboxSent {
		t.Fatalf("after success: %s", it.Status)
	}
	got := r.deliveries()
	if len(got) != 2 {
		t.Fatalf("deliveries = %d", len(got))
	}
	if got[0].ID != got[1].ID || !bytes.Equal(got[0].Body, got[1].Body) || got[0].Timestamp == got[1].Timestamp {
		t.Errorf("retry: ids %s/%s, same body %v, timestamps %s/%s", got[0].ID, got[1].ID, bytes.Equal(got[0].Body, got[1].Body), got[0].Timestamp, got[1].Timestamp)
	}
	for _, d := range got {
		if d.VerifyErr != nil {
			t.Errorf("delivery refused: %v", d.VerifyErr)
		}
	}
}

// After the configured number of attempts the event is given up and kept, failed, with the last
// error, for staff; a refusal that retrying cannot cure fails at once.
func TestDeliverDue_GivesUpAndKeepsTheRowFailed(t *testing.T) {
	st := testsupport.SQLite(t)
	clk := clock.NewFake(t0)
	down := newReceiver(t, clk, 500, 500, 500, 500)
	w := worker(t, st, clk, down.URL)
	w.MaxAttempts = 3
	id := enqueueEvent(t, st, "factor.removed", clk.Now())
	for range 5 {
		w.DeliverDue(ctx)
		clk.Advance(15 * time.Minute)
	}
	it := outboxItem(t, st, id)
	if it.Status != store.OutboxFailed || it.Attempts != 3 || !strings.Contains(it.LastError, "500") || len(down.deliveries()) != 3 {
		t.Fatalf("after 3 failures: %s, %d attempts, %d requests, %q", it.Status, it.Attempts, len(down.deliveries()), it.LastError)
	}

	refusing := newReceiver(t, clk, http.StatusBadRequest)
	w2 := worker(t, st, clk, refusing.URL)
	id2 := enqueueEvent(t, st, "user.migrated", clk.Now())
	w2.DeliverDue(ctx)
	if it := outboxItem(t, st, id2); it.Status != store.OutboxFailed || it.Attempts != 1 || !strings.Contains(it.LastError, "400") {
		t.Fatalf("after a 400: %s, %d attempts, %q", it.Status, it.Attempts, it.LastError)
	}
}

func event(id string) outbox.Event {
	return outbox.Event{ID: id, Type: "user.verified", Time: t0, Data: map[string]any{"user_id": "u1"}}
}

// Send sorts answers into delivered, worth retrying and permanent, as documented.
func TestSend_ClassifiesAnswers(t *testing.T) {
	clk := clock.NewFake(t0)
	redirected := newReceiver(t, clk)
	cases := []struct {
		status    int
		ok, retry bool
	}{
		{200, true, false}, {202, true, false}, {204, true, false},
		{408, false, true}, {425, false, true}, {429, false, true}, {500, false, true}, {502, false, true}, {503, false, true},
		{400, false, false}, {401, false, false}, {403, false, false}, {404, false, false}, {410, false, false}, {422, false, false},
		{302, false, false}, {307, false, false},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.status/100 == 3 {
				http.Redirect(w, r, redirected.URL, c.status)
				return
			}
			w.WriteHeader(c.status)
		}))
		s, err := webhook.NewSender([]string{srv.URL}, secret, nil, clk)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(ctx, event("evt_1"))
		srv.Close()
		switch {
		case c.ok && err != nil:
			t.Errorf("%d: %v", c.status, err)
		case !c.ok && err == nil:
			t.Errorf("%d: delivered", c.status)
		case !c.ok && outbox.IsPermanent(err) == c.retry:
			t.Errorf("%d: permanent = %v, want %v (%v)", c.status, outbox.IsPermanent(err), !c.retry, err)
		}
	}
	if n := len(redirected.deliveries()); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
}

// An endpoint that does not answer — connection refused, or no answer before the deadline — is
// tried again later.
func TestSend_UnreachableOrTimedOutIsRetried(t *testing.T) {
	clk := clock.NewFake(t0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	s, err := webhook.NewSender([]string{closed}, secret, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, event("evt_1")); err == nil || outbox.IsPermanent(err) {
		t.Errorf("connection refused: %v, permanent %v", err, outbox.IsPermanent(err))
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	s, _ = webhook.NewSender([]string{slow.URL}, secret, nil, clk)
	expired, cancel := context.WithDeadline(ctx, time.Unix(0, 0)) // the attempt's deadline has passed
	defer cancel()
	if err := s.Send(expired, event("evt_1")); err == nil || outbox.IsPermanent(err) {
		t.Errorf("deadline exceeded: %v, permanent %v", err, outbox.IsPermanent(err))
	}
}

// With several endpoints an event is delivered when all accept it; it is retried while any
// failure may pass, and given up only when every failure is permanent.
func TestSend_SeveralEndpoints(t *testing.T) {
	clk := clock.NewFake(t0)
	cases := []struct {
		name      string
		statuses  []int
		ok, retry bool
	}{
		{"all accept", []int{200, 204}, true, false},
		{"one down", []int{200, 503}, false, true},
		{"one refuses, one down", []int{400, 503}, false, true},
		{"one refuses", []int{200, 400}, false, false},
	}
	for _, c := range cases {
		var urls []string
		var recvs []*receiver
		for _, st := range c.statuses {
			r := newReceiver(t, clk, st)
			recvs = append(recvs, r)
			urls = append(urls, r.URL)
		}
		s, err := webhook.NewSender(urls, secret, nil, clk)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(ctx, event("evt_"+strings.ReplaceAll(c.name, " ", "_")))
		if (err == nil) != c.ok || (err != nil && outbox.IsPermanent(err) == c.retry) {
			t.Errorf("%s: %v (permanent %v)", c.name, err, outbox.IsPermanent(err))
		}
		for i, r := range recvs {
			if d := r.deliveries(); len(d) != 1 || d[0].VerifyErr != nil {
				t.Errorf("%s: endpoint %d got %d requests", c.name, i, len(d))
			}
		}
	}
}

func TestNewSender_RefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		urls   []string
		secret string
	}{
		{nil, secret},
		{[]string{"ftp://example.com/hook"}, secret},
		{[]string{"https:///nohost"}, secret},
		{[]string{"https://example.com/hook"}, ""},
		{[]string{"https://example.com/hook"}, "whsec_c2hvcnQ="},
	} {
		if _, err := webhook.NewSender(c.urls, c.secret, nil, nil); err == nil {
			t.Errorf("NewSender(%v, %q) accepted", c.urls, c.secret)
		}
	}
}

package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

var ctx = context.Background()

// testRenderer writes out what a message is made of, so these tests see what the worker handed
// to a channel. The real texts come from views/message, whose tests also deliver through a worker.
type testRenderer struct{}

func (testRenderer) Render(_ context.Context, kind, template, locale string, data map[string]string, secret string) (outbox.Rendered, error) {
	switch template {
	case "verify.code", "enroll.email_code", "signin.email_code", "retired.confirmation", "security.notice", "checkup.reminder":
	default:
		return outbox.Rendered{}, fmt.Errorf("no template %q", template)
	}
	text := fmt.Sprintf("%s %s to %s in %s, minutes %s, code %s", kind, template, data["name"], locale, data["minutes"], secret)
	if kind == store.OutboxSMS {
		return outbox.Rendered{Text: text}, nil
	}
	return outbox.Rendered{Subject: "subject of " + template, Text: text, HTML: `<p lang="` + locale + `"><strong>` + secret + `</strong></p>`}, nil
}

func renderer(*testing.T) testRenderer { return testRenderer{} }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// smtpSender is a mailer for the test SMTP server, trusting its certificate.
func smtpSender(t *testing.T, srv *testsupport.SMTPServer) *mail.SMTP {
	t.Helper()
	set, err := mail.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	set.TLSConfig = srv.TLSConfig()
	m, err := mail.NewSMTP(set, "smsretire <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func enqueue(t *testing.T, s *store.SQL, items ...store.OutboxItem) []int64 {
	t.Helper()
	var ids []int64
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for _, it := range items {
			id, err := tx.EnqueueOutbox(ctx, it)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// item finds an outbox row by ID, with its payload as stored (secrets erased when finished).
func item(t *testing.T, s *store.SQL, id int64) store.OutboxItem {
	t.Helper()
	items, err := s.RecentOutbox(ctx, 1000)
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

// storedPayload reads the payload column itself, to see what is on disk.
func storedPayload(t *testing.T, s *store.SQL, id int64) string {
	t.Helper()
	q := "SELECT payload FROM outbox WHERE id = ?"
	if s.Dialect() == store.Postgres {
		q = "SELECT payload FROM outbox WHERE id = $1"
	}
	var p string
	if err := s.DB().QueryRow(q, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 0.5, 5 * time.Second},
		{2, 0.5, 10 * time.Second},
		{3, 0.5, 20 * time.Second},
		{7, 0.5, 320 * time.Second},
		{8, 0.5, 10 * time.Minute}, // 640 s, capped
		{40, 0.5, 10 * time.Minute},
		{0, 0.5, 5 * time.Second},
		{1, 0, 4 * time.Second},                           // -20 %
		{1, 0.999999, 6*time.Second - 5*time.Microsecond}, // just under +20 %
		{9, 0, 8 * time.Minute},
	}
	for _, c := range cases {
		if got := outbox.Backoff(c.attempt, c.r); got.Round(10*time.Microsecond) != c.want.Round(10*time.Microsecond) {
			t.Errorf("Backoff(%d, %v) = %v, want %v", c.attempt, c.r, got, c.want)
		}
	}
}

func TestConstructors_StablePayloadShapes(t *testing.T) {
	it := outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0)
	if it.Kind != store.OutboxSMS || it.Topic != "verify.code" || it.UserID != "u1" || !it.CreatedAt.Equal(t0) {
		t.Errorf("sms item = %+v", it)
	}
	if want := `{"to":"+8613800000001","locale":"en","template":"verify.code","data":{"minutes":"10"},"secret":"493817"}`; string(it.Payload) != want {
		t.Errorf("sms payload = %s\nwant %s", it.Payload, want)
	}
	em := outbox.Email("u1", "a@example.com", "fr", "retired.confirmation", map[string]string{"factors": "totp"}, "", t0)
	if want := `{"to":"a@example.com","locale":"zh-Hans","template":"retired.confirmation","data":{"factors":"totp"}}`; em.Kind != store.OutboxEmail || string(em.Payload) != want {
		t.Errorf("email payload = %s (kind %s)\nwant %s", em.Payload, em.Kind, want)
	}
	ev, err := outbox.NewEvent("u1", "user.migrated", map[string]any{"factors": []string{"totp"}}, t0.In(time.FixedZone("CST", 8*3600)))
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]any
	json.Unmarshal(ev.Payload, &shape)
	if len(shape) != 4 || !strings.HasPrefix(shape["id"].(string), "evt_") || shape["type"] != "user.migrated" || shape["time"] != "2026-11-24T08:00:00Z" {
		t.Errorf("event payload = %s", ev.Payload)
	}
	if ev.Kind != store.OutboxEvent || ev.Topic != "user.migrated" {
		t.Errorf("event item = %+v", ev)
	}
}

// The code row and its message are written together; the worker sends the email over real SMTP
// with both bodies in the user's language and erases the code from the stored payload.
func TestDeliverDue_EmailOverSMTPInTheUsersLanguage(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{Username: "mailer", Password: "s3cret"})
		clk := clock.NewFake(t0)
		box := devbox.New(10)
		w := &outbox.Worker{Store: s, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clk, Log: quietLog(), Devbox: box}
		ids := enqueue(t, s, outbox.Email("u1", "li.na@example.com", "en", "verify.code", map[string]string{"minutes": "10", "name": "Li Na"}, "493817", t0))

		n, err := w.DeliverDue(ctx)
		if err != nil || n != 1 {
			t.Fatalf("DeliverDue = %d, %v", n, err)
		}
		got := srv.Messages()
		if len(got) != 1 {
			t.Fatalf("server got %d messages", len(got))
		}
		m := got[0]
		if len(m.To) != 1 || m.To[0] != "li.na@example.com" || !m.TLS {
			t.Errorf("envelope to %v, tls %v", m.To, m.TLS)
		}
		if s := m.Header("Subject"); s != "subject of verify.code" {
			t.Errorf("subject = %q", s)
		}
		text, html := m.Part("text/plain"), m.Part("text/html")
		if !strings.Contains(text, "email verify.code to Li Na in en, minutes 10, code 493817") {
			t.Errorf("text part:\n%s", text)
		}
		if !strings.Contains(html, `lang="en"`) || !strings.Contains(html, "<strong") || !strings.Contains(html, "493817") {
			t.Errorf("html part:\n%s", html)
		}
		it := item(t, s, ids[0])
		if it.Status != store.OutboxSent || !it.SentAt.Equal(t0) || it.Attempts != 1 {
			t.Errorf("item = %+v", it)
		}
		if p := storedPayload(t, s, ids[0]); strings.Contains(p, "493817") {
			t.Errorf("code still stored: %s", p)
		}
		if dev := box.List(); len(dev) != 1 || dev[0].To != "li.na@example.com" || !strings.Contains(dev[0].Text, "493817") || dev[0].Kind != "email" {
			t.Errorf("devbox = %+v", dev)
		}
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil || len(srv.Messages()) != 1 {
			t.Errorf("second run sent again: %d, %v", n, err)
		}
	})
}

// The mail server is down: nothing is lost, attempts back off, and when it returns every message
// arrives exactly once.
func TestDeliverDue_SurvivesAnSMTPOutage(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
		srv.Stop()
		clk := clock.NewFake(t0)
		w := &outbox.Worker{Store: s, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clk, Log: quietLog(),
			Batch: 2, Jitter: func() float64 { return 0.5 }}
		var items []store.OutboxItem
		for i := range 5 {
			lang := []string{"zh-Hans", "en"}[i%2]
			items = append(items, outbox.Email(fmt.Sprint("u", i), fmt.Sprintf("user%d@example.com", i), lang, "verify.code", outbox.CodeData(10*time.Minute), fmt.Sprintf("10000%d", i), t0))
		}
		ids := enqueue(t, s, items...)

		n, err := w.DeliverDue(ctx)
		if err != nil || n != 0 {
			t.Fatalf("during the outage: DeliverDue = %d, %v", n, err)
		}
		for _, id := range ids {
			it := item(t, s, id)
			if it.Status != store.OutboxPending || it.Attempts != 1 || it.LastError == "" || !it.NextAttemptAt.Equal(t0.Add(5*time.Second)) {
				t.Fatalf("after a failed attempt: %+v", it)
			}
			if strings.Contains(it.LastError, "10000") {
				t.Errorf("error quotes the code: %q", it.LastError)
			}
		}
		// Not due yet: nothing is tried.
		clk.Advance(4 * time.Second)
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil || item(t, s, ids[0]).Attempts != 1 {
			t.Fatalf("before the backoff ended: %d, %v, %+v", n, err, item(t, s, ids[0]))
		}
		// Second attempt, still down: the wait doubles.
		clk.Advance(time.Second)
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil {
			t.Fatalf("second attempt: %d, %v", n, err)
		}
		if it := item(t, s, ids[4]); it.Attempts != 2 || !it.NextAttemptAt.Equal(t0.Add(15*time.Second)) {
			t.Fatalf("after the second attempt: %+v", it)
		}

		srv.Start()
		clk.Advance(10 * time.Second)
		n, err = w.DeliverDue(ctx)
		if err != nil || n != len(ids) {
			t.Fatalf("after the outage: DeliverDue = %d, %v", n, err)
		}
		got := map[string]int{}
		for _, m := range srv.Messages() {
			got[strings.Join(m.To, ",")]++
		}
		for i := range ids {
			if to := fmt.Sprintf("user%d@example.com", i); got[to] != 1 {
				t.Errorf("%s got %d messages, want exactly 1 (%v)", to, got[to], got)
			}
		}
		if len(srv.Messages()) != len(ids) {
			t.Errorf("server got %d messages, want %d", len(srv.Messages()), len(ids))
		}
		for _, id := range ids {
			if it := item(t, s, id); it.Status != store.OutboxSent || it.Attempts != 3 {
				t.Errorf("item after delivery: %+v", it)
			}
		}
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil || len(srv.Messages()) != len(ids) {
			t.Errorf("delivered again: %d, %v", n, err)
		}
	})
}

func TestDeliverDue_GivesUpAfterMaxAttempts(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
		srv.Stop()
		clk := clock.NewFake(t0)
		w := &outbox.Worker{Store: s, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clk, Log: quietLog(), MaxAttempts: 3}
		ids := enqueue(t, s, outbox.Email("u1", "a@example.com", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
		for attempt := 1; attempt <= 3; attempt++ {
			if _, err := w.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(11 * time.Minute)
		}
		latest, err := s.LatestOutboxForUser(ctx, "u1", store.OutboxEmail, "verify.code")
		if err != nil {
			t.Fatal(err)
		}
		if latest.ID != ids[0] || latest.Status != store.OutboxFailed || latest.Attempts != 3 || latest.LastError == "" {
			t.Fatalf("after 3 attempts: %+v", latest)
		}
		if p := storedPayload(t, s, ids[0]); strings.Contains(p, "493817") {
			t.Errorf("code still stored after giving up: %s", p)
		}
		srv.Start()
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil || len(srv.Messages()) != 0 {
			t.Errorf("a failed item was sent: %d, %v", n, err)
		}
	})
}

func TestDeliverDue_PermanentRefusalFailsAtOnce(t *testing.T) {
	s := testsupport.SQLite(t)
	srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	srv.RejectRecipients(true)
	w := &outbox.Worker{Store: s, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clock.NewFake(t0), Log: quietLog()}
	ids := enqueue(t, s,
		outbox.Email("u1", "gone@example.com", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0),
		outbox.Email("u2", "x@example.com", "en", "no.such.template", nil, "", t0))
	if _, err := w.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if it := item(t, s, id); it.Status != store.OutboxFailed || it.Attempts != 1 || it.LastError == "" {
			t.Errorf("item = %+v", it)
		}
	}
}

// gateway is an SMS gateway for worker tests: it records messages and fails while told to.
type gateway struct {
	mu   sync.Mutex
	fail error
	sent []sms.Message
}

func (g *gateway) Send(_ context.Context, m sms.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return g.fail
	}
	g.sent = append(g.sent, m)
	return nil
}

func TestDeliverDue_SMSThroughTheSignedHTTPGateway(t *testing.T) {
	s := testsupport.SQLite(t)
	var mu sync.Mutex
	var bodies []string
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if sms.Verify([]byte("0123456789abcdef0123456789abcdef"), r.Header.Get(sms.SignatureHeader), b, t0, time.Minute) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			bodies = append(bodies, string(b))
		} else {
			w.Write(b) // a gateway that echoes the request in its error
		}
	}))
	defer srv.Close()
	clk := clock.NewFake(t0)
	g, err := sms.NewHTTPGateway(srv.URL, "0123456789abcdef0123456789abcdef", nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	w := &outbox.Worker{Store: s, SMS: g, Render: renderer(t), Clock: clk, Log: quietLog()}
	ids := enqueue(t, s, outbox.SMS("u1", "+8613800000001", "zh-Hans", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
	if n, err := w.DeliverDue(ctx); n != 0 || err != nil {
		t.Fatalf("gateway down: %d, %v", n, err)
	}
	it := item(t, s, ids[0])
	if it.Status != store.OutboxPending || !strings.Contains(it.LastError, "503") || strings.Contains(it.LastError, "493817") {
		t.Fatalf("after 503: %+v", it)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	clk.Set(it.NextAttemptAt)
	if n, err := w.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("gateway up: %d, %v", n, err)
	}
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"text":"sms verify.code to  in zh-Hans, minutes 10, code 493817"`) || !strings.Contains(bodies[0], `"locale":"zh-Hans"`) {
		t.Errorf("gateway got %v", bodies)
	}
}

// A worker claimed items and died: nothing is sent twice while its lease holds, and nothing is
// lost once it ends.
func TestDeliverDue_TakesOverFromAWorkerThatDied(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		g := &gateway{}
		clk := clock.NewFake(t0)
		w := &outbox.Worker{Store: s, SMS: g, Render: renderer(t), Clock: clk, Log: quietLog(), Lease: time.Minute}
		ids := enqueue(t, s, outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: time.Minute, Owner: "dead"}); err != nil { // the worker that died
			t.Fatal(err)
		}
		if n, err := w.DeliverDue(ctx); n != 0 || err != nil || len(g.sent) != 0 {
			t.Fatalf("sent under another worker's lease: %d, %v", n, err)
		}
		clk.Advance(time.Minute)
		if n, err := w.DeliverDue(ctx); n != 1 || err != nil || len(g.sent) != 1 {
			t.Fatalf("after the lease: %d, %v, %v", n, err, g.sent)
		}
		if g.sent[0].ID != fmt.Sprint("outbox-", ids[0]) || g.sent[0].To != "+8613800000001" {
			t.Errorf("sent %+v", g.sent[0])
		}
	})
}

type events struct {
	mu  sync.Mutex
	got []outbox.Event
}

func (e *events) Send(_ context.Context, ev outbox.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	return nil
}

func TestDeliverDue_Events(t *testing.T) {
	s := testsupport.SQLite(t)
	ev, _ := outbox.NewEvent("u1", "user.migrated", map[string]any{"factors": []string{"totp"}}, t0)
	ids := enqueue(t, s, ev)
	// No receiver configured: the event is owed to nobody and is marked sent.
	w := &outbox.Worker{Store: s, Render: renderer(t), Clock: clock.NewFake(t0), Log: quietLog()}
	if n, err := w.DeliverDue(ctx); n != 1 || err != nil || item(t, s, ids[0]).Status != store.OutboxSent {
		t.Fatalf("without a receiver: %d, %v", n, err)
	}
	ev2, _ := outbox.NewEvent("u1", "factor.removed", map[string]any{"kind": "totp"}, t0)
	enqueue(t, s, ev2)
	rec := &events{}
	w.Events = rec
	if n, err := w.DeliverDue(ctx); n != 1 || err != nil || len(rec.got) != 1 || rec.got[0].Type != "factor.removed" || rec.got[0].Data["kind"] != "totp" {
		t.Fatalf("with a receiver: %d, %v, %+v", n, err, rec.got)
	}
}

// blocking is a gateway whose first send waits until the test lets it finish.
type blocking struct {
	gateway
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocking) Send(ctx context.Context, m sms.Message) error {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.started)
		<-b.release
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return b.gateway.Send(ctx, m)
}

// Run stops when its context ends, but finishes the message in hand and claims no more.
func TestRun_FinishesTheItemInHandOnShutdown(t *testing.T) {
	s := testsupport.SQLite(t)
	g := &blocking{started: make(chan struct{}), release: make(chan struct{})}
	w := &outbox.Worker{Store: s, SMS: g, Render: renderer(t), Clock: clock.NewFake(t0), Log: quietLog(), Poll: time.Hour, Concurrency: 1}
	var items []store.OutboxItem
	for i := range 3 {
		items = append(items, outbox.SMS(fmt.Sprint("u", i), fmt.Sprint("+861380000000", i), "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
	}
	ids := enqueue(t, s, items...)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		w.Run(runCtx)
		close(done)
	}()
	<-g.started
	stop()
	close(g.release)
	<-done

	if it := item(t, s, ids[0]); it.Status != store.OutboxSent {
		t.Errorf("item in hand: %+v", it)
	}
	if len(g.sent) != 1 {
		t.Errorf("sent %d, want only the item in hand", len(g.sent))
	}
	// The rest were left unattempted: a new worker takes them at once.
	claimed, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: time.Minute, Owner: "next"})
	if err != nil || len(claimed) != 2 || claimed[0].Attempts != 1 || claimed[1].Attempts != 1 {
		t.Errorf("after shutdown: %+v, %v", claimed, err)
	}
}

// A failing send on one item does not stop the others.
func TestDeliverDue_OneFailureDoesNotStopTheRest(t *testing.T) {
	s := testsupport.SQLite(t)
	g := &gateway{}
	w := &outbox.Worker{Store: s, SMS: g, Render: renderer(t), Clock: clock.NewFake(t0), Log: quietLog()}
	ids := enqueue(t, s,
		store.OutboxItem{Kind: store.OutboxSMS, Topic: "verify.code", Payload: []byte(`not json`), CreatedAt: t0},
		outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
	n, err := w.DeliverDue(ctx)
	if err != nil || n != 1 || len(g.sent) != 1 {
		t.Fatalf("DeliverDue = %d, %v, sent %v", n, err, g.sent)
	}
	if it := item(t, s, ids[0]); it.Status != store.OutboxFailed {
		t.Errorf("malformed item: %+v", it)
	}
	g.fail = errors.New("network unreachable")
	enqueue(t, s, outbox.SMS("u2", "+8613800000002", "en", "verify.code", outbox.CodeData(10*time.Minute), "111111", t0))
	if n, err := w.DeliverDue(ctx); n != 0 || err != nil {
		t.Errorf("a delivery error surfaced as a worker error: %d, %v", n, err)
	}
}

func TestLatestDelivery_TellsTheUserFromTheFirstFailedAttempt(t *testing.T) {
	s := testsupport.SQLite(t)
	g := &gateway{fail: errors.New("gateway answered 500")}
	clk := clock.NewFake(t0)
	w := &outbox.Worker{Store: s, SMS: g, Render: renderer(t), Clock: clk, Log: quietLog(), MaxAttempts: 2}
	state := func(kind string) outbox.Delivery {
		t.Helper()
		d, err := outbox.LatestDelivery(ctx, s, "u1", kind, outbox.TemplateVerifyCode)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := state(store.OutboxSMS); d != outbox.DeliveryNone {
		t.Fatalf("no message at all: %v", d)
	}
	enqueue(t, s, outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
	if d := state(store.OutboxSMS); d != outbox.DeliveryPending {
		t.Errorf("before the first attempt: %v", d)
	}
	w.DeliverDue(ctx)
	if d := state(store.OutboxSMS); d != outbox.DeliveryDelayed {
		t.Errorf("after the first failed attempt: %v, want delayed", d)
	}
	clk.Advance(time.Minute)
	w.DeliverDue(ctx)
	if d := state(store.OutboxSMS); d != outbox.DeliveryFailed {
		t.Errorf("after the last attempt: %v, want failed", d)
	}
	if d := state(store.OutboxEmail); d != outbox.DeliveryNone {
		t.Errorf("the email channel reported the SMS: %v", d)
	}
	// A new code sent afterwards starts afresh, and goes out.
	g.mu.Lock()
	g.fail = nil
	g.mu.Unlock()
	enqueue(t, s, outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "222222", clk.Now()))
	if d := state(store.OutboxSMS); d != outbox.DeliveryPending {
		t.Errorf("a new message still reports the old failure: %v", d)
	}
	w.DeliverDue(ctx)
	if d := state(store.OutboxSMS); d != outbox.DeliverySent {
		t.Errorf("after delivery: %v", d)
	}
}

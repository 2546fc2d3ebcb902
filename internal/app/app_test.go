package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/internal/webhook"
)

// nullRenderer stands in for views/message, which internal packages do not import; events need no
// rendering.
type nullRenderer struct{}

func (nullRenderer) Render(context.Context, string, string, string, map[string]string, string) (outbox.Rendered, error) {
	return outbox.Rendered{}, nil
}

// parts builds what New needs for a configuration read from env as serve reads it.
func parts(t *testing.T, env map[string]string, clk clock.Clock) app.Parts {
	t.Helper()
	var cfg config.Config
	if _, err := cfg.Parse("serve", []string{"--data-dir", t.TempDir()}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	keys, _, err := keyring.Load(keyring.Env{}, cfg.DataDir, true)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return app.Parts{Config: cfg, Keys: keys, Store: testsupport.SQLite(t), Catalog: cat, Render: nullRenderer{}, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// serve's outbox worker sends events to --webhook-urls, signed with SMSRETIRE_WEBHOOK_SECRET;
// without endpoints it has no event sender, and a malformed secret stops it from starting.
func TestNew_WebhooksFromConfig(t *testing.T) {
	const secret = "whsec_c21zcmV0aXJlLXdlYmhvb2stdGVzdC1zZWNyZXQtMzI="
	clk := clock.NewFake(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, clk.Now(), 0); err != nil {
			t.Errorf("receiver: %v", err)
		}
		mu.Lock()
		got = append(got, r.Header.Get(webhook.HeaderID))
		mu.Unlock()
	}))
	defer recv.Close()
	worker := func(env map[string]string) (*outbox.Worker, error) {
		a, err := app.New(parts(t, env, clk))
		if err != nil {
			return nil, err
		}
		return a.Worker, nil
	}

	w, err := worker(nil)
	if err != nil || w.Events != nil {
		t.Fatalf("without endpoints: events %v, %v", w.Events, err)
	}
	if _, err := worker(map[string]string{"SMSRETIRE_WEBHOOK_URLS": recv.URL, "SMSRETIRE_WEBHOOK_SECRET": "whsec_c2hvcnQ="}); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	w, err = worker(map[string]string{"SMSRETIRE_WEBHOOK_URLS": recv.URL + "/hooks", "SMSRETIRE_WEBHOOK_SECRET": secret})
	if err != nil || w.Events == nil {
		t.Fatalf("with an endpoint: events %v, %v", w.Events, err)
	}
	ev, _ := outbox.NewEvent("u1", "user.verified", map[string]any{"user_id": "u1", "method": "phone"}, clk.Now())
	if err := w.Store.InTx(context.Background(), func(tx *store.Tx) error { _, err := tx.EnqueueOutbox(context.Background(), ev); return err }); err != nil {
		t.Fatal(err)
	}
	n, err := w.DeliverDue(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if n != 1 || err != nil || len(got) != 1 {
		t.Fatalf("delivered %d, %v; receiver got %v", n, err, got)
	}
}

// The operator's `smsretire assist-code` and the server are two processes, each with its own App:
// a code one issues, the other accepts, since both derive the code key the same way.
func TestNew_TwoProcessesShareTheCodeKey(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC))
	p := parts(t, nil, clk)
	if _, err := p.Store.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "u1", Phone: "+8613800000001", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	cli, err := app.New(p)
	if err != nil {
		t.Fatal(err)
	}
	server, err := app.New(p)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := cli.Identity.IssueAssistCode(ctx, "u1", "cli", audit.Client{IP: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Identity.CheckAssist(ctx, identity.ForUser("u1", true), code, audit.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("the server refused the operator's assist code: %v", err)
	}
	id, err := server.Notices.Parse(strings.TrimPrefix(cli.NoticeLink("u1"), p.Config.BaseURL+"/notice/"), clk.Now())
	if err != nil || id != "u1" {
		t.Fatalf("the server read the operator's notice link as %q, %v", id, err)
	}
}

// The development outbox exists with --demo only, where messages go to the log and this page
// stands in for the phone and the mailbox.
func TestNew_DevelopmentOutboxOnlyInDemo(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC))
	a, err := app.New(parts(t, nil, clk))
	if err != nil || a.Devbox != nil || a.Worker.Devbox != nil {
		t.Fatalf("without --demo: devbox %v, worker's %v, %v", a.Devbox, a.Worker.Devbox, err)
	}
	a, err = app.New(parts(t, map[string]string{"SMSRETIRE_DEMO": "true"}, clk))
	if err != nil || a.Devbox == nil || a.Worker.Devbox != a.Devbox {
		t.Fatalf("with --demo: devbox %v, worker's %v, %v", a.Devbox, a.Worker.Devbox, err)
	}
}

// A delivery server that cannot be reached now is logged at ERROR with what to check, and serve
// starts (the outbox retries); settings that can never deliver are refused.
func TestCheckDelivery_LogsUnreachableAndRefusesWhatCannotWork(t *testing.T) {
	env := map[string]string{
		"SMSRETIRE_SMTP_URL":    "smtp://127.0.0.1:1",
		"SMSRETIRE_SMS_GATEWAY": "http",
		"SMSRETIRE_SMS_URL":     "http://127.0.0.1:1/sms",
		"SMSRETIRE_SMS_SECRET":  strings.Repeat("s", 32),
	}
	p := parts(t, env, nil)
	var log strings.Builder
	var mu sync.Mutex
	p.Logger = slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return log.Write(b)
	}), nil))
	a, err := app.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CheckDelivery(context.Background()); err != nil {
		t.Fatalf("unreachable servers refused the start: %v", err)
	}
	for _, want := range []string{"level=ERROR", "setting=--smtp-url", "setting=--sms-url", "retried"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}

	plain := testsupport.StartSMTP(t, testsupport.SMTPOptions{NoTLS: true})
	env = map[string]string{"SMSRETIRE_SMTP_URL": "smtp://" + strings.TrimPrefix(strings.Split(plain.URL(), "?")[0], "smtp://")}
	a, err = app.New(parts(t, env, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CheckDelivery(context.Background()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("a server without STARTTLS for smtp://: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

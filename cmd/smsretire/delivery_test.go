package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/internal/webhook"
)

// serve's outbox worker sends events to --webhook-urls, signed with SMSRETIRE_WEBHOOK_SECRET;
// without endpoints it has no event sender, and a malformed secret stops it from starting.
func TestNewWorker_WebhooksFromConfig(t *testing.T) {
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
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	worker := func(env map[string]string) (*outbox.Worker, error) {
		a := &app{log: slog.New(slog.NewTextHandler(io.Discard, nil)), store: testsupport.SQLite(t)}
		if _, err := a.cfg.Parse("serve", []string{"--data-dir", t.TempDir()}, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		return a.newWorker(cat, clk, nil)
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

package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// BenchmarkDeliverMigrations measures how fast the worker empties a backlog of what migrations
// write to the outbox: per migration two emails (the retirement confirmation and a security
// notice, over SMTP with STARTTLS to a test server) and three events (no webhook receiver, as
// by default), each migration in its own transaction. The worker runs as serve runs it (Run).
// Metrics: migrations/s and items/s delivered.
func BenchmarkDeliverMigrations(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			s := testsupport.SQLite(b)
			if db == "postgres" {
				s = testsupport.Postgres(b)
			}
			benchDeliverMigrations(b, s, 300)
		})
	}
}

func benchDeliverMigrations(b *testing.B, s *store.SQL, migrations int) {
	ctx := context.Background()
	srv := testsupport.StartSMTP(b, testsupport.SMTPOptions{})
	set, err := mail.ParseURL(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	set.TLSConfig = srv.TLSConfig()
	mailer, err := mail.NewSMTP(set, "smsretire <no-reply@example.com>")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var elapsed time.Duration
	for n := range b.N {
		b.StopTimer()
		now := time.Now()
		for m := range migrations {
			userID := fmt.Sprintf("u%d-%d", n, m)
			to := userID + "@example.com"
			err := s.InTx(ctx, func(tx *store.Tx) error {
				items := []store.OutboxItem{
					outbox.Email(userID, to, "zh-Hans", outbox.TemplateRetiredConfirmation, map[string]string{"factors": "totp", "date": "2026-11-24"}, "", now),
					outbox.Email(userID, to, "zh-Hans", outbox.TemplateSecurityNotice, map[string]string{"change": "factor.added", "kind": "totp"}, "", now),
				}
				for _, typ := range []string{"user.verified", "factor.enrolled", "user.migrated"} {
					ev, err := outbox.NewEvent(userID, typ, map[string]any{"user_id": userID}, now)
					if err != nil {
						return err
					}
					items = append(items, ev)
				}
				for _, it := range items {
					if _, err := tx.EnqueueOutbox(ctx, it); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		w := &outbox.Worker{Store: s, Mail: mailer, Render: testRenderer{}, Clock: clock.System{}, Log: log}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { w.Run(runCtx); close(done) }()
		for pending(b, s) > 0 {
			time.Sleep(2 * time.Millisecond)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		stop()
		<-done
	}
	if got, want := len(srv.Messages()), 2*migrations*b.N; got != want {
		b.Fatalf("the SMTP server got %d emails, want %d", got, want)
	}
	b.ReportMetric(float64(migrations*b.N)/elapsed.Seconds(), "migrations/s")
	b.ReportMetric(float64(5*migrations*b.N)/elapsed.Seconds(), "items/s")
	b.ReportMetric(0, "ns/op")
}

func pending(b *testing.B, s *store.SQL) int {
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE status = 'pending'`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

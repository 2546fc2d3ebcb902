package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// BenchmarkCheckCode measures redeeming a right email code (the check, the code used up, the
// user verified and the history written in one transaction) on SQLite and PostgreSQL, one user
// per iteration; sending the code is not timed.
func BenchmarkCheckCode(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			st := testsupport.SQLite(b)
			if db == "postgres" {
				st = testsupport.Postgres(b)
			}
			benchCheckCode(b, st)
		})
	}
}

func benchCheckCode(b *testing.B, st *store.SQL) {
	ctx := context.Background()
	f := newFixture(b, st, func(s *identity.Settings) { s.SendsPerHour, s.ClientAttemptsHour = 1<<30, 1<<30 })
	entries := make([]campaign.RosterEntry, b.N)
	for i := range entries {
		entries[i] = campaign.RosterEntry{ID: fmt.Sprintf("b%07d", i), Phone: fmt.Sprintf("+86137%08d", i),
			Email: fmt.Sprintf("b%07d@example.com", i), Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}
	}
	if _, err := st.UpsertUsers(ctx, entries, t0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		sub := identity.ForUser(entries[i].ID, true)
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); err != nil {
			b.Fatal(err)
		}
		code := f.code(entries[i].ID, identity.MethodEmail)
		f.clk.Advance(time.Second)
		b.StartTimer()
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodEmail, code, client); err != nil {
			b.Fatal(err)
		}
	}
}

package retention_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/retention"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// BenchmarkPurgeHistory200k measures one run of the retention job over a history of 200,000
// entries of 1,000 users, half of them past --history-retention: the 100,000 old ones are deleted
// in batches of 1,000 while the rest stay, on SQLite and on PostgreSQL.
func BenchmarkPurgeHistory200k(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				var st *store.SQL
				if dialect == "sqlite" {
					st = testsupport.SQLite(b)
				} else {
					st = testsupport.Postgres(b)
				}
				now := t0.Add(800 * day)
				seedHistory(b, st, now, 1000, 200)
				job := retention.New(st, clock.NewFake(now), slog.New(slog.DiscardHandler), retention.Settings{History: 365 * day})
				b.StartTimer()
				deleted, err := job.Purge(ctx, now)
				b.StopTimer()
				if err != nil || deleted["events"] != 100_000+1000 { // and each user's roster.added, older still
					b.Fatalf("deleted %v, %v", deleted, err)
				}
			}
		})
	}
}

// seedHistory adds users users with perUser history entries each, the first half 400 days before
// now and the rest 10 days before, with one statement per user.
func seedHistory(b *testing.B, st *store.SQL, now time.Time, users, perUser int) {
	b.Helper()
	entries := make([]campaign.RosterEntry, users)
	for i := range entries {
		entries[i] = campaign.RosterEntry{ID: fmt.Sprintf("u%05d", i), Phone: fmt.Sprintf("+86139%08d", i), Deadline: campaign.Date{Year: 2028, Month: 1, Day: 1}}
	}
	if _, err := st.UpsertUsers(ctx, entries, now.Add(-500*day)); err != nil {
		b.Fatal(err)
	}
	old, recent := now.Add(-400*day).UnixMilli(), now.Add(-10*day).UnixMilli()
	gen := `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) `
	insert := `INSERT INTO events (user_id, type, detail, actor, ip, user_agent, created_at)
		SELECT ?, 'signin.succeeded', '{"method":"totp"}', 'user', '203.0.113.7', 'Mozilla/5.0', CASE WHEN i < ? THEN ? + i ELSE ? + i END FROM n`
	q := gen + insert
	if st.Dialect() == store.Postgres {
		q = `INSERT INTO events (user_id, type, detail, actor, ip, user_agent, created_at)
			SELECT $2, 'signin.succeeded', '{"method":"totp"}', 'user', '203.0.113.7', 'Mozilla/5.0', CASE WHEN i < $3 THEN $4::bigint + i ELSE $5::bigint + i END
			FROM generate_series(0, $1 - 1) AS i`
	}
	for _, e := range entries {
		if _, err := st.DB().ExecContext(ctx, q, perUser, e.ID, perUser/2, old, recent); err != nil {
			b.Fatal(err)
		}
	}
}

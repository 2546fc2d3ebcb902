package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// BenchmarkUserCounts1MPostgres measures what the metrics and the staff dashboard ask the
// database for users by state and wave, on 1,000,000 users in 4 waves and 4 states: one
// GROUP BY over the users_wave_state index (rollout.Service.Counts caches it for 15 s).
func BenchmarkUserCounts1MPostgres(b *testing.B) {
	ctx := context.Background()
	st := testsupport.Postgres(b)
	const n = 1_000_000
	i := 0
	next := func() (campaign.RosterEntry, bool, error) {
		if i == n {
			return campaign.RosterEntry{}, false, nil
		}
		e := campaign.RosterEntry{ID: fmt.Sprintf("user%07d", i), Phone: fmt.Sprintf("+86139%08d", i),
			Deadline: campaign.Date{Year: 2027, Month: time.January, Day: 15}, Wave: []string{"staff", "pilot", "early", "all"}[i%4]}
		i++
		return e, true, nil
	}
	if _, err := st.CopyUsers(ctx, next, 0, time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE users SET state = 'retired' WHERE id LIKE '%1'`,
		`UPDATE users SET state = 'verified' WHERE id LIKE '%2'`,
		`UPDATE users SET exempt_reason = 'test' WHERE id LIKE '%33'`,
		`VACUUM ANALYZE users`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		counts, err := st.UserCounts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		total := 0
		for _, c := range counts {
			total += c.Users
		}
		if total != n {
			b.Fatalf("counted %d users", total)
		}
	}
}

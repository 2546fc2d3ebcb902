package roster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// load imports text into s as `smsretire import` does: Import on SQLite, ImportCopy (COPY) on
// PostgreSQL.
func load(t *testing.T, s *store.SQL, text string, full bool, now time.Time) (roster.Summary, []roster.Problem) {
	t.Helper()
	var problems []roster.Problem
	opt := roster.Options{Hasher: hasher, Now: now, Full: full,
		Waves:     map[string]campaign.Date{"staff": {Year: 2026, Month: 12, Day: 31}, "all": {Year: 2027, Month: 3, Day: 31}},
		OnProblem: func(p roster.Problem) { problems = append(problems, p) }}
	var sum roster.Summary
	var err error
	if s.Dialect() == store.Postgres {
		sum, err = roster.ImportCopy(context.Background(), strings.NewReader(text), s, opt)
	} else {
		sum, err = roster.Import(context.Background(), strings.NewReader(text), s, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sum, problems
}

// A wave column puts users in a wave: a row without a deadline takes its wave's, a row's own
// deadline wins, an unknown wave or a row with neither is refused with the reason.
func TestImport_WaveColumn(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		sum, problems := load(t, s, "user_id,phone,email,name,locale,deadline,id_last4,wave\n"+
			"a,13800000001,,,,,,staff\n"+
			"b,13800000002,,,,2027-01-15,,all\n"+
			"c,13800000003,,,,2027-02-01,,\n"+
			"d,13800000004,,,,,,nosuch\n"+
			"e,13800000005,,,,,,\n", false, now)
		if sum.Added != 3 || sum.Rejected != 2 || len(problems) != 2 {
			t.Fatalf("summary %s, problems %v", sum, problems)
		}
		if !strings.Contains(problems[0].Reason, `wave "nosuch" is not a [[wave]]`) || !strings.Contains(problems[0].Reason, "all, staff") ||
			!strings.Contains(problems[1].Reason, "no wave gives one") {
			t.Errorf("problems %v", problems)
		}
		wantUser(t, s, "a", func(u campaign.User) bool {
			return u.Wave == "staff" && u.DeadlineFromWave && u.Deadline.String() == "2026-12-31"
		})
		wantUser(t, s, "b", func(u campaign.User) bool {
			return u.Wave == "all" && !u.DeadlineFromWave && u.Deadline.String() == "2027-01-15"
		})
		wantUser(t, s, "c", func(u campaign.User) bool { return u.Wave == "" && u.Deadline.String() == "2027-02-01" })
		// Without a deadline column, the wave gives every deadline.
		sum, problems = load(t, s, "user_id,phone,email,name,locale,id_last4,wave\nf,13800000006,,,,,all\n", false, now)
		if sum.Added != 1 || len(problems) != 0 {
			t.Errorf("no deadline column: %s %v", sum, problems)
		}
	})
}

// Importing again updates deadlines and contact details and keeps the history and the state; a
// full roster takes the users it no longer names out of scope (not deleted), and a later roster
// that names them again brings them back; a full roster with a rejected row takes no one out.
func TestImport_FullRosterTakesMissingUsersOutOfScope(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		header := "user_id,phone,email,name,locale,deadline,id_last4,wave\n"
		load(t, s, header+"a,13800000001,a@example.com,,,,,staff\nb,13800000002,,,,2027-01-15,,\nc,13800000003,,,,2027-01-15,,\n", false, now)
		err := s.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetState(ctx, "a", campaign.StateVerified, audit.StateChanged.Event("a", audit.Client{}, now, nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		// A rejected row: nobody leaves.
		sum, _ := load(t, s, header+"a,13800000001,a@example.com,,,,,staff\nb,bad,,,,2027-01-15,,\n", true, now.Add(time.Hour))
		if sum.OutOfScope != 0 || !strings.Contains(sum.String(), "no user taken out of scope: 1 rows were rejected") {
			t.Errorf("with a rejected row: %s", sum)
		}
		// The full roster without c, with a's new deadline and address.
		sum, _ = load(t, s, header+"a,13800000001,new@example.com,,,2027-02-01,,staff\nb,13800000002,,,,2027-01-15,,\n", true, now.Add(2*time.Hour))
		if sum.OutOfScope != 1 || sum.Updated != 1 || sum.Unchanged != 1 || !strings.HasSuffix(sum.String(), "; 1 taken out of scope") {
			t.Errorf("full import: %s", sum)
		}
		wantUser(t, s, "a", func(u campaign.User) bool {
			return u.Email == "new@example.com" && u.Deadline.String() == "2027-02-01" && !u.DeadlineFromWave && u.State == campaign.StateVerified
		})
		wantUser(t, s, "c", func(u campaign.User) bool { return !u.OutOfScopeAt.IsZero() && !u.InScope() })
		events, _ := s.Events(ctx, "a", 10)
		if len(events) < 3 { // added, state changed, updated
			t.Errorf("a's history lost: %v", events)
		}
		events, _ = s.Events(ctx, "c", 10)
		if len(events) == 0 || events[0].Type != audit.RosterOutOfScope {
			t.Errorf("c's history: %v", events)
		}
		// Again: nothing more leaves; then c is named again and comes back.
		sum, _ = load(t, s, header+"a,13800000001,new@example.com,,,2027-02-01,,staff\nb,13800000002,,,,2027-01-15,,\n", true, now.Add(3*time.Hour))
		if sum.OutOfScope != 0 || sum.Unchanged != 2 {
			t.Errorf("same full roster again: %s", sum)
		}
		sum, _ = load(t, s, header+"c,13800000003,,,,2027-01-15,,\n", false, now.Add(4*time.Hour))
		if sum.Updated != 1 {
			t.Errorf("c named again: %s", sum)
		}
		wantUser(t, s, "c", func(u campaign.User) bool { return u.InScope() })
		events, _ = s.Events(ctx, "c", 10)
		if len(events) == 0 || events[0].Type != audit.RosterReturned {
			t.Errorf("c's history after coming back: %v", events)
		}
	})
}

package retention_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/retention"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx = context.Background()
	day = 24 * time.Hour
)

func count(t *testing.T, st *store.SQL, table, where string) int {
	t.Helper()
	var n int
	q := `SELECT COUNT(*) FROM ` + table
	if where != "" {
		q += ` WHERE ` + where
	}
	if err := st.DB().QueryRowContext(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func do(t *testing.T, st *store.SQL, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := st.InTx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// seed writes, for one user, rows of every kind at ages around the cut-offs: history and messages
// from 400 and 10 days before now, pending and sent; sessions, grants, ceremonies, links, codes and
// limits that ran out and some that did not; devices used 400 and 10 days ago.
func seed(t *testing.T, st *store.SQL, now time.Time) {
	t.Helper()
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001", Deadline: campaign.Date{Year: 2027, Month: 1, Day: 1}}}, now.Add(-500*day)); err != nil {
		t.Fatal(err)
	}
	old, recent := now.Add(-400*day), now.Add(-10*day)
	c := audit.Client{IP: "203.0.113.7", UserAgent: "test"}
	do(t, st, func(tx *store.Tx) error {
		for i := 0; i < 2500; i++ { // more than two batches
			if err := tx.AppendEvent(ctx, audit.SignInSucceeded.Event("alice", c, old.Add(time.Duration(i)*time.Second), nil)); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(ctx, audit.SignInSucceeded.Event("alice", c, recent, nil)); err != nil {
			return err
		}
		for _, at := range []time.Time{old, recent} {
			if _, err := tx.EnqueueOutbox(ctx, outbox.SMS("alice", "+8613800000001", "en", outbox.TemplateRetiredConfirmation, nil, "", at)); err != nil {
				return err
			}
		}
		// A message written long ago and due later, still pending: never deleted.
		later := outbox.SMS("alice", "+8613800000001", "en", outbox.TemplateCheckup, nil, "", old)
		later.NextAttemptAt = now.Add(day)
		if _, err := tx.EnqueueOutbox(ctx, later); err != nil {
			return err
		}
		for _, s := range []struct {
			id      string
			expires time.Time
		}{{"spent", now.Add(-time.Minute)}, {"live", now.Add(time.Hour)}} {
			if err := tx.CreateSession(ctx, store.Session{ID: s.id, Kind: "user", Subject: "alice", CreatedAt: recent, LastSeenAt: recent,
				AuthAt: recent, ExpiresAt: s.expires}); err != nil {
				return err
			}
			if err := tx.CreateDisavowal(ctx, store.Disavowal{ID: s.id, UserID: "alice", Change: "factor.added", CreatedAt: recent, ExpiresAt: s.expires}); err != nil {
				return err
			}
		}
		for _, expires := range []time.Time{now.Add(-25 * time.Hour), now.Add(-time.Hour)} { // a code is kept a day after it expires
			if _, err := tx.InsertCode(ctx, store.Code{UserID: "alice", Purpose: "verify_phone", Hash: []byte{1}, CreatedAt: expires.Add(-10 * time.Minute), ExpiresAt: expires}); err != nil {
				return err
			}
		}
		for _, at := range []time.Time{old, recent} {
			if _, err := tx.SeeDevice(ctx, "d-"+at.Format("0102"), "alice", "Chrome on Windows", at); err != nil {
				return err
			}
		}
		if _, err := tx.TakeCounter(ctx, "send-ip:x", now.Add(-2*time.Hour), now.Add(-time.Hour), 5, now.Add(-2*time.Hour)); err != nil {
			return err
		}
		if _, err := tx.TakeCounter(ctx, "send-ip:x", now.Truncate(time.Hour), now.Truncate(time.Hour).Add(time.Hour), 5, now); err != nil {
			return err
		}
		if _, _, err := tx.TakeAnswer(ctx, "u:alice:phone", 5, now.Add(-time.Minute), now.Add(-time.Hour)); err != nil {
			return err
		}
		if _, _, err := tx.Hold(ctx, "resend:u:alice", now.Add(-time.Minute), now.Add(-2*time.Minute)); err != nil {
			return err
		}
		_, _, err := tx.Hold(ctx, "send:u:alice:0", now.Add(time.Minute), now)
		return err
	})
	for _, g := range []struct {
		id      string
		expires time.Time
	}{{"spent", now.Add(-time.Minute)}, {"live", now.Add(time.Minute)}} {
		if err := st.CreateGrant(ctx, store.Grant{ID: g.id, UserID: "alice", Method: "phone", VerifiedAt: recent, ExpiresAt: g.expires}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveCeremony(ctx, store.Ceremony{ID: g.id, Kind: "login", Data: []byte("{}"), ExpiresAt: g.expires}); err != nil {
			t.Fatal(err)
		}
	}
	// Mark the messages of 400 and 10 days ago sent, as the worker would have.
	if _, err := st.DB().ExecContext(ctx, `UPDATE outbox SET status = 'sent' WHERE topic = 'retired.confirmation'`); err != nil {
		t.Fatal(err)
	}
}

func TestRunOnce_DeletesWhatIsPastItsKeepingOnBothStores(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		now := t0.Add(600 * day)
		seed(t, st, now)
		clk := clock.NewFake(now)
		job := retention.New(st, clk, slog.New(slog.DiscardHandler), retention.Settings{History: 365 * day, Outbox: 30 * day})
		deleted, ran, err := job.RunOnce(ctx)
		if err != nil || !ran {
			t.Fatalf("run: %v, ran %v", err, ran)
		}
		for _, c := range []struct {
			table, where string
			left         int
		}{
			{"events", "user_id = 'alice' AND type = 'signin.succeeded'", 1},
			{"outbox", "status = 'sent'", 1},
			{"outbox", "status = 'pending'", 1},
			{"sessions", "", 1},
			{"grants", "", 1},
			{"ceremonies", "", 1},
			{"disavowals", "", 1},
			{"codes", "", 1},
			{"devices", "", 1},
			{"counters", "", 1},
			{"answer_limits", "", 0},
			{"lockouts", "", 1},
			{"users", "", 1},
		} {
			if n := count(t, st, c.table, c.where); n != c.left {
				t.Errorf("%s where %q: %d rows left, want %d", c.table, c.where, n, c.left)
			}
		}
		// 2,500 sign-ins and the roster.added of 500 days ago.
		if deleted["events"] != 2501 || deleted["outbox"] != 1 || deleted["sessions"] != 1 || deleted["lockouts"] != 1 {
			t.Errorf("deleted = %v", deleted)
		}
		// Again at once: not due, so another run (here, or on another instance) does nothing.
		if _, ran, err := job.RunOnce(ctx); err != nil || ran {
			t.Errorf("a second run within the hour: ran %v, %v", ran, err)
		}
	})
}

func TestRunOnce_ZeroKeepsHistoryAndMessages(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		now := t0.Add(600 * day)
		seed(t, st, now)
		job := retention.New(st, clock.NewFake(now), slog.New(slog.DiscardHandler), retention.Settings{})
		if _, _, err := job.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, st, "events", "type = 'signin.succeeded'"); n != 2501 {
			t.Errorf("history entries = %d, want all 2501", n)
		}
		if n := count(t, st, "outbox", ""); n != 3 {
			t.Errorf("messages = %d, want all 3", n)
		}
		if n := count(t, st, "sessions", ""); n != 1 {
			t.Errorf("spent sessions are deleted whatever the retention: %d left", n)
		}
	})
}

// Instances racing for one run: one claims it; the rest skip until it is due again.
func TestRunOnce_OneInstanceAtATime(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		clk := clock.NewFake(t0)
		var jobs []*retention.Job
		for range 8 {
			jobs = append(jobs, retention.New(st, clk, slog.New(slog.DiscardHandler), retention.Settings{History: day, Every: time.Hour}))
		}
		runs := func() int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			n := 0
			for _, j := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, ran, err := j.RunOnce(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					if ran {
						n++
					}
					mu.Unlock()
				}()
			}
			wg.Wait()
			return n
		}
		if n := runs(); n != 1 {
			t.Fatalf("8 instances at once ran the job %d times, want 1", n)
		}
		clk.Advance(59 * time.Minute)
		if n := runs(); n != 0 {
			t.Fatalf("before the hour: %d runs, want 0", n)
		}
		clk.Advance(time.Minute)
		if n := runs(); n != 1 {
			t.Fatalf("after the hour: %d runs, want 1", n)
		}
	})
}

// Run, as serve starts it, deletes on its own and stops with its context.
func TestRun_DeletesInTheBackgroundUntilStopped(t *testing.T) {
	st := testsupport.SQLite(t)
	now := t0.Add(600 * day)
	seed(t, st, now)
	job := retention.New(st, clock.NewFake(now), slog.New(slog.DiscardHandler), retention.Settings{History: 365 * day, Every: 10 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { job.Run(runCtx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for count(t, st, "events", "type = 'signin.succeeded'") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the running job deleted nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

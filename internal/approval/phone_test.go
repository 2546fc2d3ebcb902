package approval_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

var desktop = audit.Client{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"}

type fixture struct {
	st    *store.SQL
	clk   *clock.Fake
	svc   *approval.Service
	alice identity.Subject
	phone string // alice's approver session
	ctx   context.Context
}

func newFixture(t *testing.T, st *store.SQL) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, clk: clock.NewFake(t0), ctx: ctx, alice: identity.ForUser("alice", false), phone: "phone-session"}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com",
		Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.phone, "other-session"} {
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateSession(ctx, store.Session{ID: id, Kind: "user", Subject: "alice", CreatedAt: t0, LastSeenAt: t0, AuthAt: t0,
				ExpiresAt: t0.Add(12 * time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	notices := securitynotice.New(st, f.clk, bytes.Repeat([]byte{3}, 32))
	f.svc = approval.New(st, f.clk, bytes.Repeat([]byte{4}, 32), notices, nil, approval.DefaultSettings(6))
	if err := f.svc.Enroll(ctx, "alice", f.phone, audit.Client{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) start(t *testing.T) approval.Started {
	t.Helper()
	s, err := f.svc.Start(f.ctx, f.alice, desktop)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

func (f *fixture) events(t *testing.T, typ audit.Type) int {
	t.Helper()
	evs, err := f.st.Events(f.ctx, "alice", 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (f *fixture) mails(t *testing.T, topic string) int {
	t.Helper()
	var n int
	if err := f.st.DB().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM outbox WHERE user_id = 'alice' AND payload LIKE '%`+topic+`%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func refusal(err error) string {
	var r approval.ErrRefused
	if errors.As(err, &r) {
		return r.Reason
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// The whole way: the phone sees the request and what is asking (never the number), types the
// number, and the desktop that holds the binding completes once; nobody else can.
func TestApproval_ApprovedOnceByTheBindingHolder(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		s := f.start(t)
		if len(s.Number) != 6 || strings.Trim(s.Number, "0123456789") != "" {
			t.Fatalf("number %q", s.Number)
		}
		pending, err := f.svc.Pending(f.ctx, "alice", f.phone)
		if err != nil || len(pending) != 1 || pending[0].ID != s.ID || pending[0].IP != desktop.IP {
			t.Fatalf("pending = %+v, %v", pending, err)
		}
		if other, _ := f.svc.Pending(f.ctx, "alice", "other-session"); len(other) != 0 {
			t.Fatal("a session that is no approver sees the request")
		}
		if err := f.svc.Approve(f.ctx, "alice", "other-session", s.ID, s.Number, audit.Client{}); !errors.Is(err, approval.ErrNotApprover) {
			t.Fatalf("approve from a session that is no approver: %v", err)
		}
		if st, err := f.svc.Status(f.ctx, s.ID, s.Binding); err != nil || st != store.ApprovalPending {
			t.Fatalf("status = %q, %v", st, err)
		}
		if _, err := f.svc.Status(f.ctx, s.ID, "another browser"); !errors.Is(err, approval.ErrNotFound) {
			t.Fatalf("status without the binding: %v", err)
		}
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{}); err != nil {
			t.Fatalf("approve: %v", err)
		}
		if _, err := f.svc.Complete(f.ctx, s.ID, "another browser", desktop); !errors.Is(err, approval.ErrNotFound) {
			t.Fatalf("complete without the binding: %v", err)
		}
		done, err := f.svc.Complete(f.ctx, s.ID, s.Binding, desktop)
		if err != nil || done.UserID != "alice" || len(done.Methods) != 1 || done.Methods[0] != approval.AMR[0] || done.Approver != f.phone {
			t.Fatalf("complete = %+v, %v", done, err)
		}
		if _, err := f.svc.Complete(f.ctx, s.ID, s.Binding, desktop); !errors.Is(err, approval.ErrClosed) {
			t.Fatalf("replayed completion: %v", err)
		}
		if f.events(t, audit.SignInSucceeded) != 1 || f.mails(t, securitynotice.ApprovalSignedIn) != 1 {
			t.Fatal("the sign-in is not in the history, or no email told of it")
		}
	})
}

// One try: a wrong number ends the request; three failures in a row (wrong, denied, ignored)
// suspend approvals for an hour and email the user, and a new request never resets the count.
func TestApproval_FailuresInARowSuspend(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		s := f.start(t)
		wrong := "000000"
		if s.Number == wrong {
			wrong = "111111"
		}
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, wrong, audit.Client{}); !errors.Is(err, approval.ErrWrongNumber) {
			t.Fatalf("wrong number: %v", err)
		}
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{}); !errors.Is(err, approval.ErrClosed) {
			t.Fatalf("the right number after a wrong one: %v", err)
		}
		if st, _ := f.svc.Status(f.ctx, s.ID, s.Binding); st != store.ApprovalWrong {
			t.Fatalf("status after a wrong number = %q", st)
		}
		f.clk.Advance(31 * time.Second)
		s = f.start(t)
		if err := f.svc.Deny(f.ctx, "alice", f.phone, s.ID, false, audit.Client{}); err != nil {
			t.Fatalf("deny: %v", err)
		}
		f.clk.Advance(31 * time.Second)
		s = f.start(t) // ignored: expires
		if f.mails(t, "approval.suspended") != 0 {
			t.Fatal("suspended after two failures")
		}
		f.clk.Advance(2*time.Minute + time.Second)
		if st, _ := f.svc.Status(f.ctx, s.ID, s.Binding); st != store.ApprovalExpired {
			t.Fatalf("status after its lifetime = %q", st)
		}
		if _, err := f.svc.Start(f.ctx, f.alice, desktop); refusal(err) != approval.RefusedSuspended {
			t.Fatalf("after three failures: %v", err)
		}
		if f.mails(t, "approval.suspended") != 1 || f.events(t, audit.ApprovalSuspended) != 1 {
			t.Fatal("the suspension was not emailed or recorded once")
		}
		f.clk.Advance(time.Hour)
		f.start(t)
	})
}

// "This wasn't me" denies, suspends at once and emails.
func TestApproval_NotMeSuspendsAtOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		s := f.start(t)
		if err := f.svc.Deny(f.ctx, "alice", f.phone, s.ID, true, audit.Client{}); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		if _, err := f.svc.Start(f.ctx, f.alice, desktop); refusal(err) != approval.RefusedSuspended {
			t.Fatalf("after this wasn't me: %v", err)
		}
		if f.mails(t, "approval.suspended") != 1 {
			t.Fatal("no email")
		}
	})
}

// One open request, 30 s apart, 5 per 15 minutes, 10 a day without a success; a success starts
// the day's count again. Removing the approver stops its approvals.
func TestApproval_Limits(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		s := f.start(t)
		if _, err := f.svc.Start(f.ctx, f.alice, desktop); refusal(err) != approval.RefusedOpen {
			t.Fatalf("second open request: %v", err)
		}
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Complete(f.ctx, s.ID, s.Binding, desktop); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(f.ctx, f.alice, desktop); refusal(err) != approval.RefusedWait {
			t.Fatalf("within 30 s: %v", err)
		}
		ok := 1
		for i := 0; i < 10; i++ { // each approved, so no failures pile up
			f.clk.Advance(30 * time.Second)
			s, err := f.svc.Start(f.ctx, f.alice, desktop)
			if err != nil {
				if refusal(err) != approval.RefusedWindow {
					t.Fatalf("request %d: %v", i, err)
				}
				break
			}
			ok++
			f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{})
			f.svc.Complete(f.ctx, s.ID, s.Binding, desktop)
		}
		if ok != 5 {
			t.Fatalf("%d requests in 15 minutes; want 5", ok)
		}
		// A day without a success: 10, then refused until tomorrow.
		f.clk.Set(t0.Add(24 * time.Hour))
		bob := identity.Subject{Key: "x:nobody"} // an account that does not exist: asks like any other
		n := 0
		for i := 0; i < 40; i++ {
			_, err := f.svc.Start(f.ctx, bob, desktop)
			if refusal(err) == approval.RefusedDay {
				break
			}
			if err == nil {
				n++
			}
			f.clk.Advance(5 * time.Minute) // each expires unanswered, three in a row suspend for an hour
			if refusal(err) == approval.RefusedSuspended {
				f.clk.Advance(time.Hour)
			}
		}
		if n != 10 {
			t.Fatalf("%d requests a day without a success; want 10", n)
		}
		if removed, err := f.svc.Remove(f.ctx, "alice", f.phone, audit.Client{}); err != nil || !removed {
			t.Fatalf("remove: %v %v", removed, err)
		}
		f.clk.Set(t0.Add(72 * time.Hour))
		s = f.start(t)
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{}); !errors.Is(err, approval.ErrNotApprover) {
			t.Fatalf("approve after removal: %v", err)
		}
	})
}

// Of 60 parallel requests for one account, on either store, exactly one opens; of 60 parallel
// completions of one approved request, exactly one signs in.
func TestApproval_ParallelRequestsOpenOne(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		const parallel = 60
		var mu sync.Mutex
		var started []approval.Started
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				s, err := f.svc.Start(f.ctx, f.alice, desktop)
				if err != nil && refusal(err) != approval.RefusedOpen {
					t.Errorf("start: %v", err)
				}
				if err == nil {
					mu.Lock()
					started = append(started, s)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(started) != 1 {
			t.Fatalf("%d requests opened; want 1", len(started))
		}
		s := started[0]
		if err := f.svc.Approve(f.ctx, "alice", f.phone, s.ID, s.Number, audit.Client{}); err != nil {
			t.Fatal(err)
		}
		var signedIn, refused int
		for range parallel {
			wg.Go(func() {
				_, err := f.svc.Complete(f.ctx, s.ID, s.Binding, desktop)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					signedIn++
				case errors.Is(err, approval.ErrClosed):
					refused++
				default:
					t.Errorf("complete: %v", err)
				}
			})
		}
		wg.Wait()
		if signedIn != 1 || refused != parallel-1 {
			t.Fatalf("%d completions signed in, %d refused", signedIn, refused)
		}
	})
}

// The retention job deletes requests a day after they ended, and an account's row two days after
// its last request; approvers and their subscriptions go with their sessions.
func TestApproval_PurgedWhenSpent(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		s := f.start(t)
		if n, err := st.PurgeSpent(f.ctx, t0.Add(24*time.Hour), 100); err != nil || n["approval_requests"] != 0 {
			t.Fatalf("purged %v, %v before a day after its end", n, err)
		}
		n, err := st.PurgeSpent(f.ctx, t0.Add(49*time.Hour), 100)
		if err != nil || n["approval_requests"] != 1 || n["approval_accounts"] != 1 {
			t.Fatalf("purged %v, %v", n, err)
		}
		if _, err := st.ApprovalRequest(f.ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("request after the purge: %v", err)
		}
		if ok, _ := st.IsApprover(f.ctx, "alice", f.phone); ok {
			t.Fatal("the approver outlived its session")
		}
	})
}

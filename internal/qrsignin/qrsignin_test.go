package qrsignin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/qrsignin"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0       = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	ctx      = context.Background()
	computer = audit.Client{IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
	phone    = audit.Client{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"}
)

// parallel is how many requests a burst sends at once.
const parallel = 60

func newService(t *testing.T, st *store.SQL) (*qrsignin.Service, *clock.Fake) {
	t.Helper()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline}}, t0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	notices := securitynotice.New(st, clk, bytes.Repeat([]byte{3}, 32))
	return qrsignin.New(st, clk, bytes.Repeat([]byte{9}, 32), notices), clk
}

func count(t *testing.T, st *store.SQL, userID string, typ audit.Type) int {
	t.Helper()
	evs, err := st.Events(ctx, userID, 100)
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

func TestQRSignIn_ScanApproveComplete(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, _ := newService(t, st)
		tk, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		if !qrsignin.WellFormed(tk.ID) || !qrsignin.BindingWellFormed(tk.Binding) {
			t.Fatalf("ticket %+v is not of the documented form", tk)
		}
		// Looking changes nothing, however often.
		for range 3 {
			code, err := qr.Look(ctx, tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			if code.State != qrsignin.Pending || code.Asking.Browser != "chrome" || code.Asking.System != "windows" || code.Asking.IP != computer.IP {
				t.Fatalf("look = %+v, want a pending code asked by Chrome on Windows from %s", code, computer.IP)
			}
		}
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-session", phone); err != nil {
			t.Fatal(err)
		}
		code, _, err := qr.Watch(ctx, tk)
		if err != nil || code.State != qrsignin.Claimed {
			t.Fatalf("the computer sees %v (%v), want claimed", code.State, err)
		}
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-session", qr.FormToken("phone-session", tk.ID), phone); err != nil {
			t.Fatal(err)
		}
		user, err := qr.Complete(ctx, tk, computer)
		if err != nil || user != "alice" {
			t.Fatalf("complete = %q, %v; want alice", user, err)
		}
		if _, err := qr.Complete(ctx, tk, computer); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("a second completion gave %v, want ErrGone", err)
		}
		if n := count(t, st, "alice", audit.SignInQR); n != 1 {
			t.Fatalf("%d signin.qr events, want 1", n)
		}
		if n := count(t, st, "alice", audit.QRApproved); n != 1 {
			t.Fatalf("%d qr.approved events, want 1", n)
		}
		if _, err := st.LatestOutboxForUser(ctx, "alice", store.OutboxEmail, "security.notice"); err != nil {
			t.Fatalf("no security notice emailed to alice: %v", err)
		}
	})
}

func TestQRSignIn_RefusesWhatItMustRefuse(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, _ := newService(t, st)
		tk, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); err != nil {
			t.Fatal(err)
		}
		// A second scanner, even of the same account, gets a clear refusal.
		if err := qr.Claim(ctx, tk.ID, "bob", "phone-2", phone); !errors.Is(err, qrsignin.ErrTaken) {
			t.Fatalf("second scanner: %v, want ErrTaken", err)
		}
		// The same phone tapping again is no error.
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); err != nil {
			t.Fatalf("second tap of the claiming phone: %v", err)
		}
		// The computer cannot complete before the approval.
		if _, err := qr.Complete(ctx, tk, computer); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("complete before approval: %v, want ErrGone", err)
		}
		// Another session, or no token, or another code's token, approves nothing.
		if err := qr.Approve(ctx, tk.ID, "bob", "phone-2", qr.FormToken("phone-2", tk.ID), phone); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("approval by another session: %v, want ErrGone", err)
		}
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-1", "", phone); !errors.Is(err, qrsignin.ErrForged) {
			t.Fatalf("approval without the form's token: %v, want ErrForged", err)
		}
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-2", tk.ID), phone); !errors.Is(err, qrsignin.ErrForged) {
			t.Fatalf("approval with another session's token: %v, want ErrForged", err)
		}
		// A wrong binding sees nothing; the id alone completes nothing.
		if _, _, err := qr.Watch(ctx, qrsignin.Ticket{Binding: tk.ID, ID: tk.ID}); !errors.Is(err, qrsignin.ErrNotFound) {
			t.Fatalf("watch without the binding: %v, want ErrNotFound", err)
		}
		// Deny ends it for good.
		if err := qr.Deny(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-1", tk.ID), true, phone); err != nil {
			t.Fatal(err)
		}
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-1", tk.ID), phone); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("approval after denial: %v, want ErrGone", err)
		}
		if code, _, _ := qr.Watch(ctx, tk); code.State != qrsignin.Denied {
			t.Fatalf("the computer sees %v, want denied", code.State)
		}
		if n := count(t, st, "alice", audit.QRNotMe); n != 1 {
			t.Fatalf("%d qr.not_me events, want 1", n)
		}
		// The denial gave the account's claim back: another code may be claimed.
		tk2, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		if err := qr.Claim(ctx, tk2.ID, "alice", "phone-1", phone); err != nil {
			t.Fatalf("claim after a denial: %v", err)
		}
	})
}

func TestQRSignIn_TimesRunOut(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, clk := newService(t, st)
		tk, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		// A pending code is replaced every 2 minutes, at most 5 times, within 10 minutes in all.
		ids := map[string]bool{tk.ID: true}
		for i := 1; ; i++ {
			clk.Advance(qrsignin.PendingTTL)
			code, next, err := qr.Watch(ctx, tk)
			if err != nil {
				t.Fatal(err)
			}
			if code.State == qrsignin.Expired {
				if i-1 != 4 { // 10 minutes: the first code and four new ones
					t.Fatalf("expired after %d refreshes, want 4 within the 10 minutes", i-1)
				}
				break
			}
			if code.State != qrsignin.Pending || ids[next.ID] {
				t.Fatalf("refresh %d: %v with id seen before %v", i, code.State, ids[next.ID])
			}
			if _, err := qr.Look(ctx, tk.ID); !errors.Is(err, qrsignin.ErrNotFound) {
				t.Fatalf("the replaced code still answers: %v", err)
			}
			ids[next.ID] = true
			tk = next
		}
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("claim of an expired code: %v, want ErrGone", err)
		}

		// A claim not approved within 60 s runs out, and frees the account's claim.
		tk, _ = qr.Start(ctx, computer)
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); err != nil {
			t.Fatal(err)
		}
		clk.Advance(qrsignin.ClaimTTL)
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-1", tk.ID), phone); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("approval after 60 s: %v, want ErrGone", err)
		}
		if code, _, _ := qr.Watch(ctx, tk); code.State != qrsignin.Expired {
			t.Fatalf("the computer sees %v, want expired", code.State)
		}
		tk, _ = qr.Start(ctx, computer)
		if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); err != nil {
			t.Fatalf("claim after the last one ran out: %v", err)
		}
		// An approval not completed within its time completes nothing.
		if err := qr.Approve(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-1", tk.ID), phone); err != nil {
			t.Fatal(err)
		}
		clk.Advance(qrsignin.ApprovedTTL)
		if _, err := qr.Complete(ctx, tk, computer); !errors.Is(err, qrsignin.ErrGone) {
			t.Fatalf("completion after its time: %v, want ErrGone", err)
		}
	})
}

// burst runs fn parallel times at once and counts the nil answers and the errors that are want.
func burst(t *testing.T, fn func(i int) error, want error) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, want):
				t.Errorf("request %d: %v, want nil or %v", i, err, want)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

func TestQRSignIn_LimitsHoldUnderParallelRequests(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, clk := newService(t, st)
		// 10 new codes a minute per client IP.
		if n := burst(t, func(int) error { _, err := qr.Start(ctx, computer); return err }, qrsignin.ErrTooManyCodes); n != qrsignin.CodesPerMinute {
			t.Fatalf("%d codes started in a burst, want %d", n, qrsignin.CodesPerMinute)
		}
		clk.Advance(time.Minute)

		// The first of many scanners of one code wins.
		tk, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		users := []string{"alice", "bob"}
		if n := burst(t, func(i int) error {
			err := qr.Claim(ctx, tk.ID, users[i%2], fmt.Sprintf("phone-%d", i), phone)
			if errors.Is(err, qrsignin.ErrBusy) {
				return qrsignin.ErrTaken // the winner's account is busy with this very code
			}
			return err
		}, qrsignin.ErrTaken); n != 1 {
			t.Fatalf("%d scanners claimed one code, want 1", n)
		}
		code, _ := qr.Look(ctx, tk.ID)
		_ = qr.Deny(ctx, tk.ID, code.UserID, code.ClaimedBy, qr.FormToken(code.ClaimedBy, tk.ID), false, phone)
		clk.Advance(time.Minute)

		// One claimed code per account at a time: of many codes scanned at once, one is claimed.
		tickets := make([]qrsignin.Ticket, 0, parallel)
		for len(tickets) < parallel {
			for range qrsignin.CodesPerMinute {
				tk, err := qr.Start(ctx, audit.Client{IP: fmt.Sprintf("192.0.2.%d", len(tickets)/10), UserAgent: computer.UserAgent})
				if err != nil {
					t.Fatal(err)
				}
				tickets = append(tickets, tk)
			}
		}
		if n := burst(t, func(i int) error { return qr.Claim(ctx, tickets[i].ID, "alice", "phone-1", phone) }, qrsignin.ErrBusy); n != 1 {
			t.Fatalf("%d codes claimed at once for one account, want 1", n)
		}

		// Approving one claim many times at once lets the computer in once.
		var claimed qrsignin.Ticket
		for _, tk := range tickets {
			if c, _ := qr.Look(ctx, tk.ID); c.State == qrsignin.Claimed {
				claimed = tk
			}
		}
		token := qr.FormToken("phone-1", claimed.ID)
		if n := burst(t, func(int) error { return qr.Approve(ctx, claimed.ID, "alice", "phone-1", token, phone) }, qrsignin.ErrGone); n != 1 {
			t.Fatalf("%d approvals of one claim, want 1", n)
		}
		if n := burst(t, func(int) error { _, err := qr.Complete(ctx, claimed, computer); return err }, qrsignin.ErrGone); n != 1 {
			t.Fatalf("%d completions of one approval, want 1", n)
		}

		// 5 approvals an hour per account: the 1st above and 4 more, then none.
		rest := make([]qrsignin.Ticket, 0, parallel)
		for _, tk := range tickets {
			if tk != claimed {
				rest = append(rest, tk)
			}
		}
		for i := range qrsignin.ApprovalsPerHour {
			tk := rest[i]
			if err := qr.Claim(ctx, tk.ID, "alice", "phone-1", phone); err != nil {
				t.Fatal(err)
			}
			err := qr.Approve(ctx, tk.ID, "alice", "phone-1", qr.FormToken("phone-1", tk.ID), phone)
			if i < qrsignin.ApprovalsPerHour-1 && err != nil {
				t.Fatalf("approval %d: %v", i+2, err)
			}
			if i == qrsignin.ApprovalsPerHour-1 && !errors.Is(err, qrsignin.ErrTooManyApproval) {
				t.Fatalf("approval %d: %v, want ErrTooManyApproval", i+2, err)
			}
		}
	})
}

// Many watches of a code that ran out, at once (tabs, instances), replace it once, and none of
// them expires the new code.
func TestQRSignIn_RacingWatchesRefreshOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, clk := newService(t, st)
		tk, err := qr.Start(ctx, computer)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(qrsignin.PendingTTL)
		var mu sync.Mutex
		ids := map[string]bool{}
		burst(t, func(int) error {
			code, next, err := qr.Watch(ctx, tk)
			if err != nil {
				return err
			}
			if code.State != qrsignin.Pending {
				return fmt.Errorf("a watch saw %s", code.State)
			}
			mu.Lock()
			defer mu.Unlock()
			if next != tk {
				ids[next.ID] = true
			}
			return nil
		}, nil)
		if len(ids) != 1 {
			t.Fatalf("%d new codes, want 1", len(ids))
		}
		for id := range ids {
			if c, err := qr.Look(ctx, id); err != nil || c.State != qrsignin.Pending || c.Refreshes != 1 {
				t.Fatalf("the new code: %+v, %v; want pending after one refresh", c, err)
			}
		}
	})
}

// Cancelling a claimed code gives the account's claim back.
func TestQRSignIn_CancelGivesTheClaimBack(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		qr, _ := newService(t, st)
		a, _ := qr.Start(ctx, computer)
		b, _ := qr.Start(ctx, computer)
		if err := qr.Claim(ctx, a.ID, "alice", "phone-1", phone); err != nil {
			t.Fatal(err)
		}
		if err := qr.Claim(ctx, b.ID, "alice", "phone-1", phone); !errors.Is(err, qrsignin.ErrBusy) {
			t.Fatalf("a second claim: %v, want ErrBusy", err)
		}
		if err := qr.Cancel(ctx, a); err != nil {
			t.Fatal(err)
		}
		if c, _, _ := qr.Watch(ctx, a); c.State != qrsignin.Cancelled {
			t.Fatalf("the cancelled sign-in reads %s", c.State)
		}
		if err := qr.Claim(ctx, b.ID, "alice", "phone-1", phone); err != nil {
			t.Fatalf("a claim after the cancel: %v", err)
		}
	})
}

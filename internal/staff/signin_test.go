package staff_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// A staff member sets up an authenticator app from the setup link, then signs in with its codes:
// each code once, wrong codes limited, and a user's factor never signs staff in.
func TestStaffTOTP_SetUpThenSignIn(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		svc := newService(t, st, clk)
		m, token, err := svc.Add(ctx, staff.CLI("ops"), "eve@example.com", staff.Agent, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SignInTOTP(ctx, "eve@example.com", "123456", "192.0.2.1"); !errors.Is(err, staff.ErrSignInFailed) {
			t.Fatalf("sign-in before setup: %v", err)
		}
		setup, err := svc.BeginTOTPSetup(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if issuer, account := setup.Key.Names(); issuer != "Portal" || account != "eve@example.com" {
			t.Errorf("the app shows %q / %q", issuer, account)
		}
		if err := svc.FinishTOTPSetup(ctx, token, m, setup.Key.Secret, setup.Ceremony, "000000", "192.0.2.1"); !errors.Is(err, staff.ErrWrongCode) {
			t.Fatalf("wrong first code: %v", err)
		}
		code, _ := totp.CodeAt(setup.Key.Secret, clk.Now())
		if err := svc.FinishTOTPSetup(ctx, token, m, setup.Key.Secret, setup.Ceremony, code, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := svc.FinishTOTPSetup(ctx, token, m, setup.Key.Secret, setup.Ceremony, code, "192.0.2.1"); !errors.Is(err, staff.ErrSetupExpired) && !errors.Is(err, staff.ErrLinkUsed) {
			t.Errorf("second finish: %v", err)
		}
		if fs, _ := st.StaffFactors(ctx, m.ID); len(fs) != 1 || fs[0].Kind != "totp" {
			t.Fatalf("staff factors: %+v", fs)
		}
		// The setup's code is used: the next one signs in, once.
		if _, err := svc.SignInTOTP(ctx, "eve@example.com", code, "192.0.2.1"); !errors.Is(err, staff.ErrSignInFailed) {
			t.Errorf("the setup's code signed in: %v", err)
		}
		clk.Advance(30 * time.Second)
		code, _ = totp.CodeAt(setup.Key.Secret, clk.Now())
		got, err := svc.SignInTOTP(ctx, " EVE@example.com", code, "192.0.2.1")
		if err != nil || got.ID != m.ID || got.Status != staff.Active {
			t.Fatalf("sign in: %+v %v", got, err)
		}
		if _, err := svc.SignInTOTP(ctx, "eve@example.com", code, "192.0.2.1"); !errors.Is(err, staff.ErrSignInFailed) {
			t.Errorf("a code signed in twice: %v", err)
		}
		log, _ := svc.Audit(ctx, staff.Filter{StaffID: m.ID})
		if len(log) != 2 || log[0].Action != string(staff.ActionSignIn) || log[1].Action != string(staff.ActionSetUp) || log[0].ClientIP != "192.0.2.1" {
			t.Errorf("log: %+v", log)
		}

		// The staff member's secret is theirs alone: as a user's factor it opens nothing.
		if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "u1", Phone: "+8613800000001", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
			t.Fatal(err)
		}
		fs, _ := st.StaffFactors(ctx, m.ID)
		stolen := fs[0]
		stolen.UserID = "u1"
		clk.Advance(30 * time.Second)
		code, _ = totp.CodeAt(setup.Key.Secret, clk.Now())
		if _, err := totpService(t, st).Match(stolen, code, clk.Now()); err == nil {
			t.Error("a staff secret opened as a user's")
		}

		// Five wrong codes lock the email for a while, even with the right one.
		for range 5 {
			svc.SignInTOTP(ctx, "eve@example.com", "000000", "192.0.2.1")
		}
		if _, err := svc.SignInTOTP(ctx, "eve@example.com", code, "192.0.2.1"); !errors.As(err, new(limit.ErrLocked)) {
			t.Errorf("after five wrong codes: %v", err)
		}
		// A disabled member cannot sign in.
		clk.Advance(time.Hour)
		if err := svc.Disable(ctx, staff.CLI("ops"), m.ID, "left"); err != nil {
			t.Fatal(err)
		}
		code, _ = totp.CodeAt(setup.Key.Secret, clk.Now())
		if _, err := svc.SignInTOTP(ctx, "eve@example.com", code, "192.0.2.1"); !errors.Is(err, staff.ErrSignInFailed) {
			t.Errorf("a disabled member signed in: %v", err)
		}
	})
}

// Staff sign-in answers are limited exactly under parallel requests, on SQLite, PostgreSQL and two
// instances on one PostgreSQL: of 60 wrong codes at once exactly five are checked (four told wrong,
// the fifth locks, the rest meet the lock), and the right code after the lock is refused; of 60
// requests carrying one right code at once exactly one signs in, and the losers count as no wrong
// answer (four wrong codes afterwards still leave sign-in open, the fifth locks).
func TestStaffTOTP_ParallelSignInsHoldTheLimits(t *testing.T) {
	const parallel = 60
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		var svcs []*staff.Service
		for _, st := range stores {
			svcs = append(svcs, newService(t, st, clk))
		}
		setUp := func(email string) string {
			m, token, err := svcs[0].Add(ctx, staff.CLI("ops"), email, staff.Agent, "")
			if err != nil {
				t.Fatal(err)
			}
			setup, err := svcs[0].BeginTOTPSetup(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := totp.CodeAt(setup.Key.Secret, clk.Now())
			if err := svcs[0].FinishTOTPSetup(ctx, token, m, setup.Key.Secret, setup.Ceremony, code, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			clk.Advance(30 * time.Second)
			return setup.Key.Secret
		}
		codes := func(secret string) (right, wrong string) {
			right, _ = totp.CodeAt(secret, clk.Now())
			return right, string(rune('0'+(right[0]-'0'+1)%10)) + right[1:]
		}
		burst := func(email, code string) (ok, told, locked int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := range parallel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := svcs[i%len(svcs)].SignInTOTP(ctx, email, code, fmt.Sprintf("10.7.0.%d", i))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, staff.ErrSignInFailed):
						told++
					case errors.As(err, new(limit.ErrLocked)):
						locked++
					default:
						t.Errorf("sign-in: %v", err)
					}
				}()
			}
			wg.Wait()
			return ok, told, locked
		}

		right, wrong := codes(setUp("ann@example.com"))
		if ok, told, locked := burst("ann@example.com", wrong); ok != 0 || told != 4 || locked != parallel-4 {
			t.Errorf("%d wrong codes at once: %d signed in, %d told wrong, %d locked; want 0, 4, %d", parallel, ok, told, locked, parallel-4)
		}
		if _, err := svcs[0].SignInTOTP(ctx, "ann@example.com", right, "10.7.1.1"); !errors.As(err, new(limit.ErrLocked)) {
			t.Errorf("the right code after the lock: %v, want the lock", err)
		}

		secret := setUp("bo@example.com")
		right, _ = codes(secret)
		if ok, _, _ := burst("bo@example.com", right); ok != 1 {
			t.Errorf("one right code %d times at once signed in %d times, want once", parallel, ok)
		}
		clk.Advance(30 * time.Second)
		_, wrong = codes(secret)
		for i := 1; i <= 5; i++ {
			_, err := svcs[0].SignInTOTP(ctx, "bo@example.com", wrong, "10.7.1.2")
			if locked := errors.As(err, new(limit.ErrLocked)); locked != (i == 5) {
				t.Fatalf("wrong code %d after the race: %v", i, err)
			}
		}
	})
}

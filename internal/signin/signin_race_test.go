package signin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// parallel is how many requests a burst sends at once.
const parallel = 60

// fixture is alice with an authenticator app, an email factor and recovery codes, and a sign-in
// service on each handle of a deployment, sharing one clock and keys.
type fixture struct {
	stores   []*store.SQL
	svcs     []*signin.Service
	clk      *clock.Fake
	secret   string   // the authenticator app's secret
	recovery []string // alice's recovery codes

	mu    sync.Mutex
	email string // the last email sign-in code sent
}

func newFixture(t *testing.T, stores []*store.SQL) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{stores: stores, clk: clock.NewFake(t0)}
	st := stores[0]
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001",
		Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New([]keyring.EncKey{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	ids := campaign.NewIDHasher(bytes.Repeat([]byte{5}, 32))
	recoveryKey := bytes.Repeat([]byte{3}, 32)
	set := identity.Settings{CodeTTL: 10 * time.Minute, ResendWait: time.Minute, SendsPerHour: 5,
		MaxAttempts: 5, Lockout: 15 * time.Minute, ClientAttemptsHour: 1000}
	msg := func(u campaign.User, m identity.Message) (store.OutboxItem, error) {
		f.mu.Lock()
		f.email = m.Code
		f.mu.Unlock()
		return identity.CodeMessage(u, m)
	}
	var totps *totp.Service
	for _, st := range stores {
		ident := identity.New(st, f.clk, bytes.Repeat([]byte{9}, 32), ids, set, msg)
		tp, err := totp.New(st, box, "smsretire test")
		if err != nil {
			t.Fatal(err)
		}
		totps = tp
		f.svcs = append(f.svcs, signin.New(st, f.clk, ident, tp, ident.Limits(), recovery.New(st, recoveryKey, securitynotice.New(st, f.clk, bytes.Repeat([]byte{3}, 32)))))
	}

	key, err := totps.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	f.secret = key.Secret
	enrolled := t0.Add(-2 * time.Minute)
	first, _ := totp.CodeAt(f.secret, enrolled)
	app, err := totps.Confirm("alice", "phone app", f.secret, first, enrolled)
	if err != nil {
		t.Fatal(err)
	}
	codes, hashes, err := recovery.New(st, recoveryKey, nil).NewSet("alice")
	if err != nil {
		t.Fatal(err)
	}
	f.recovery = codes
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.InsertFactor(ctx, app); err != nil {
			return err
		}
		if _, err := tx.InsertFactor(ctx, store.Factor{UserID: "alice", Kind: store.FactorEmail, Name: "mail", Email: "alice@example.com", CreatedAt: enrolled}); err != nil {
			return err
		}
		return tx.ReplaceRecoveryCodes(ctx, "alice", hashes, enrolled)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) totpCode(t *testing.T) (right, wrong string) {
	t.Helper()
	right, err := totp.CodeAt(f.secret, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"000000", "111111", "222222"} {
		if _, ok := totp.Validate(f.secret, w, f.clk.Now()); !ok {
			return right, w
		}
	}
	t.Fatal("no wrong code found")
	return "", ""
}

// burst calls fn n times at once, released together, and returns the errors by call.
func burst(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// way is a way to sign in: prepare returns the right and a wrong answer; failedEvent is the
// history entry of a wrong one.
type way struct {
	name        string
	method      string
	failedEvent audit.Type
	prepare     func(t *testing.T, f *fixture) (right, wrong string)
	answer      func(svc *signin.Service, answer string, c audit.Client) error
}

func ways() []way {
	ctx := context.Background()
	return []way{
		{"authenticator app", signin.MethodTOTP, audit.SignInFailed, func(t *testing.T, f *fixture) (string, string) { return f.totpCode(t) },
			func(svc *signin.Service, code string, c audit.Client) error {
				_, err := svc.TOTP(ctx, "alice", code, c)
				return err
			}},
		{"email code", signin.MethodEmail, audit.VerifyFailed, func(t *testing.T, f *fixture) (string, string) {
			if _, err := f.svcs[0].SendEmailCode(ctx, "alice", audit.Client{IP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.email == "000000" {
				return f.email, "111111"
			}
			return f.email, "000000"
		}, func(svc *signin.Service, code string, c audit.Client) error {
			_, err := svc.EmailCode(ctx, identity.ForUser("alice", false), code, c)
			return err
		}},
		{"recovery code", signin.MethodRecovery, audit.SignInFailed, func(t *testing.T, f *fixture) (string, string) {
			other, err := recovery.Generate()
			if err != nil {
				t.Fatal(err)
			}
			return f.recovery[0], other[0]
		}, func(svc *signin.Service, code string, c audit.Client) error {
			_, err := svc.Recovery(ctx, "alice", code, c)
			return err
		}},
	}
}

func countFailed(t *testing.T, st *store.SQL, typ audit.Type, method string) int {
	t.Helper()
	evs, err := st.Events(context.Background(), "alice", 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ && e.Detail["method"] == method && e.Detail["reason"] != "used" && e.Detail["reason"] != "expired" {
			n++
		}
	}
	return n
}

// Sixty wrong sign-in answers at once are checked exactly five times, the fifth locks, and the
// right answer after the lock is refused: for every way to sign in that takes a typed answer.
func TestSignInLimits_ParallelWrongAnswersEvaluateExactlyTheLimit(t *testing.T) {
	for _, w := range ways() {
		t.Run(w.name, func(t *testing.T) {
			testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
				f := newFixture(t, stores)
				right, wrong := w.prepare(t, f)
				errs := burst(parallel, func(i int) error {
					return w.answer(f.svcs[i%len(f.svcs)], wrong, audit.Client{IP: fmt.Sprintf("10.7.0.%d", i)})
				})
				told, locked := 0, 0
				for _, err := range errs {
					var l limit.ErrLocked
					var wr limit.ErrWrong
					switch {
					case errors.Is(err, signin.ErrFailed) || errors.As(err, &wr):
						told++
					case errors.As(err, &l):
						locked++
					default:
						t.Errorf("answer: %v", err)
					}
				}
				if n := countFailed(t, stores[0], w.failedEvent, w.method); n != 5 || told != 4 || locked != parallel-4 {
					t.Errorf("%d wrong answers checked (history); %d told wrong and %d locked, want 5; 4 and %d", n, told, locked, parallel-4)
				}
				var l limit.ErrLocked
				if err := w.answer(f.svcs[len(f.svcs)-1], right, audit.Client{IP: "10.7.1.1"}); !errors.As(err, &l) {
					t.Errorf("the right answer after the lock: %v, want locked", err)
				}
			})
		})
	}
}

// The same right answer sent sixty times at once signs in once, and the requests that lost the
// race count as no wrong answer: four wrong ones afterwards still leave the method open.
func TestSignInLimits_RacingRightAnswersCountNoWrongAnswer(t *testing.T) {
	for _, w := range ways() {
		t.Run(w.name, func(t *testing.T) {
			testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
				f := newFixture(t, stores)
				right, wrong := w.prepare(t, f)
				errs := burst(parallel, func(i int) error {
					return w.answer(f.svcs[i%len(f.svcs)], right, audit.Client{IP: fmt.Sprintf("10.6.0.%d", i)})
				})
				won := 0
				for _, err := range errs {
					if err == nil {
						won++
					}
				}
				if won != 1 {
					t.Errorf("signed in %d times with one code, want once", won)
				}
				if n := countFailed(t, stores[0], w.failedEvent, w.method); n != 0 {
					t.Errorf("%d wrong answers recorded, want none", n)
				}
				for i := 1; i <= 5; i++ {
					err := w.answer(f.svcs[0], wrong, audit.Client{IP: "10.6.1.1"})
					var l limit.ErrLocked
					if locked := errors.As(err, &l); locked != (i == 5) {
						t.Fatalf("wrong answer %d after the race: %v", i, err)
					}
				}
			})
		})
	}
}

// Someone who knows alice's account locks her authenticator app; she is not stuck: a recovery
// code or a passkey signs her in, and that ends the lock.
func TestSignIn_AnotherFactorEndsTheAuthenticatorLock(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		f := newFixture(t, []*store.SQL{st})
		svc := f.svcs[0]
		attacker := audit.Client{IP: "198.51.100.66"}
		lock := func() {
			t.Helper()
			_, wrong := f.totpCode(t)
			for range 5 {
				svc.TOTP(ctx, "alice", wrong, attacker)
			}
			right, _ := f.totpCode(t)
			var l limit.ErrLocked
			if _, err := svc.TOTP(ctx, "alice", right, audit.Client{IP: "192.0.2.5"}); !errors.As(err, &l) {
				t.Fatalf("the app after five wrong codes: %v, want locked", err)
			}
		}
		lock()
		if _, err := svc.Recovery(ctx, "alice", f.recovery[1], audit.Client{IP: "192.0.2.5"}); err != nil {
			t.Fatalf("recovery code while the app is locked: %v", err)
		}
		f.clk.Advance(30 * time.Second)
		right, _ := f.totpCode(t)
		if _, err := svc.TOTP(ctx, "alice", right, audit.Client{IP: "192.0.2.5"}); err != nil {
			t.Fatalf("the app after a recovery code sign-in: %v", err)
		}

		f.clk.Advance(30 * time.Second)
		lock()
		res, err := svc.Passkey(ctx, passkey.Login{UserID: "alice", Factor: store.Factor{BackupEligible: true}, UserVerified: true}, audit.Client{IP: "192.0.2.5"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(res.Methods, " ") != "swk user" {
			t.Errorf("amr of a synced passkey with user verification = %v, want swk user", res.Methods)
		}
		f.clk.Advance(30 * time.Second)
		right, _ = f.totpCode(t)
		if _, err := svc.TOTP(ctx, "alice", right, audit.Client{IP: "192.0.2.5"}); err != nil {
			t.Fatalf("the app after a passkey sign-in: %v", err)
		}
	})
}

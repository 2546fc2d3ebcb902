package identity_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// parallel is how many requests a burst sends at once.
const parallel = 60

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

// services returns the fixture's service on each handle of the deployment.
func services(f *fixture, stores []*store.SQL) []*identity.Service {
	out := []*identity.Service{f.svc}
	for _, st := range stores[1:] {
		out = append(out, f.on(st))
	}
	return out
}

func countCodes(t *testing.T, st *store.SQL, userID, purpose string) int {
	t.Helper()
	var n int
	q := map[store.Dialect]string{store.SQLite: `SELECT COUNT(*) FROM codes WHERE user_id = ? AND purpose = ?`,
		store.Postgres: `SELECT COUNT(*) FROM codes WHERE user_id = $1 AND purpose = $2`}[st.Dialect()]
	if err := st.DB().QueryRow(q, userID, purpose).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// countEvents counts the user's history events of a type for a method; for failures only those
// that count against the limits (not an expired or used-up right code).
func countEvents(t *testing.T, st *store.SQL, userID string, typ audit.Type, method string) int {
	t.Helper()
	evs, err := st.Events(context.Background(), userID, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ && e.Detail["method"] == method && e.Detail["reason"] != "expired" && e.Detail["reason"] != "used" {
			n++
		}
	}
	return n
}

// Sixty requests at once for one account, spread over the deployment's instances and coming from
// sixty addresses, send exactly one code a minute and five in the hour.
func TestLimits_ParallelSendsTakeOneCodeAMinuteAndFiveAnHour(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		ctx := context.Background()
		f := newFixture(t, stores[0], nil)
		svcs := services(f, stores)
		sub := identity.ForUser("alice", true)
		for round := 1; round <= 6; round++ {
			errs := burst(parallel, func(i int) error {
				c := identity.Client{IP: fmt.Sprintf("10.%d.0.%d", round, i)}
				_, err := svcs[i%len(svcs)].SendCode(ctx, sub, identity.MethodPhone, c)
				return err
			})
			var ok, wait, capped int
			for _, err := range errs {
				var w identity.ErrResendWait
				var c identity.ErrSendLimit
				switch {
				case err == nil:
					ok++
				case errors.As(err, &w):
					wait++
				case errors.As(err, &c):
					capped++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}
			want := min(round, 5)
			if sent := countCodes(t, stores[0], "alice", "verify_phone"); sent != want {
				t.Errorf("round %d: %d codes sent in all, want %d (this round: %d sent, %d told to wait, %d over the hourly limit)", round, sent, want, ok, wait, capped)
			}
			switch {
			case round <= 5 && (ok != 1 || wait != parallel-1):
				t.Errorf("round %d: %d sent and %d told to wait, want 1 and %d", round, ok, wait, parallel-1)
			case round == 6 && capped != parallel:
				t.Errorf("round 6: %d told the hourly limit, want all %d (%d sent)", capped, parallel, ok)
			}
			f.clk.Advance(61 * time.Second)
		}
	})
}

// One client asking codes for sixty accounts at once gets exactly its hourly number of sends.
func TestLimits_ParallelSendsFromOneClientStopAtItsHourlyLimit(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		ctx := context.Background()
		f := newFixture(t, stores[0], func(s *identity.Settings) { s.ClientSendsHour = 10 })
		svcs := services(f, stores)
		c := identity.Client{IP: "203.0.113.7"}
		errs := burst(parallel, func(i int) error {
			sub, err := svcs[i%len(svcs)].Find(ctx, fmt.Sprintf("nobody-%d", i))
			if err != nil {
				return err
			}
			_, err = svcs[i%len(svcs)].SendCode(ctx, sub, identity.MethodPhone, c)
			return err
		})
		ok, limited := 0, 0
		for _, err := range errs {
			var l identity.ErrClientLimited
			switch {
			case err == nil:
				ok++
			case errors.As(err, &l):
				limited++
			default:
				t.Error(err)
			}
		}
		if ok != 10 || limited != parallel-10 {
			t.Errorf("%d sends went ahead and %d were refused, want 10 and %d", ok, limited, parallel-10)
		}
	})
}

// answerCase is a way to answer for alice: prepare issues what the right answer is, answer
// gives one.
type answerCase struct {
	name    string
	method  string
	prepare func(t *testing.T, f *fixture) (right, wrong string)
	answer  func(svc *identity.Service, st *store.SQL, answer string, c identity.Client) error
}

func answerCases() []answerCase {
	ctx := context.Background()
	alice := identity.ForUser("alice", true)
	sendCode := func(ch identity.Method) func(t *testing.T, f *fixture) (string, string) {
		return func(t *testing.T, f *fixture) (string, string) {
			if _, err := f.svc.SendCode(ctx, alice, ch, client); err != nil {
				t.Fatal(err)
			}
			code := f.code("alice", ch)
			return code, wrongOf(code)
		}
	}
	checkCode := func(ch identity.Method) func(*identity.Service, *store.SQL, string, identity.Client) error {
		return func(svc *identity.Service, _ *store.SQL, code string, c identity.Client) error {
			_, err := svc.CheckCode(ctx, alice, ch, code, c)
			return err
		}
	}
	return []answerCase{
		{"phone code", "phone", sendCode(identity.MethodPhone), checkCode(identity.MethodPhone)},
		{"email code", "email", sendCode(identity.MethodEmail), checkCode(identity.MethodEmail)},
		{"assist code", "assist", func(t *testing.T, f *fixture) (string, string) {
			code, _, err := f.svc.IssueAssistCode(ctx, "alice", "staff:wang", client)
			if err != nil {
				t.Fatal(err)
			}
			if code == "00000000" {
				return code, "11111111"
			}
			return code, "00000000"
		}, func(svc *identity.Service, _ *store.SQL, code string, c identity.Client) error {
			_, err := svc.CheckAssist(ctx, alice, code, c)
			return err
		}},
		{"knowledge check", "knowledge", func(*testing.T, *fixture) (string, string) { return "123X", "9999" },
			func(svc *identity.Service, _ *store.SQL, last4 string, c identity.Client) error {
				_, err := svc.CheckKnowledge(ctx, alice, "13800000001", last4, c)
				return err
			}},
		{"email factor confirmation", "enroll_email", func(t *testing.T, f *fixture) (string, string) {
			if _, err := f.svc.SendEnrollEmailCode(ctx, "alice", "new@example.com", client); err != nil {
				t.Fatal(err)
			}
			code := f.code("alice", identity.MethodEmail)
			return code, wrongOf(code)
		}, func(svc *identity.Service, st *store.SQL, code string, c identity.Client) error {
			m, err := svc.MatchEnrollEmailCode(ctx, "alice", code, c)
			if err != nil {
				return err
			}
			return st.InTx(ctx, func(tx *store.Tx) error { return m.Consume(ctx, tx, t0) })
		}},
	}
}

// Sixty wrong answers at once for one account are evaluated exactly five times, the fifth
// locks, and the right answer after the lock is refused: for every way of verifying, on every
// deployment.
func TestLimits_ParallelWrongAnswersEvaluateExactlyTheLimit(t *testing.T) {
	for _, tc := range answerCases() {
		t.Run(tc.name, func(t *testing.T) {
			testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
				f := newFixture(t, stores[0], nil)
				svcs := services(f, stores)
				right, wrong := tc.prepare(t, f)
				errs := burst(parallel, func(i int) error {
					c := identity.Client{IP: fmt.Sprintf("10.9.0.%d", i)}
					return tc.answer(svcs[i%len(svcs)], stores[i%len(stores)], wrong, c)
				})
				var remaining []int
				locked := 0
				for _, err := range errs {
					var w identity.ErrWrong
					var l identity.ErrLocked
					switch {
					case errors.As(err, &w):
						remaining = append(remaining, w.Remaining)
					case errors.As(err, &l):
						locked++
					default:
						t.Errorf("answer: %v", err)
					}
				}
				slices.Sort(remaining)
				evaluated := countEvents(t, stores[0], "alice", audit.VerifyFailed, tc.method)
				locks := countEvents(t, stores[0], "alice", audit.VerifyLocked, tc.method)
				if evaluated != 5 || locks != 1 || !slices.Equal(remaining, []int{1, 2, 3, 4}) || locked != parallel-4 {
					t.Errorf("%d wrong answers evaluated (history), %d locks; answers said attempts left %v and locked %d times; want 5, 1, [1 2 3 4], %d",
						evaluated, locks, remaining, locked, parallel-4)
				}
				var l identity.ErrLocked
				if err := tc.answer(svcs[len(svcs)-1], stores[len(stores)-1], right, identity.Client{IP: "10.9.1.1"}); !errors.As(err, &l) {
					t.Errorf("the right answer after the lock: %v, want locked", err)
				}
			})
		})
	}
}

// The same right code sent sixty times at once is used once, and the requests that lost the race
// count as no wrong answer against the owner.
func TestLimits_RacingRightCodesCountNoWrongAnswer(t *testing.T) {
	for _, tc := range answerCases() {
		if tc.method == "knowledge" {
			continue // not a single-use answer
		}
		t.Run(tc.name, func(t *testing.T) {
			testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
				f := newFixture(t, stores[0], nil)
				svcs := services(f, stores)
				right, wrong := tc.prepare(t, f)
				errs := burst(parallel, func(i int) error {
					return tc.answer(svcs[i%len(svcs)], stores[i%len(stores)], right, identity.Client{IP: fmt.Sprintf("10.8.0.%d", i)})
				})
				won := 0
				for _, err := range errs {
					var w identity.ErrWrong
					switch {
					case err == nil:
						won++
					case errors.As(err, &w):
						t.Errorf("a racing right code was told it is wrong: %v", err)
					}
				}
				if won != 1 {
					t.Errorf("the code was used %d times, want once", won)
				}
				if n := countEvents(t, stores[0], "alice", audit.VerifyFailed, tc.method); n != 0 {
					t.Errorf("%d wrong answers recorded, want none", n)
				}
				var w identity.ErrWrong
				if err := tc.answer(f.svc, stores[0], wrong, identity.Client{IP: "10.8.1.1"}); !errors.As(err, &w) || w.Remaining != 4 {
					t.Errorf("a wrong answer after the race: %v, want 4 attempts left", err)
				}
			})
		})
	}
}

// One client guessing for sixty accounts at once is evaluated exactly its hourly number of times.
func TestLimits_ParallelGuessesFromOneClientStopAtItsHourlyLimit(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		ctx := context.Background()
		f := newFixture(t, stores[0], func(s *identity.Settings) { s.ClientAttemptsHour = 10 })
		svcs := services(f, stores)
		c := identity.Client{IP: "203.0.113.8"}
		errs := burst(parallel, func(i int) error {
			svc := svcs[i%len(svcs)]
			sub, err := svc.Find(ctx, fmt.Sprintf("nobody-%d", i))
			if err != nil {
				return err
			}
			switch i % 3 { // the client limit counts every way of answering together
			case 0:
				_, err = svc.CheckCode(ctx, sub, identity.MethodPhone, "123456", c)
			case 1:
				_, err = svc.CheckAssist(ctx, sub, "12345678", c)
			default:
				_, err = svc.CheckKnowledge(ctx, sub, "13800000001", "1234", c)
			}
			return err
		})
		wrong, limited := 0, 0
		for _, err := range errs {
			var w identity.ErrWrong
			var l identity.ErrClientLimited
			switch {
			case errors.As(err, &w):
				wrong++
			case errors.As(err, &l):
				limited++
			default:
				t.Error(err)
			}
		}
		if wrong != 10 || limited != parallel-10 {
			t.Errorf("%d guesses evaluated and %d refused, want 10 and %d", wrong, limited, parallel-10)
		}
	})
}

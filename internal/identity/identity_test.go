package identity_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0          = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	shanghai, _ = time.LoadLocation("Asia/Shanghai")
	ids         = campaign.NewIDHasher(bytes.Repeat([]byte{5}, 32))
	client      = audit.Client{IP: "192.0.2.10", UserAgent: "test"}
)

// fixture is a verification service over a real store with two users and a fake clock; sent
// codes are captured from the messages the service builds.
type fixture struct {
	svc   *identity.Service
	st    *store.SQL
	clk   *clock.Fake
	mu    sync.Mutex
	codes map[string]string // user ID + channel → last code sent
	set   identity.Settings
	msg   identity.MessageFunc
}

func newFixture(t testing.TB, st *store.SQL, mod func(*identity.Settings)) *fixture {
	t.Helper()
	f := &fixture{st: st, clk: clock.NewFake(t0), codes: map[string]string{}}
	entries := []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}, IDLast4Hash: ids.Hash("alice", "123X")},
		{ID: "late", Phone: "+8613800000002", Deadline: campaign.Date{Year: 2026, Month: 11, Day: 1}},
	}
	if _, err := st.UpsertUsers(context.Background(), entries, t0); err != nil {
		t.Fatal(err)
	}
	set := identity.Settings{CodeTTL: 10 * time.Minute, AssistTTL: time.Hour, ResendWait: time.Minute, SendsPerHour: 5,
		MaxAttempts: 5, Lockout: 15 * time.Minute, ClientAttemptsHour: 100, Location: shanghai}
	if mod != nil {
		mod(&set)
	}
	msg := func(u campaign.User, m identity.Message) (store.OutboxItem, error) {
		f.mu.Lock()
		f.codes[u.ID+"/"+string(m.Channel)] = m.Code
		f.mu.Unlock()
		return identity.CodeMessage(u, m)
	}
	f.set, f.msg = set, msg
	f.svc = f.on(st)
	return f
}

// on returns the fixture's service over another handle on the same database: a second instance.
func (f *fixture) on(st *store.SQL) *identity.Service {
	return identity.New(st, f.clk, bytes.Repeat([]byte{9}, 32), ids, f.set, f.msg)
}

func (f *fixture) code(userID string, ch identity.Method) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.codes[userID+"/"+string(ch)]
}

func wrongOf(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestSendAndCheckCode_VerifiesOnceAndRecordsHistory(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		sub := identity.ForUser("alice", true)
		sent, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client)
		if err != nil {
			t.Fatal(err)
		}
		if !sent.ExpiresAt.Equal(t0.Add(10*time.Minute)) || !sent.ResendAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("sent = %+v", sent)
		}
		code := f.code("alice", identity.MethodPhone)
		if len(code) != 6 {
			t.Fatalf("code %q", code)
		}
		var stored int
		st.DB().QueryRow(`SELECT COUNT(*) FROM codes WHERE code_hash = `+map[store.Dialect]string{store.SQLite: "?", store.Postgres: "$1"}[st.Dialect()], []byte(code)).Scan(&stored)
		if stored != 0 {
			t.Error("code stored in plain text")
		}
		u, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, code[:3]+" "+code[3:], client)
		if err != nil || u.State != campaign.StateVerified {
			t.Fatalf("check = %+v, %v", u, err)
		}
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, code, client); err == nil {
			t.Fatal("code accepted twice")
		}
		evs, _ := st.Events(ctx, "alice", 20)
		var types []audit.Type
		for _, e := range evs {
			types = append(types, e.Type)
		}
		want := map[audit.Type]bool{audit.VerifyCodeSent: false, audit.VerifySucceeded: false, audit.StateChanged: false, audit.VerifyFailed: false}
		for _, ty := range types {
			if _, ok := want[ty]; ok {
				want[ty] = true
			}
		}
		for ty, seen := range want {
			if !seen {
				t.Errorf("history lacks %s: %v", ty, types)
			}
		}
		if evs[len(evs)-1].Type != audit.RosterAdded {
			t.Errorf("oldest event = %s", evs[len(evs)-1].Type)
		}
	})
}

func TestCheckCode_RefusesExpired(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	sub := identity.ForUser("alice", true)
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(10 * time.Minute)
	if _, err := f.svc.CheckCode(ctx, sub, identity.MethodEmail, f.code("alice", identity.MethodEmail), client); !errors.Is(err, identity.ErrCodeExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}

func TestSendCode_NewCodeVoidsOld(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	sub := identity.ForUser("alice", true)
	f.svc.SendCode(ctx, sub, identity.MethodPhone, client)
	first := f.code("alice", identity.MethodPhone)
	f.clk.Advance(61 * time.Second)
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
		t.Fatal(err)
	}
	second := f.code("alice", identity.MethodPhone)
	if first == second {
		t.Skip("two random codes happened to be equal")
	}
	var wrong identity.ErrWrong
	if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, first, client); !errors.As(err, &wrong) {
		t.Fatalf("old code: err = %v", err)
	}
	if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, second, client); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

func TestSendCode_WaitsBeforeResendAndCapsPerHour(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	sub := identity.ForUser("alice", true)
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
		t.Fatal(err)
	}
	var wait identity.ErrResendWait
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); !errors.As(err, &wait) || !wait.Until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("resend at once: err = %v", err)
	}
	// Another channel is another purpose with its own wait; it counts towards the hour's five.
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); err != nil {
		t.Fatalf("email code right after the SMS: %v", err)
	}
	for i := 3; i <= 5; i++ {
		f.clk.Advance(61 * time.Second)
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	f.clk.Advance(61 * time.Second)
	var limit identity.ErrSendLimit
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); !errors.As(err, &limit) || !limit.Until.Equal(t0.Truncate(time.Hour).Add(time.Hour)) {
		t.Fatalf("sixth send: err = %v", err)
	}
	f.clk.Set(t0.Add(time.Hour))
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
		t.Fatalf("next hour: %v", err)
	}
}

// Each purpose waits for its own resend: verifying by email does not hold back the code that
// confirms an email factor a moment later, nor a sign-in code; the same purpose again waits.
func TestSend_EachPurposeHasItsOwnResendWait(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	sub := identity.ForUser("alice", true)
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendEnrollEmailCode(ctx, "alice", "new@example.com", client); err != nil {
		t.Fatalf("email factor code right after verifying by email: %v", err)
	}
	if _, err := f.svc.SendSignInEmailCode(ctx, sub, client); err != nil {
		t.Fatalf("sign-in code right after: %v", err)
	}
	var wait identity.ErrResendWait
	if _, err := f.svc.SendEnrollEmailCode(ctx, "alice", "other@example.com", client); !errors.As(err, &wait) {
		t.Fatalf("a second email factor code at once: err = %v, want the resend wait", err)
	}
	if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); !errors.As(err, &wait) {
		t.Fatalf("a second verification code at once: err = %v, want the resend wait", err)
	}
}

func TestSendCode_AtMostFiveInAnyHourAcrossTheClockHour(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	first := t0.Add(55 * time.Minute) // five sends before the clock hour ends, the sixth after
	for _, sub := range []identity.Subject{identity.ForUser("alice", true), {Key: "x:unknown"}} {
		f.clk.Set(first)
		for i := 1; i <= 5; i++ {
			if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
				t.Fatalf("%s: send %d: %v", sub.Key, i, err)
			}
			f.clk.Advance(61 * time.Second)
		}
		if f.clk.Now().Truncate(time.Hour).Equal(first.Truncate(time.Hour)) {
			t.Fatal("the sixth send is meant to fall in the next clock hour")
		}
		var limit identity.ErrSendLimit
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); !errors.As(err, &limit) || !limit.Until.Equal(first.Add(time.Hour)) {
			t.Fatalf("%s: sixth send within the hour: err = %v, want the limit until %s", sub.Key, err, first.Add(time.Hour))
		}
		f.clk.Set(first.Add(time.Hour))
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
			t.Fatalf("%s: an hour after the first send: %v", sub.Key, err)
		}
	}
}

func TestCheckCode_FiveWrongLockTheMethodFor15Minutes(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		sub := identity.ForUser("alice", true)
		f.svc.SendCode(ctx, sub, identity.MethodPhone, client)
		code := f.code("alice", identity.MethodPhone)
		for i := 1; i <= 4; i++ {
			var wrong identity.ErrWrong
			if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, wrongOf(code), client); !errors.As(err, &wrong) || wrong.Remaining != 5-i {
				t.Fatalf("attempt %d: err = %v", i, err)
			}
		}
		var locked identity.ErrLocked
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, wrongOf(code), client); !errors.As(err, &locked) || !locked.Until.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("fifth: err = %v", err)
		}
		// Locked: even the right code is refused, and so is a new send on that method.
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, code, client); !errors.As(err, &locked) {
			t.Fatalf("right code while locked: err = %v", err)
		}
		// Other methods stay open.
		f.clk.Advance(2 * time.Minute)
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodEmail, client); err != nil {
			t.Fatalf("email while phone locked: %v", err)
		}
		f.clk.Set(t0.Add(15 * time.Minute))
		f.clk.Advance(time.Second)
		if _, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, client); err != nil {
			t.Fatalf("send after lockout: %v", err)
		}
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, f.code("alice", identity.MethodPhone), client); err != nil {
			t.Fatalf("check after lockout: %v", err)
		}
	})
}

func TestUnknownAccount_FailsExactlyLikeAKnownOne(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	known, err := f.svc.Find(ctx, "alice")
	if err != nil || known.UserID != "alice" {
		t.Fatalf("find alice = %+v, %v", known, err)
	}
	byPhone, _ := f.svc.Find(ctx, "+86 138-0000-0001")
	if byPhone.UserID != "alice" {
		t.Fatalf("find by phone = %+v", byPhone)
	}
	unknown, err := f.svc.Find(ctx, "13999999999")
	if err != nil || unknown.UserID != "" || unknown.Key == "" {
		t.Fatalf("find unknown = %+v, %v", unknown, err)
	}
	again, _ := f.svc.Find(ctx, "139 9999 9999")
	if again.Key != unknown.Key {
		t.Error("the same unknown number gives different subjects")
	}
	run := func(sub identity.Subject) []string {
		var out []string
		_, err := f.svc.SendCode(ctx, sub, identity.MethodPhone, audit.Client{IP: "198.51.100." + sub.Key[:1]})
		out = append(out, errString(err))
		_, err = f.svc.SendCode(ctx, sub, identity.MethodPhone, audit.Client{IP: "198.51.100." + sub.Key[:1]})
		out = append(out, errString(err))
		for i := 0; i < 5; i++ {
			_, err = f.svc.CheckCode(ctx, sub, identity.MethodPhone, "000000", audit.Client{IP: "198.51.100." + sub.Key[:1]})
			out = append(out, errString(err))
		}
		return out
	}
	a, b := run(known), run(unknown)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("step %d: known %q, unknown %q", i, a[i], b[i])
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func TestPhoneMethod_ClosedAfterDeadline(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	if _, err := f.svc.SendCode(ctx, identity.ForUser("late", true), identity.MethodPhone, client); !errors.Is(err, identity.ErrMethodClosed) {
		t.Fatalf("identified: err = %v", err)
	}
	// A look-up gets the same answer as any account, and no SMS is sent.
	if _, err := f.svc.SendCode(ctx, identity.ForUser("late", false), identity.MethodPhone, audit.Client{IP: "203.0.113.1"}); err != nil {
		t.Fatalf("look-up: err = %v", err)
	}
	if f.code("late", identity.MethodPhone) != "" {
		t.Error("an SMS code was sent after the deadline")
	}
}

func TestKnowledgeCheck(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	sub := identity.ForUser("alice", false)
	var wrong identity.ErrWrong
	if _, err := f.svc.CheckKnowledge(ctx, sub, "13800000001", "1234", client); !errors.As(err, &wrong) {
		t.Fatalf("wrong digits: %v", err)
	}
	if _, err := f.svc.CheckKnowledge(ctx, sub, "13800000009", "123x", client); !errors.As(err, &wrong) {
		t.Fatalf("wrong phone: %v", err)
	}
	if _, err := f.svc.CheckKnowledge(ctx, sub, "abc", "12", client); !errors.Is(err, identity.ErrKnowledgeForm) {
		t.Fatalf("malformed: %v", err)
	}
	res, err := f.svc.CheckKnowledge(ctx, sub, "+86 138 0000 0001", "123x", client)
	if err != nil || res.Verified || res.User.State != campaign.StateNotified {
		t.Fatalf("right answer, not sufficient: %+v, %v", res, err)
	}

	f2 := newFixture(t, testsupport.SQLite(t), func(s *identity.Settings) { s.KnowledgeSuffices = true })
	res, err = f2.svc.CheckKnowledge(ctx, sub, "13800000001", "123X", client)
	if err != nil || !res.Verified || res.User.State != campaign.StateVerified {
		t.Fatalf("right answer, sufficient: %+v, %v", res, err)
	}
}

func TestAssistCode_IssuedOnceRedeemedOnce(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, nil)
	code, exp, err := f.svc.IssueAssistCode(ctx, "alice", "staff:wang", client)
	if err != nil || len(code) != 8 || !exp.Equal(t0.Add(time.Hour)) {
		t.Fatalf("issue = %q %v %v", code, exp, err)
	}
	sub := identity.ForUser("alice", false)
	if _, err := f.svc.CheckAssist(ctx, sub, "1234", client); !errors.Is(err, identity.ErrCodeFormat) {
		t.Fatalf("short: %v", err)
	}
	u, err := f.svc.CheckAssist(ctx, sub, code, client)
	if err != nil || u.State != campaign.StateVerified {
		t.Fatalf("redeem: %+v %v", u, err)
	}
	if _, err := f.svc.CheckAssist(ctx, sub, code, client); err == nil {
		t.Fatal("assist code accepted twice")
	}
	if _, _, err := f.svc.IssueAssistCode(ctx, "nobody", "cli", client); !errors.Is(err, campaign.ErrUserNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestClientLimit_RefusesAClientThatGuessesTooMuch(t *testing.T) {
	st := testsupport.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, st, func(s *identity.Settings) { s.ClientAttemptsHour = 3 })
	c := audit.Client{IP: "203.0.113.9"}
	for i, acct := range []string{"a1", "a2", "a3"} {
		sub, _ := f.svc.Find(ctx, acct)
		var wrong identity.ErrWrong
		if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, "123456", c); !errors.As(err, &wrong) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	sub, _ := f.svc.Find(ctx, "a4")
	var limited identity.ErrClientLimited
	if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, "123456", c); !errors.As(err, &limited) {
		t.Fatalf("fourth account: %v", err)
	}
}

func TestCheckCode_RacingRequestsRedeemOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		sub := identity.ForUser("alice", true)
		f.svc.SendCode(ctx, sub, identity.MethodPhone, client)
		code := f.code("alice", identity.MethodPhone)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.CheckCode(ctx, sub, identity.MethodPhone, code, client); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d requests redeemed the same code", wins)
		}
	})
}

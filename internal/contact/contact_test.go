package contact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/contact"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0          = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	shanghai, _ = time.LoadLocation("Asia/Shanghai")
	ctx         = context.Background()
	client      = audit.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1"}
	deadline    = campaign.Date{Year: 2026, Month: 12, Day: 31}
)

type fixture struct {
	svc   *contact.Service
	st    *store.SQL
	clk   *clock.Fake
	mu    sync.Mutex
	codes map[string]string // where a code went → the code
}

func newFixture(t *testing.T, st *store.SQL) *fixture {
	t.Helper()
	f := &fixture{st: st, clk: clock.NewFake(t0), codes: map[string]string{}}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Locale: "en", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline},
		{ID: "late", Phone: "+8613800000003", Email: "late@example.com", Deadline: campaign.Date{Year: 2026, Month: 11, Day: 1}},
	}, t0); err != nil {
		t.Fatal(err)
	}
	msg := func(u campaign.User, m identity.Message) (store.OutboxItem, error) {
		f.mu.Lock()
		f.codes[m.To] = m.Code
		f.mu.Unlock()
		return identity.CodeMessage(u, m)
	}
	ident := identity.New(st, f.clk, bytes.Repeat([]byte{9}, 32), campaign.NewIDHasher(bytes.Repeat([]byte{5}, 32)), identity.Settings{
		CodeTTL: 10 * time.Minute, ResendWait: time.Minute, SendsPerHour: 5, MaxAttempts: 3, Lockout: 15 * time.Minute,
		ClientAttemptsHour: 100, Location: shanghai}, msg)
	f.svc = contact.New(st, f.clk, ident, securitynotice.New(st, f.clk, bytes.Repeat([]byte{7}, 32)), "CN", campaign.Rules{GraceDays: 14, Location: shanghai})
	return f
}

func (f *fixture) code(t *testing.T, to string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.codes[to]
	if !ok {
		t.Fatalf("no code went to %s", to)
	}
	return c
}

func (f *fixture) user(t *testing.T, id string) campaign.User {
	t.Helper()
	u, err := f.st.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// message is an outbox item as the tests read it.
type message struct {
	Kind, Topic, To string
	Data            map[string]any
}

func (f *fixture) messages(t *testing.T, userID string) []message {
	t.Helper()
	items, err := f.st.RecentOutbox(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []message
	for _, it := range items {
		if it.UserID != userID {
			continue
		}
		var p struct {
			To   string         `json:"to"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, message{Kind: it.Kind, Topic: it.Topic, To: p.To, Data: p.Data})
	}
	return out
}

// notices returns, for the user's security notices about change, each recipient and its channel.
func (f *fixture) notices(t *testing.T, userID, change string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range f.messages(t, userID) {
		if m.Topic == "security.notice" && m.Data["change"] == change {
			out[m.To] = m.Kind
		}
	}
	return out
}

func TestChangeEmail_NoticesToTheOldChannelsAndTheNewAddress(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		if _, err := f.svc.SendEmailCode(ctx, "alice", "alice.new@example.com", client); err != nil {
			t.Fatal(err)
		}
		if u := f.user(t, "alice"); u.Email != "alice@example.com" {
			t.Fatalf("the address changed before its code was typed: %q", u.Email)
		}
		f.clk.Advance(time.Minute)
		u, err := f.svc.ChangeEmail(ctx, "alice", f.code(t, "alice.new@example.com"), client)
		if err != nil || u.Email != "alice.new@example.com" {
			t.Fatalf("change: %+v, %v", u, err)
		}
		old := f.notices(t, "alice", securitynotice.ContactChanged)
		if len(old) != 2 || old["alice@example.com"] != store.OutboxEmail || old["+8613800000001"] != store.OutboxSMS {
			t.Errorf("notices of the change = %v, want the old address by email and the phone by SMS", old)
		}
		if n := f.notices(t, "alice", securitynotice.ContactRegistered); len(n) != 1 || n["alice.new@example.com"] != store.OutboxEmail {
			t.Errorf("notices to the new address = %v", n)
		}
		var event map[string]any
		for _, m := range f.messages(t, "alice") {
			if m.Kind == store.OutboxEvent && m.Topic == "contact.changed" {
				event = m.Data
			}
		}
		if event == nil || event["field"] != "email" || event["email"] != "alice.new@example.com" || event["user_id"] != "alice" || event["reverted"] != false {
			t.Errorf("contact.changed event data = %v", event)
		}
		evs, _ := st.Events(ctx, "alice", 20)
		if len(evs) == 0 || evs[0].Type != audit.ContactChanged || evs[0].Detail["field"] != "email" || evs[0].IP != client.IP {
			t.Errorf("newest history entry = %+v", evs[0])
		}
		// The code is used up: the same code again changes nothing and says so.
		if _, err := f.svc.ChangeEmail(ctx, "alice", f.code(t, "alice.new@example.com"), client); err == nil {
			t.Error("a used code changed the address again")
		}
		// A roster import of the old list keeps the address the user chose.
		entry := campaign.RosterEntry{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Locale: "en", Deadline: deadline}
		if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{entry}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if u := f.user(t, "alice"); u.Email != "alice.new@example.com" {
			t.Errorf("a roster import undid the user's change: %q", u.Email)
		}
	})
}

func TestAddEmail_ToAUserWithoutOneTellsThemBySMS(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		if _, err := f.svc.SendEmailCode(ctx, "bob", "bob@example.com", client); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ChangeEmail(ctx, "bob", f.code(t, "bob@example.com"), client); err != nil {
			t.Fatal(err)
		}
		if n := f.notices(t, "bob", securitynotice.ContactChanged); len(n) != 1 || n["+8613800000002"] != store.OutboxSMS {
			t.Errorf("notices of the new address = %v, want one SMS to the phone", n)
		}
		if n := f.notices(t, "bob", securitynotice.ContactRegistered); n["bob@example.com"] != store.OutboxEmail {
			t.Errorf("notices to the new address = %v", n)
		}
	})
}

func TestSendCode_UnderTheLimitsOfEveryCode(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		if _, err := f.svc.SendEmailCode(ctx, "alice", "a1@example.com", client); err != nil {
			t.Fatal(err)
		}
		var wait identity.ErrResendWait
		if _, err := f.svc.SendEmailCode(ctx, "alice", "a2@example.com", client); !errors.As(err, &wait) {
			t.Fatalf("a second code at once: %v, want the resend wait", err)
		}
		// The wrong-answer lock: three wrong codes lock the method, and then the right one fails too.
		var wrong identity.ErrWrong
		var locked identity.ErrLocked
		for i, want := range []any{&wrong, &wrong, &locked} {
			if _, err := f.svc.ChangeEmail(ctx, "alice", "000000", client); !errors.As(err, want) {
				t.Fatalf("wrong code %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.ChangeEmail(ctx, "alice", f.code(t, "a1@example.com"), client); !errors.As(err, &locked) {
			t.Fatalf("the right code while locked: %v", err)
		}
		if u := f.user(t, "alice"); u.Email != "alice@example.com" {
			t.Fatalf("changed while locked: %q", u.Email)
		}
		// Sending is refused while the method is locked, and the hourly sends are the account's.
		f.clk.Advance(2 * time.Minute)
		if _, err := f.svc.SendEmailCode(ctx, "alice", "a3@example.com", client); !errors.As(err, &locked) {
			t.Fatalf("send while locked: %v", err)
		}
		f.clk.Advance(16 * time.Minute)
		var capped identity.ErrSendLimit
		sent := 1
		for i := 0; i < 6; i++ {
			_, _, err := f.svc.SendPhoneCode(ctx, "alice", "139 0000 000"+string(rune('0'+i)), client)
			if errors.As(err, &capped) {
				break
			}
			if err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
			sent++
			f.clk.Advance(61 * time.Second)
		}
		if sent != 5 {
			t.Errorf("codes sent in the hour = %d, want 5 (--sends-per-hour)", sent)
		}
	})
}

func TestChangePhone_WhileSMSIsOpenElseThroughSupport(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		if _, _, err := f.svc.SendPhoneCode(ctx, "late", "139 0000 0009", client); !errors.Is(err, contact.ErrPhoneClosed) {
			t.Fatalf("past the deadline: %v, want closed", err)
		}
		if f.svc.PhoneChangeable(f.user(t, "late")) || !f.svc.PhoneChangeable(f.user(t, "alice")) {
			t.Fatal("PhoneChangeable disagrees with the deadline")
		}
		for _, bad := range []string{"12", "not a number", strings.Repeat("9", 40)} {
			if _, _, err := f.svc.SendPhoneCode(ctx, "alice", bad, client); !errors.Is(err, contact.ErrPhoneInvalid) {
				t.Errorf("%q: %v, want invalid", bad, err)
			}
		}
		if _, _, err := f.svc.SendPhoneCode(ctx, "alice", "+86 138 0000 0001", client); !errors.Is(err, contact.ErrSame) {
			t.Errorf("the registered number: %v, want same", err)
		}
		_, e164, err := f.svc.SendPhoneCode(ctx, "alice", "139-0000-0009", client)
		if err != nil || e164 != "+8613900000009" {
			t.Fatalf("send: %q, %v", e164, err)
		}
		// A wrong code changes nothing.
		if _, err := f.svc.ChangePhone(ctx, "alice", "000000", client); err == nil {
			t.Fatal("a wrong code changed the number")
		}
		if _, err := f.svc.ChangePhone(ctx, "alice", f.code(t, "+8613900000009"), client); err != nil {
			t.Fatal(err)
		}
		if u := f.user(t, "alice"); u.Phone != "+8613900000009" {
			t.Fatalf("phone = %q", u.Phone)
		}
		old := f.notices(t, "alice", securitynotice.ContactChanged)
		if old["+8613800000001"] != store.OutboxSMS || old["alice@example.com"] != store.OutboxEmail {
			t.Errorf("notices of the change = %v, want the old phone by SMS and the email", old)
		}
		if n := f.notices(t, "alice", securitynotice.ContactRegistered); n["+8613900000009"] != store.OutboxSMS {
			t.Errorf("notices to the new number = %v", n)
		}
	})
}

func TestChange_RefusedWhileAThisWasntMeLocksChanges(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		if _, err := f.svc.SendEmailCode(ctx, "alice", "a1@example.com", client); err != nil {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.LockChanges(ctx, "alice", t0); return err }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ChangeEmail(ctx, "alice", f.code(t, "a1@example.com"), client); !errors.Is(err, campaign.ErrChangesLocked) {
			t.Errorf("confirm while locked: %v", err)
		}
		f.clk.Advance(2 * time.Minute)
		if _, err := f.svc.SendEmailCode(ctx, "alice", "a2@example.com", client); !errors.Is(err, campaign.ErrChangesLocked) {
			t.Errorf("send while locked: %v", err)
		}
		if u := f.user(t, "alice"); u.Email != "alice@example.com" {
			t.Errorf("changed while locked: %q", u.Email)
		}
		if _, err := f.svc.SendEmailCode(ctx, "bob", "bob@example.com", client); err != nil {
			t.Errorf("another user's change: %v", err)
		}
	})
}

package securitynotice_test

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
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0     = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ctx    = context.Background()
	client = audit.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"}
)

// fixture stores alice (email and phone) and bob (phone only) and returns the notice service.
func fixture(t *testing.T, st *store.SQL) (*securitynotice.Service, *clock.Fake) {
	t.Helper()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Name: "Alice", Locale: "en", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline},
	}, t0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	return securitynotice.New(st, clk, bytes.Repeat([]byte{7}, 32)), clk
}

func user(t *testing.T, st *store.SQL, id string) campaign.User {
	t.Helper()
	u, err := st.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sent is an outbox message as a test reads it back.
type sent struct {
	Kind, Topic, To string
	Data            map[string]string
}

// messages returns the user's messages in the order they were written.
func messages(t *testing.T, st *store.SQL, userID string) []sent {
	t.Helper()
	items, err := st.RecentOutbox(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.UserID != userID || it.Kind == store.OutboxEvent {
			continue
		}
		var p struct {
			To   string            `json:"to"`
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(it.Payload), "secret") {
			t.Errorf("a message's payload holds its secret in plaintext: %s", it.Payload)
		}
		out = append(out, sent{Kind: it.Kind, Topic: it.Topic, To: p.To, Data: p.Data})
	}
	return out
}

func send(t *testing.T, st *store.SQL, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := st.InTx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func TestSend_EmailWithALinkOrAnInformationalSMSWithoutEmail(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, _ := fixture(t, st)
		alice, bob := user(t, st, "alice"), user(t, st, "bob")
		n := securitynotice.Notice{Change: securitynotice.FactorAdded, Kind: "totp", Client: client, At: t0}
		send(t, st, func(tx *store.Tx) error { return svc.Send(ctx, tx, alice, n) })
		send(t, st, func(tx *store.Tx) error { return svc.Send(ctx, tx, bob, n) })

		a := messages(t, st, "alice")
		if len(a) != 1 || a[0].Kind != store.OutboxEmail || a[0].To != "alice@example.com" || a[0].Topic != "security.notice" ||
			a[0].Data["change"] != "factor.added" || a[0].Data["browser"] != "chrome" || a[0].Data["system"] != "windows" || a[0].Data["ip"] != client.IP {
			t.Fatalf("alice's notices = %+v", a)
		}
		b := messages(t, st, "bob")
		if len(b) != 1 || b[0].Kind != store.OutboxSMS || b[0].To != "+8613800000002" || b[0].Data["change"] != "factor.added" {
			t.Fatalf("bob's notices = %+v", b)
		}
		if got := links(t, st, "alice"); got != 1 {
			t.Errorf("alice's email has %d this-wasn't-me links stored, want 1", got)
		}
		if got := links(t, st, "bob"); got != 0 {
			t.Errorf("a text message got %d links, want none", got)
		}
		if ch := securitynotice.Channels(bob); len(ch) != 1 || ch[0].Kind != store.OutboxSMS || ch[0].Masked() != "138****0002" {
			t.Errorf("bob's channels = %+v", ch)
		}
		if ch := securitynotice.Channels(alice); len(ch) != 1 || ch[0].Kind != store.OutboxEmail || ch[0].Masked() != "a***@example.com" {
			t.Errorf("alice's channels = %+v", ch)
		}
	})
}

func links(t *testing.T, st *store.SQL, userID string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(ctx, rebind(st, `SELECT COUNT(*) FROM disavowals WHERE user_id = ?`), userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rebind writes ? placeholders as PostgreSQL's $1 where needed.
func rebind(st *store.SQL, q string) string {
	if st.Dialect() != store.Postgres {
		return q
	}
	return strings.Replace(q, "?", "$1", 1)
}

func TestSendEverywhere_EveryChannelOnceEach(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, _ := fixture(t, st)
		alice := user(t, st, "alice")
		n := securitynotice.Notice{Change: securitynotice.ContactChanged, Client: client, At: t0, Data: map[string]string{"field": "email", "to": "n***@example.com"}}
		send(t, st, func(tx *store.Tx) error {
			return svc.SendEverywhere(ctx, tx, alice, n, "alice@example.com", "work@example.com", "")
		})
		got := map[string]string{}
		for _, m := range messages(t, st, "alice") {
			got[m.To] = m.Kind
			if m.Data["to"] != "n***@example.com" || m.Data["field"] != "email" {
				t.Errorf("notice to %s lacks what changed: %v", m.To, m.Data)
			}
		}
		want := map[string]string{"alice@example.com": "email", "work@example.com": "email", "+8613800000001": "sms"}
		if len(got) != len(want) || len(messages(t, st, "alice")) != 3 {
			t.Fatalf("messages = %v, want one each to %v", got, want)
		}
		for to, kind := range want {
			if got[to] != kind {
				t.Errorf("to %s: %q, want %q", to, got[to], kind)
			}
		}
		if n := links(t, st, "alice"); n != 2 {
			t.Errorf("links = %d, want one per email", n)
		}
	})
}

func TestSend_LaterNoticeIsDueLaterAndItsLinkLastsFromThen(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		due := t0.Add(28 * 24 * time.Hour)
		send(t, st, func(tx *store.Tx) error {
			return svc.Send(ctx, tx, user(t, st, "alice"), securitynotice.Notice{Change: securitynotice.Checkup, At: t0, SendAt: due})
		})
		if items, _ := st.ClaimOutbox(ctx, store.OutboxClaim{Now: due.Add(-time.Minute), Kind: store.OutboxEmail, Limit: 10, Lease: time.Minute, Owner: "t"}); len(items) != 0 {
			t.Fatalf("the check-up went out %d early", len(items))
		}
		items, err := st.ClaimOutbox(ctx, store.OutboxClaim{Now: due, Kind: store.OutboxEmail, Limit: 10, Lease: time.Minute, Owner: "t"})
		if err != nil || len(items) != 1 || items[0].Topic != "checkup.reminder" || items[0].Secret == "" {
			t.Fatalf("due check-up = %+v, %v", items, err)
		}
		clk.Set(due.Add(29 * 24 * time.Hour)) // 57 days after it was written, 29 after it was sent
		if _, err := svc.Check(ctx, items[0].Secret); err != nil {
			t.Errorf("the check-up's link expired before 30 days from its sending: %v", err)
		}
	})
}

func TestDisavow_EndsSessionsLocksChangesAndWorksOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		alice := user(t, st, "alice")
		send(t, st, func(tx *store.Tx) error {
			for i, k := range []string{"user", "user", "embed", "staff"} {
				subject := "alice"
				if k == "staff" {
					subject = "1"
				}
				if err := tx.CreateSession(ctx, store.Session{ID: k + string(rune('a'+i)), Kind: k, Subject: subject, CreatedAt: t0, LastSeenAt: t0,
					AuthAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}); err != nil {
					return err
				}
			}
			return svc.Send(ctx, tx, alice, securitynotice.Notice{Change: securitynotice.NewDevice, Client: client, At: t0})
		})
		if err := st.CreateGrant(ctx, store.Grant{ID: "g1", UserID: "alice", Method: "phone", VerifiedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		token := secretOf(t, st, "alice")
		if uid, err := svc.Check(ctx, token); err != nil || uid != "alice" {
			t.Fatalf("check = %q, %v", uid, err)
		}

		// Fifty people follow the link at once: it works for one.
		clk.Advance(time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		results := map[string]int{}
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Disavow(ctx, token, client)
				key := "ok"
				switch {
				case errors.Is(err, securitynotice.ErrLinkUsed):
					key = "used"
				case err != nil:
					key = err.Error()
				}
				mu.Lock()
				results[key]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if results["ok"] != 1 || results["used"] != 49 {
			t.Fatalf("results of 50 parallel uses = %v, want 1 ok and 49 used", results)
		}
		for _, id := range []string{"usera", "userb", "embedc"} {
			if ss, _ := st.Session(ctx, id); ss.EndedAt.IsZero() {
				t.Errorf("session %s of alice still live", id)
			}
		}
		if ss, _ := st.Session(ctx, "staffd"); !ss.EndedAt.IsZero() {
			t.Error("a staff session of the same ID was ended")
		}
		if g, _ := st.Grant(ctx, "g1"); g.EndedAt.IsZero() {
			t.Error("alice's verification grant still live")
		}
		if u := user(t, st, "alice"); !u.ChangesLocked() || !u.ChangesLockedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("changes locked at %v, want %v", u.ChangesLockedAt, t0.Add(time.Hour))
		}
		evs, _ := st.Events(ctx, "alice", 20)
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
		}
		if got := strings.Join(types, ","); !strings.Contains(got, "account.disavowed") || !strings.Contains(got, "session.ended") ||
			strings.Count(got, "account.disavowed") != 1 {
			t.Errorf("history = %s", got)
		}
		if _, err := svc.Check(ctx, token); !errors.Is(err, securitynotice.ErrLinkUsed) {
			t.Errorf("check after use: %v", err)
		}
	})
}

func secretOf(t *testing.T, st *store.SQL, userID string) string {
	t.Helper()
	items, err := st.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(365 * 24 * time.Hour), Kind: store.OutboxEmail, Limit: 100, Lease: time.Minute, Owner: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].UserID == userID && items[i].Secret != "" {
			return items[i].Secret
		}
	}
	t.Fatalf("no email with a link to %s", userID)
	return ""
}

func TestDisavow_RefusesForgedExpiredAndUnknownLinks(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		send(t, st, func(tx *store.Tx) error {
			return svc.Send(ctx, tx, user(t, st, "alice"), securitynotice.Notice{Change: securitynotice.RecoveryUsed, Client: client, At: t0})
		})
		token := secretOf(t, st, "alice")
		other := securitynotice.New(st, clk, bytes.Repeat([]byte{8}, 32)) // another key: its signature fails
		for name, tc := range map[string]struct {
			svc   *securitynotice.Service
			token string
		}{
			"other key":  {other, token},
			"altered":    {svc, token[:len(token)-1] + flip(token[len(token)-1])},
			"empty":      {svc, ""},
			"too long":   {svc, strings.Repeat("a", 200)},
			"not base32": {svc, strings.Repeat("!", 48)},
		} {
			if _, err := tc.svc.Disavow(ctx, tc.token, client); !errors.Is(err, securitynotice.ErrLinkInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		clk.Advance(securitynotice.LinkTTL)
		if _, err := svc.Disavow(ctx, token, client); !errors.Is(err, securitynotice.ErrLinkExpired) {
			t.Errorf("after 30 days: %v, want expired", err)
		}
		if u := user(t, st, "alice"); u.ChangesLocked() {
			t.Error("a refused link locked the account")
		}
	})
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestDisavow_PutsBackTheContactTheReportedChangeReplaced(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		before := user(t, st, "alice")
		send(t, st, func(tx *store.Tx) error {
			if ok, err := tx.SetContact(ctx, "alice", store.ContactEmail, "alice@example.com", "mallory@example.com", t0, t0); err != nil || !ok {
				t.Fatalf("set contact: %v, %v", ok, err)
			}
			return svc.Send(ctx, tx, before, securitynotice.Notice{Change: securitynotice.ContactChanged, Client: client, At: t0,
				Data: map[string]string{"field": "email", "to": "m***@example.com"},
				Undo: map[string]string{"field": "email", "from": "mallory@example.com", "to": "alice@example.com", "changed_at": ""}})
		})
		if u := user(t, st, "alice"); u.Email != "mallory@example.com" {
			t.Fatalf("email = %q", u.Email)
		}
		clk.Advance(time.Minute)
		done, err := svc.Disavow(ctx, secretOf(t, st, "alice"), client)
		if err != nil || done.Reverted != "email" || done.UserID != "alice" {
			t.Fatalf("disavow = %+v, %v", done, err)
		}
		if u := user(t, st, "alice"); u.Email != "alice@example.com" {
			t.Errorf("email after this-wasn't-me = %q, want the old one back", u.Email)
		}
		// The roster's value stands again: an import may change it.
		entry := campaign.RosterEntry{ID: "alice", Phone: "+8613800000001", Email: "alice@corp.example", Name: "Alice", Locale: "en",
			Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}
		if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{entry}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if u := user(t, st, "alice"); u.Email != "alice@corp.example" {
			t.Errorf("after the revert the roster no longer sets the email: %q", u.Email)
		}
		items, _ := st.RecentOutbox(ctx, 50)
		var reverted bool
		for _, it := range items {
			if it.Topic == outbox.EventContactChanged && strings.Contains(string(it.Payload), `"reverted":true`) &&
				strings.Contains(string(it.Payload), `"email":"alice@example.com"`) {
				reverted = true
			}
		}
		if !reverted {
			t.Error("no contact.changed event for operators says the old address came back")
		}
		evs, _ := st.Events(ctx, "alice", 20)
		if len(evs) == 0 || !hasType(evs, audit.ContactReverted) {
			t.Errorf("history lacks contact.reverted: %+v", evs)
		}
	})
}

func hasType(evs []audit.Event, typ audit.Type) bool {
	for _, e := range evs {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// A change support made (issue 20's factor reset) goes to every channel, the removed email
// factors' addresses too, and names no device or IP.
func TestSendEverywhere_SupportResetNamesNoDevice(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, _ := fixture(t, st)
		send(t, st, func(tx *store.Tx) error {
			return svc.SendEverywhere(ctx, tx, user(t, st, "bob"), securitynotice.Notice{Change: securitynotice.FactorsReset, At: t0}, "bob.factor@example.com")
		})
		got := messages(t, st, "bob")
		if len(got) != 2 {
			t.Fatalf("messages = %+v, want the factor's address and the phone", got)
		}
		for _, m := range got {
			if m.Data["change"] != "support.factors_reset" || m.Data["device"] != "" || m.Data["ip"] != "" {
				t.Errorf("to %s: %v", m.To, m.Data)
			}
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return svc.Send(ctx, tx, user(t, st, "bob"), securitynotice.Notice{Change: "no.such.change", At: t0})
		}); err == nil {
			t.Error("an unknown change was sent")
		}
	})
}

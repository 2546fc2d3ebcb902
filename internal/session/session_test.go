package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0     = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ctx    = context.Background()
	client = audit.Client{IP: "192.0.2.1", UserAgent: "test"}
)

// service makes the users u1 and u2 and a session service with the given idle lifetime.
func service(t *testing.T, st *store.SQL, idle time.Duration) (*session.Service, *clock.Fake) {
	t.Helper()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "u1", Phone: "+8613800000001", Deadline: deadline},
		{ID: "u2", Phone: "+8613800000002", Deadline: deadline}}, t0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	rules := map[session.Kind]session.Rules{
		session.User:  {Cookie: "smsretire", Idle: idle, MaxAge: 12 * time.Hour, StepUp: 10 * time.Minute},
		session.Staff: {Cookie: "smsretire_staff", Idle: idle, MaxAge: 8 * time.Hour, StepUp: 5 * time.Minute},
	}
	return session.New(st, clk, rules, 15*time.Minute), clk
}

func countEvents(t *testing.T, st *store.SQL, userID string, typ audit.Type) int {
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

// A session in use lives on however short the idle lifetime: each use within a quarter of it
// (at most a minute) is recorded, so the idle clock restarts. Unused, it ends.
func TestLoad_AShortIdleLifetimeNeverEndsASessionInUse(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		for _, idle := range []time.Duration{40 * time.Second, 90 * time.Second, 30 * time.Minute} {
			sessions, clk := service(t, st, idle)
			ss, token, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
			if err != nil {
				t.Fatal(err)
			}
			// Used every 0.9 × idle for ten idle lifetimes.
			step := idle * 9 / 10
			for i := 0; i < 10; i++ {
				clk.Advance(step)
				got, err := sessions.Load(ctx, session.User, token, client.IP)
				if err != nil {
					t.Fatalf("idle %s: ended after %s of use: %v", idle, clk.Now().Sub(t0), err)
				}
				if got.ID != ss.ID || got.Subject != "u1" {
					t.Fatalf("loaded %+v", got)
				}
			}
			clk.Advance(idle + time.Second)
			if _, err := sessions.Load(ctx, session.User, token, client.IP); !errors.Is(err, session.ErrNone) {
				t.Fatalf("idle %s: unused for longer than that, Load = %v", idle, err)
			}
		}
	})
}

// Load records a use only when the last one is older than the throttle, or came from another
// address: not one write per request.
func TestLoad_RecordsUsesThrottled(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		sessions, clk := service(t, st, 30*time.Minute)
		ss, token, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(30 * time.Second)
		loaded, err := sessions.Load(ctx, session.User, token, client.IP)
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded.Methods) != 1 || loaded.Methods[0] != "otp" {
			t.Errorf("the session's methods = %v, want [otp] as it started", loaded.Methods)
		}
		if row, _ := st.Session(ctx, ss.ID); !row.LastSeenAt.Equal(t0) {
			t.Errorf("a use 30 s after the last was written: last seen %v", row.LastSeenAt)
		}
		if _, err := sessions.Load(ctx, session.User, token, "198.51.100.9"); err != nil {
			t.Fatal(err)
		}
		if row, _ := st.Session(ctx, ss.ID); !row.LastSeenAt.Equal(clk.Now()) || row.IP != "198.51.100.9" {
			t.Errorf("a use from another address was not recorded: %+v", row)
		}
		clk.Advance(61 * time.Second)
		if _, err := sessions.Load(ctx, session.User, token, "198.51.100.9"); err != nil {
			t.Fatal(err)
		}
		if row, _ := st.Session(ctx, ss.ID); !row.LastSeenAt.Equal(clk.Now()) {
			t.Errorf("a use a minute after the last was not recorded: %v", row.LastSeenAt)
		}
	})
}

func TestSessions_KindsLifetimesAndEnding(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		sessions, clk := service(t, st, 30*time.Minute)
		a, tokA, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == tokA || len(tokA) < 40 {
			t.Fatalf("the stored ID is the token, or the token is short: %q / %q", a.ID, tokA)
		}
		_, tokB, _ := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		_, tokC, _ := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		staff, tokStaff, err := sessions.Start(ctx, session.Staff, "7", []string{"otp"}, client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Load(ctx, session.User, tokStaff, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("a staff token opened a user session: %v", err)
		}
		if _, err := sessions.Load(ctx, session.Embed, tokA, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("a kind without rules loaded: %v", err)
		}
		if _, _, err := sessions.Start(ctx, session.Embed, "u1", []string{"otp"}, client, session.Session{}); err == nil {
			t.Error("a session of a kind without rules started")
		}

		// Step-up: a new session replaces the browser's old one in the same transaction.
		clk.Advance(11 * time.Minute)
		if sessions.Fresh(staff) {
			t.Error("a staff session 11 minutes old is fresh within its 5-minute step-up window")
		}
		if sessions.Fresh(a) {
			t.Error("a session 11 minutes old is fresh within a 10-minute step-up window")
		}
		a2, tokA2, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Load(ctx, session.User, tokA, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("the replaced session still works: %v", err)
		}
		if !sessions.Fresh(a2) {
			t.Error("a new session is not fresh")
		}

		live, err := sessions.Active(ctx, session.User, "u1")
		if err != nil || len(live) != 3 {
			t.Fatalf("active = %d, %v; want 3", len(live), err)
		}
		b, _ := sessions.Load(ctx, session.User, tokB, client.IP)
		if ended, err := sessions.EndOne(ctx, session.User, "u2", b.ID, client); ended || err != nil {
			t.Fatalf("another user ended u1's session: %v, %v", ended, err)
		}
		if ended, err := sessions.EndOne(ctx, session.User, "u1", b.ID, client); !ended || err != nil {
			t.Fatalf("EndOne = %v, %v", ended, err)
		}
		if n, err := sessions.EndOthers(ctx, a2, client); n != 1 || err != nil {
			t.Fatalf("EndOthers = %d, %v; want 1 (session c)", n, err)
		}
		if _, err := sessions.Load(ctx, session.User, tokC, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("an ended session still works: %v", err)
		}
		if n, _ := sessions.EndOthers(ctx, a2, client); n != 0 {
			t.Errorf("EndOthers again ended %d", n)
		}
		if n, err := sessions.EndAll(ctx, session.User, "u1", client); n != 1 || err != nil {
			t.Fatalf("EndAll = %d, %v; want 1", n, err)
		}
		if _, err := sessions.Load(ctx, session.User, tokA2, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("EndAll left a session: %v", err)
		}
		if _, err := sessions.Load(ctx, session.Staff, tokStaff, client.IP); err != nil {
			t.Errorf("ending a user's sessions ended staff's: %v", err)
		}
		// One history row per ending that ended something: one, others, all.
		if n := countEvents(t, st, "u1", audit.SessionEnded); n != 3 {
			t.Errorf("session.ended events = %d, want 3", n)
		}
		if err := sessions.End(ctx, staff, client); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Load(ctx, session.Staff, tokStaff, client.IP); !errors.Is(err, session.ErrNone) {
			t.Errorf("an ended staff session still works: %v", err)
		}

		// The absolute lifetime holds even for a session in use.
		_, tok, _ := sessions.Start(ctx, session.User, "u2", []string{"otp"}, client, session.Session{})
		for clk.Now().Before(t0.Add(13 * time.Hour)) {
			clk.Advance(20 * time.Minute)
			if _, err := sessions.Load(ctx, session.User, tok, client.IP); err != nil {
				if clk.Now().Sub(t0) < 12*time.Hour {
					t.Fatalf("ended after %s: %v", clk.Now().Sub(t0), err)
				}
				return
			}
		}
		t.Error("a session in use outlived its absolute lifetime")
	})
}

// A verification grant allows the first enrollment until that enrollment consumes it, sign-out
// ends it or the elevated window passes.
func TestGrants_LiveConsumedEnded(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		sessions, clk := service(t, st, 30*time.Minute)
		g, token, err := sessions.Grant(ctx, "u1", "phone", client)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sessions.LoadGrant(ctx, token)
		if err != nil || got.UserID != "u1" || got.Method != "phone" || !got.Live(clk.Now()) || got.ID != g.ID {
			t.Fatalf("grant = %+v, %v", got, err)
		}
		if _, err := sessions.LoadGrant(ctx, "not-a-token"); !errors.Is(err, session.ErrNone) {
			t.Fatalf("unknown token: %v", err)
		}
		if got.Live(t0.Add(15*time.Minute)) || got.Open(t0.Add(15*time.Minute)) || !got.Live(t0.Add(15*time.Minute-time.Millisecond)) {
			t.Error("the grant does not end with the elevated window")
		}

		// The first factor consumes it: no more factors, but the enrollment's pages still show.
		err = st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.ConsumeGrants(ctx, "u1", clk.Now()); return err })
		if err != nil {
			t.Fatal(err)
		}
		got, err = sessions.LoadGrant(ctx, token)
		if err != nil || got.Live(clk.Now()) || !got.Open(clk.Now()) {
			t.Fatalf("consumed grant = %+v (live %v, open %v), %v", got, got.Live(clk.Now()), got.Open(clk.Now()), err)
		}

		// Sign-out ends every grant of the user.
		ss, _, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		_, other, _ := sessions.Grant(ctx, "u1", "assist", client)
		_, someoneElse, _ := sessions.Grant(ctx, "u2", "assist", client)
		if err := sessions.End(ctx, ss, client); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{token, other} {
			if _, err := sessions.LoadGrant(ctx, tok); !errors.Is(err, session.ErrNone) {
				t.Errorf("a grant outlived sign-out: %v", err)
			}
		}
		if g, err := sessions.LoadGrant(ctx, someoneElse); err != nil || !g.Live(clk.Now()) {
			t.Errorf("u1's sign-out ended u2's grant: %+v, %v", g, err)
		}
		if n := countEvents(t, st, "u1", audit.SessionEnded); n != 1 {
			t.Errorf("session.ended events = %d, want 1", n)
		}
	})
}

// A sign-in by approval on another device keeps how it came, so My security can say so; the
// list and a later load read it back.
func TestStartVia_KeepsHowTheSignInCame(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		sessions, _ := service(t, st, 30*time.Minute)
		_, token, err := sessions.StartVia(ctx, session.User, "u1", []string{"mca"}, "qr", client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{}); err != nil {
			t.Fatal(err)
		}
		ss, err := sessions.Load(ctx, session.User, token, client.IP)
		if err != nil {
			t.Fatal(err)
		}
		if ss.Via != "qr" || len(ss.Methods) != 1 || ss.Methods[0] != "mca" {
			t.Fatalf("loaded via %q methods %v, want qr [mca]", ss.Via, ss.Methods)
		}
		live, err := sessions.Active(ctx, session.User, "u1")
		if err != nil {
			t.Fatal(err)
		}
		vias := map[string]int{}
		for _, s := range live {
			vias[s.Via]++
		}
		if vias["qr"] != 1 || vias[""] != 1 {
			t.Fatalf("active sessions' via = %v, want one qr and one by a factor", vias)
		}
	})
}

// A session that came by approval on another device never allows a sensitive change at once.
func TestFresh_NeverForASignInByApproval(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		sessions, _ := service(t, st, 30*time.Minute)
		byQR, _, err := sessions.StartVia(ctx, session.User, "u1", []string{"mca"}, "qr", client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		byFactor, _, err := sessions.Start(ctx, session.User, "u1", []string{"otp"}, client, session.Session{})
		if err != nil {
			t.Fatal(err)
		}
		if sessions.Fresh(byQR) || !sessions.Fresh(byFactor) {
			t.Fatalf("fresh: by QR %v, by a factor %v; want false, true", sessions.Fresh(byQR), sessions.Fresh(byFactor))
		}
	})
}

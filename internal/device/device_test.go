package device_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/device"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0      = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ctx     = context.Background()
	chrome  = audit.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"}
	firefox = audit.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"}
)

func fixture(t *testing.T, st *store.SQL) (*device.Service, *clock.Fake) {
	t.Helper()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Email: "alice@example.com", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline},
	}, t0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	return device.New(st, clk, bytes.Repeat([]byte{4}, 32), securitynotice.New(st, clk, bytes.Repeat([]byte{7}, 32))), clk
}

// newDeviceNotices counts the new-device notices written for a user, and their history entries.
func newDeviceNotices(t *testing.T, st *store.SQL, userID string) (notices, events int) {
	t.Helper()
	items, err := st.RecentOutbox(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.UserID == userID && it.Topic == "security.notice" {
			notices++
		}
	}
	evs, err := st.Events(ctx, userID, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == audit.DeviceNew {
			events++
		}
	}
	return notices, events
}

func TestSignedIn_ANewDeviceIsToldOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		first, err := svc.SignedIn(ctx, "alice", "", chrome)
		if err != nil || !first.New || first.Token == "" {
			t.Fatalf("first sign-in: %+v, %v", first, err)
		}
		clk.Advance(time.Hour)
		again, err := svc.SignedIn(ctx, "alice", first.Token, chrome)
		if err != nil || again.New || again.Token != first.Token {
			t.Fatalf("the same browser again: %+v, %v", again, err)
		}
		if n, e := newDeviceNotices(t, st, "alice"); n != 1 || e != 1 {
			t.Fatalf("after two sign-ins on one device: %d notices, %d history entries; want 1 and 1", n, e)
		}
		// The same cookie in another browser is another device (a copied cookie, say).
		if other, err := svc.SignedIn(ctx, "alice", first.Token, firefox); err != nil || !other.New {
			t.Fatalf("the cookie in another browser: %+v, %v", other, err)
		}
		// A browser that lost its cookie, or sends a made-up one, is new, and gets a fresh token.
		for _, token := range []string{"", "made-up", first.Token + "x"} {
			seen, err := svc.SignedIn(ctx, "alice", token, chrome)
			if err != nil || !seen.New || seen.Token == token || seen.Token == first.Token {
				t.Errorf("token %q: %+v, %v", token, seen, err)
			}
		}
		// One browser used by two people: new for the second.
		if bob, err := svc.SignedIn(ctx, "bob", first.Token, chrome); err != nil || !bob.New || bob.Token != first.Token {
			t.Fatalf("bob on alice's browser: %+v, %v", bob, err)
		}
		if n, _ := newDeviceNotices(t, st, "bob"); n != 1 {
			t.Errorf("bob, without email, got %d notices, want 1 (by SMS)", n)
		}
		if n, _ := st.DeviceCount(ctx, "alice"); n != 5 {
			t.Errorf("alice's devices = %d, want 5", n)
		}
	})
}

func TestVerified_RemembersTheDeviceWithoutANotice(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, _ := fixture(t, st)
		v, err := svc.Verified(ctx, "alice", "", chrome)
		if err != nil || !v.New {
			t.Fatalf("verified: %+v, %v", v, err)
		}
		if s, err := svc.SignedIn(ctx, "alice", v.Token, chrome); err != nil || s.New {
			t.Fatalf("sign-in where the user verified: %+v, %v", s, err)
		}
		if n, e := newDeviceNotices(t, st, "alice"); n != 0 || e != 0 {
			t.Errorf("notices = %d, history = %d; want none", n, e)
		}
	})
}

func TestCheckupDue_OnlyOnABrowserOfTheUserAndOnlyOnceDue(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		svc, clk := fixture(t, st)
		alice, _ := svc.Verified(ctx, "alice", "", chrome)
		stranger, _ := svc.Verified(ctx, "bob", "", chrome)
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SetCheckup(ctx, "alice", t0.Add(28*24*time.Hour)) }); err != nil {
			t.Fatal(err)
		}
		if due, err := svc.CheckupDue(ctx, alice.Token); err != nil || due {
			t.Fatalf("before it is due: %v, %v", due, err)
		}
		clk.Advance(28 * 24 * time.Hour)
		for token, want := range map[string]bool{alice.Token: true, stranger.Token: false, "": false, "nonsense": false} {
			if due, err := svc.CheckupDue(ctx, token); err != nil || due != want {
				t.Errorf("token %q: due %v, %v; want %v", token, due, err, want)
			}
		}
		if done, err := st.CompleteCheckup(ctx, "alice", clk.Now()); err != nil || !done {
			t.Fatal(done, err)
		}
		if due, _ := svc.CheckupDue(ctx, alice.Token); due {
			t.Error("still due after the check-up was completed")
		}
	})
}

package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func TestSessions_ListedEndedAndExpired(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		create := func(kind, subject, id string) {
			t.Helper()
			err := s.InTx(ctx, func(tx *store.Tx) error {
				return tx.CreateSession(ctx, store.Session{ID: id, Kind: kind, Subject: subject, CreatedAt: t0, LastSeenAt: t0, AuthAt: t0,
					ExpiresAt: t0.Add(12 * time.Hour), IP: "192.0.2.1", UserAgent: "ua"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		end := func(kind, subject, id string) bool {
			t.Helper()
			var ended bool
			if err := s.InTx(ctx, func(tx *store.Tx) (err error) {
				ended, err = tx.EndSession(ctx, kind, subject, id, t0.Add(10*time.Minute))
				return
			}); err != nil {
				t.Fatal(err)
			}
			return ended
		}
		for _, id := range []string{"a", "b", "c"} {
			create("user", "f1", id)
		}
		create("staff", "7", "s") // another kind: never listed or ended with the user's
		now := t0.Add(10 * time.Minute)
		s.TouchSession(ctx, "b", now, "192.0.2.2")
		live, err := s.ActiveSessions(ctx, "user", "f1", now, 30*time.Minute)
		if err != nil || len(live) != 3 || live[0].ID != "b" || live[0].IP != "192.0.2.2" || live[0].Kind != "user" {
			t.Fatalf("live = %+v, %v", live, err)
		}
		if end("user", "someone-else", "a") {
			t.Fatal("ended another user's session")
		}
		if end("staff", "f1", "a") {
			t.Fatal("ended a session of another kind")
		}
		if !end("user", "f1", "a") {
			t.Fatal("could not end a session")
		}
		var n int
		if err := s.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.EndSessions(ctx, "user", "f1", "b", now); return }); err != nil || n != 1 {
			t.Fatalf("ended others = %d, %v; want 1", n, err)
		}
		live, _ = s.ActiveSessions(ctx, "user", "f1", now, 30*time.Minute)
		if len(live) != 1 || live[0].ID != "b" {
			t.Fatalf("live after ending = %+v", live)
		}
		if staff, _ := s.ActiveSessions(ctx, "staff", "7", now, 30*time.Minute); len(staff) != 1 {
			t.Fatalf("the staff session was ended with the user's: %+v", staff)
		}
		// Idle for longer than the idle lifetime: no longer live.
		if live, _ := s.ActiveSessions(ctx, "user", "f1", now.Add(31*time.Minute), 30*time.Minute); len(live) != 0 {
			t.Fatalf("idle session still live: %+v", live)
		}
		got, err := s.Session(ctx, "a")
		if err != nil || got.EndedAt.IsZero() {
			t.Fatalf("ended session = %+v, %v", got, err)
		}
		if _, err := s.Session(ctx, "zzz"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	})
}

func TestGrants_ConsumedThenEnded(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		for _, id := range []string{"g1", "g2"} {
			if err := s.CreateGrant(ctx, store.Grant{ID: id, UserID: "f1", Method: "phone", VerifiedAt: t0, ExpiresAt: t0.Add(15 * time.Minute), IP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		g, err := s.Grant(ctx, "g1")
		if err != nil || g.UserID != "f1" || g.Method != "phone" || !g.ExpiresAt.Equal(t0.Add(15*time.Minute)) || !g.ConsumedAt.IsZero() || !g.EndedAt.IsZero() {
			t.Fatalf("grant = %+v, %v", g, err)
		}
		var n int
		if err := s.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.ConsumeGrants(ctx, "f1", t0.Add(time.Minute)); return }); err != nil || n != 2 {
			t.Fatalf("consumed %d, %v; want 2", n, err)
		}
		if g, _ := s.Grant(ctx, "g2"); !g.ConsumedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("consumed grant = %+v", g)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) (err error) { n, err = tx.EndGrants(ctx, "f1", t0.Add(2*time.Minute)); return }); err != nil || n != 2 {
			t.Fatalf("ended %d, %v; want 2", n, err)
		}
		if g, _ := s.Grant(ctx, "g1"); !g.EndedAt.Equal(t0.Add(2 * time.Minute)) {
			t.Fatalf("ended grant = %+v", g)
		}
		if _, err := s.Grant(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown grant: %v", err)
		}
	})
}

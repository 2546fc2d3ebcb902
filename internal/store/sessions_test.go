package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func TestSessions_ListedEndedAndExpired(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		for _, id := range []string{"a", "b", "c"} {
			if err := s.CreateSession(ctx, store.Session{ID: id, UserID: "f1", CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, ExpiresAt: t0.Add(12 * time.Hour), IP: "192.0.2.1", UserAgent: "ua"}); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(10 * time.Minute)
		s.TouchSession(ctx, "b", now, "192.0.2.2")
		live, err := s.ActiveSessions(ctx, "f1", now, 30*time.Minute)
		if err != nil || len(live) != 3 || live[0].ID != "b" || live[0].IP != "192.0.2.2" {
			t.Fatalf("live = %+v, %v", live, err)
		}
		if ok, _ := s.EndSession(ctx, "someone-else", "a", now); ok {
			t.Fatal("ended another user's session")
		}
		if ok, _ := s.EndSession(ctx, "f1", "a", now); !ok {
			t.Fatal("could not end a session")
		}
		if n, _ := s.EndOtherSessions(ctx, "f1", "b", now); n != 1 {
			t.Fatalf("ended others = %d, want 1", n)
		}
		live, _ = s.ActiveSessions(ctx, "f1", now, 30*time.Minute)
		if len(live) != 1 || live[0].ID != "b" {
			t.Fatalf("live after ending = %+v", live)
		}
		// Idle for longer than the idle lifetime: no longer live.
		if live, _ := s.ActiveSessions(ctx, "f1", now.Add(31*time.Minute), 30*time.Minute); len(live) != 0 {
			t.Fatalf("idle session still live: %+v", live)
		}
		got, err := s.Session(ctx, "a")
		if err != nil || got.EndedAt.IsZero() {
			t.Fatalf("ended session = %+v, %v", got, err)
		}
		if _, err := s.Session(ctx, "zzz"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		s.ReauthSession(ctx, "b", now.Add(time.Minute))
		if got, _ := s.Session(ctx, "b"); !got.AuthAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("auth_at = %v", got.AuthAt)
		}
		_ = context.Background()
	})
}

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// Requests expired before the cut go, unless a token they led to is still valid; the others stay.
func TestDeleteAuthRequestsBefore_KeepsLiveTokens(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
		mk := func(id string, expires time.Time) {
			if err := st.CreateAuthRequest(ctx, store.AuthRequest{ID: id, ClientID: "shop", RedirectURI: "https://shop.example/cb",
				Scopes: "openid", CodeChallenge: "x", Browser: "b", CreatedAt: expires.Add(-time.Minute), ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
		mk("old", t0.Add(-48*time.Hour))
		mk("old-with-token", t0.Add(-48*time.Hour))
		mk("recent", t0.Add(-time.Hour))
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateAccessToken(ctx, store.AccessToken{ID: "tok", AuthRequestID: "old-with-token", ClientID: "shop", Subject: "u1",
				Scopes: "openid", CreatedAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
		n, err := st.DeleteAuthRequestsBefore(ctx, t0.Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v; want 1", n, err)
		}
		if _, err := st.AuthRequest(ctx, "old"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old request: %v, want gone", err)
		}
		for _, id := range []string{"old-with-token", "recent"} {
			if _, err := st.AuthRequest(ctx, id); err != nil {
				t.Errorf("%s: %v, want kept", id, err)
			}
		}
	})
}

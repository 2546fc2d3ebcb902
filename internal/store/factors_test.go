package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func withUser(t *testing.T, s *store.SQL) context.Context {
	t.Helper()
	ctx := context.Background()
	if _, err := s.UpsertUsers(ctx, []campaign.RosterEntry{entry("f1", "+8613800000011")}, t0); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func TestFactors_TOTPStepCannotBeReused(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		var id int64
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			id, err = tx.InsertFactor(ctx, store.Factor{UserID: "f1", Kind: store.FactorTOTP, Name: "app", Secret: []byte{1, 2}, SecretKeyID: "k1", CreatedAt: t0})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.UseTOTPStep(ctx, id, 100, t0); !ok || err != nil {
			t.Fatalf("first use: %v %v", ok, err)
		}
		for _, step := range []int64{100, 99} {
			if ok, _ := s.UseTOTPStep(ctx, id, step, t0); ok {
				t.Errorf("step %d accepted after 100", step)
			}
		}
		f, err := s.Factor(ctx, "f1", id)
		if err != nil || f.LastTOTPStep != 100 || !f.LastUsedAt.Equal(t0) || f.SecretKeyID != "k1" {
			t.Errorf("factor = %+v, %v", f, err)
		}
	})
}

func TestFactors_LastOneCannotBeRemoved(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		var a, b int64
		s.InTx(ctx, func(tx *store.Tx) error {
			a, _ = tx.InsertFactor(ctx, store.Factor{UserID: "f1", Kind: store.FactorEmail, Email: "f1@example.com", CreatedAt: t0})
			b, _ = tx.InsertFactor(ctx, store.Factor{UserID: "f1", Kind: store.FactorPasskey, CredentialID: []byte("cred"), PublicKey: []byte("pk"), CreatedAt: t0})
			return nil
		})
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.RemoveFactor(ctx, "f1", a) }); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx *store.Tx) error { return tx.RemoveFactor(ctx, "f1", b) })
		if !errors.Is(err, store.ErrLastFactor) {
			t.Fatalf("removing the last: %v", err)
		}
		if f, err := s.FactorByCredentialID(ctx, []byte("cred")); err != nil || f.ID != b {
			t.Fatalf("by credential: %+v %v", f, err)
		}
	})
}

func TestRecoveryCodes_EachWorksOnceAndRegenerationVoidsOld(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := withUser(t, s)
		s.InTx(ctx, func(tx *store.Tx) error {
			return tx.ReplaceRecoveryCodes(ctx, "f1", [][]byte{[]byte("h1"), []byte("h2")}, t0)
		})
		use := func(h string) bool {
			var ok bool
			s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = tx.UseRecoveryCode(ctx, "f1", []byte(h), t0)
				return err
			})
			return ok
		}
		if !use("h1") || use("h1") {
			t.Fatal("a recovery code must work exactly once")
		}
		if n, _ := s.RecoveryCodesLeft(ctx, "f1"); n != 1 {
			t.Fatalf("left = %d", n)
		}
		s.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceRecoveryCodes(ctx, "f1", [][]byte{[]byte("h3")}, t0) })
		if use("h2") || !use("h3") {
			t.Fatal("old codes must stop working after regeneration")
		}
	})
}

func TestCeremony_TakenOnceAndExpires(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		s.SaveCeremony(ctx, store.Ceremony{ID: "c1", Kind: "login", Data: []byte("{}"), ExpiresAt: t0.Add(time.Minute)})
		s.SaveCeremony(ctx, store.Ceremony{ID: "c2", Kind: "login", Data: []byte("{}"), ExpiresAt: t0.Add(time.Minute)})
		if c, err := s.TakeCeremony(ctx, "c1", "login", t0); err != nil || string(c.Data) != "{}" {
			t.Fatalf("take: %+v %v", c, err)
		}
		if _, err := s.TakeCeremony(ctx, "c1", "login", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second take: %v", err)
		}
		if _, err := s.TakeCeremony(ctx, "c2", "register", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("wrong kind: %v", err)
		}
		if _, err := s.TakeCeremony(ctx, "c2", "login", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired: %v", err)
		}
	})
}

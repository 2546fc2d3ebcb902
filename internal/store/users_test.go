package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func entry(id, phone string) campaign.RosterEntry {
	return campaign.RosterEntry{ID: id, Phone: phone, Email: id + "@example.com", Locale: "en",
		Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}, IDLast4Hash: []byte{1, 2, 3}}
}

func TestUpsertUsers_AddsThenUpdatesWithoutTouchingState(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		res, err := s.UpsertUsers(ctx, []campaign.RosterEntry{entry("u1", "+8613800000001"), entry("u2", "+8613800000002")}, t0)
		if err != nil || res.Added != 2 || res.Updated != 0 {
			t.Fatalf("first upsert = %+v, %v", res, err)
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetState(ctx, "u1", campaign.StateVerified, audit.Event{CreatedAt: t0})
		})
		if err != nil {
			t.Fatal(err)
		}
		changed := entry("u1", "+8613900000001")
		changed.IDLast4Hash = nil
		res, err = s.UpsertUsers(ctx, []campaign.RosterEntry{changed}, t0.Add(time.Hour))
		if err != nil || res.Added != 0 || res.Updated != 1 {
			t.Fatalf("second upsert = %+v, %v", res, err)
		}
		u, err := s.UserByID(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if u.Phone != "+8613900000001" || u.State != campaign.StateVerified || u.HasIDLast4 {
			t.Errorf("user after update = %+v", u)
		}
		evs, err := s.Events(ctx, "u1", 10)
		if err != nil || len(evs) != 3 {
			t.Fatalf("events = %+v, %v", evs, err)
		}
		if evs[0].Type != audit.RosterUpdated || evs[1].Type != audit.StateChanged || evs[1].Detail["to"] != "verified" || evs[2].Type != audit.RosterAdded {
			t.Errorf("history = %+v", evs)
		}
	})
}

func TestUserByID_UnknownIsNotFound(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		if _, err := s.UserByID(context.Background(), "nobody"); !errors.Is(err, campaign.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUsersByPhone(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		if _, err := s.UpsertUsers(ctx, []campaign.RosterEntry{entry("a", "+8613800000001"), entry("b", "+8613800000009")}, t0); err != nil {
			t.Fatal(err)
		}
		us, err := s.UsersByPhone(ctx, "+8613800000009")
		if err != nil || len(us) != 1 || us[0].ID != "b" {
			t.Fatalf("UsersByPhone = %+v, %v", us, err)
		}
	})
}

func TestSetState_RetiredStampsSMSRetirement(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		s.UpsertUsers(ctx, []campaign.RosterEntry{entry("r", "+8613800000003")}, t0)
		err := s.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetState(ctx, "r", campaign.StateRetired, audit.Event{CreatedAt: t0.Add(time.Minute)})
		})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := s.UserByID(ctx, "r")
		if u.State != campaign.StateRetired || !u.SMSRetiredAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("user = %+v", u)
		}
	})
}

func TestMigrate_IsIdempotent(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

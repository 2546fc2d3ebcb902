// Package enroll adds replacement factors to an account. The first confirmed factor retires SMS
// verification: in one transaction the factor is stored, the state moves to retired, recovery
// codes are made, the verification grants are used up, the history records it, and the outbox
// receives the confirmation email and the user.migrated event.
package enroll

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/notice"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// Webhook event types written to the outbox.
const (
	OutboxFactorEnrolled = "factor.enrolled"
	OutboxUserMigrated   = "user.migrated"
	OutboxFactorRemoved  = "factor.removed"
)

// ErrDuplicate refuses a factor the account has already (the same email address, say).
var ErrDuplicate = errors.New("factor already enrolled")

// RecoveryCodes makes a new set of recovery codes and their hashes for a user.
type RecoveryCodes func(userID string) (codes []string, hashes [][]byte, err error)

// Policy is the operator's choice of what may retire SMS verification.
type Policy struct {
	// EmailCompletes says whether an email factor alone retires SMS; when false (the
	// recovery-only policy) email may be added but a passkey or app must follow.
	EmailCompletes bool
	// CheckupAfter is how long after the retirement the user is asked to sign in once, to show
	// the new factor still works; 0 for never.
	CheckupAfter time.Duration
}

// Service adds, renames and removes factors.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	recovery RecoveryCodes
	policy   Policy
}

// New returns an enrollment service.
func New(st *store.SQL, clk clock.Clock, recovery RecoveryCodes, policy Policy) *Service {
	return &Service{st: st, clock: clk, recovery: recovery, policy: policy}
}

// Added tells what adding a factor did.
type Added struct {
	Factor        store.Factor
	First         bool     // this factor retired SMS verification
	RecoveryCodes []string // shown once, only for the first factor
}

// Add stores a confirmed factor. claim runs first in the same transaction and must consume
// whatever proved the factor (a code, a ceremony), so a double submit adds nothing twice.
func (s *Service) Add(ctx context.Context, userID string, f store.Factor, c audit.Client, claim func(tx *store.Tx) error) (Added, error) {
	now := s.clock.Now()
	f.UserID, f.CreatedAt = userID, now
	var out Added
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if claim != nil {
			if err := claim(tx); err != nil {
				return err
			}
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		existing, err := tx.Factors(ctx, userID)
		if err != nil {
			return err
		}
		for _, e := range existing {
			if f.Kind == store.FactorEmail && e.Kind == store.FactorEmail && e.Email == f.Email {
				return ErrDuplicate
			}
		}
		if f.ID, err = tx.InsertFactor(ctx, f); err != nil {
			return err
		}
		out.Factor = f
		if err := tx.AppendEvent(ctx, audit.FactorAdded.Event(userID, c, now, map[string]string{"kind": f.Kind, "name": f.Name})); err != nil {
			return err
		}
		if err := enqueueEvent(ctx, tx, userID, OutboxFactorEnrolled, now, map[string]any{"user_id": userID, "factor_id": f.ID, "kind": f.Kind}); err != nil {
			return err
		}
		all := append(existing, f)
		if u.State == campaign.StateRetired || !s.completes(all) {
			if u.State != campaign.StateRetired && u.State != campaign.StateEnrolled {
				if err := tx.SetState(ctx, u.ID, campaign.StateEnrolled, audit.StateChanged.Event(u.ID, c, now, nil)); err != nil {
					return err
				}
			}
			return notice.EnqueueFor(ctx, tx, u, notice.FactorAdded, f.Kind, c, now)
		}
		out.First = true // the confirmation email is this change's notice
		return s.retire(ctx, tx, u, all, c, now, &out)
	})
	if err != nil {
		return Added{}, err
	}
	return out, nil
}

// retire moves the user to retired, makes recovery codes, and queues the confirmation.
func (s *Service) retire(ctx context.Context, tx *store.Tx, u campaign.User, factors []store.Factor, c audit.Client, now time.Time, out *Added) error {
	for _, st := range []campaign.State{campaign.StateVerified, campaign.StateEnrolled, campaign.StateRetired} {
		if stateOrder(u.State) >= stateOrder(st) {
			continue
		}
		if err := tx.SetState(ctx, u.ID, st, audit.StateChanged.Event(u.ID, c, now, nil)); err != nil {
			return err
		}
	}
	if err := tx.AppendEvent(ctx, audit.SMSRetired.Event(u.ID, c, now, nil)); err != nil {
		return err
	}
	// The verification that allowed this enrollment has done its work: adding another factor
	// now takes a sign-in with the new one (internal/session).
	if _, err := tx.ConsumeGrants(ctx, u.ID, now); err != nil {
		return err
	}
	codes, hashes, err := s.recovery(u.ID)
	if err != nil {
		return err
	}
	if err := tx.ReplaceRecoveryCodes(ctx, u.ID, hashes, now); err != nil {
		return err
	}
	out.RecoveryCodes = codes
	kinds := make([]string, 0, len(factors))
	for _, f := range factors {
		kinds = append(kinds, f.Kind)
	}
	if s.policy.CheckupAfter > 0 {
		due := now.Add(s.policy.CheckupAfter)
		if err := tx.SetCheckup(ctx, u.ID, due); err != nil {
			return err
		}
		if u.Email != "" {
			it := outbox.Email(u.ID, u.Email, u.Locale, outbox.TemplateCheckup, map[string]string{"date": now.UTC().Format(time.RFC3339), "name": u.Name}, "", now)
			it.NextAttemptAt = due
			if _, err := tx.EnqueueOutbox(ctx, it); err != nil {
				return err
			}
		}
	}
	if err := enqueueEvent(ctx, tx, u.ID, OutboxUserMigrated, now, map[string]any{"user_id": u.ID, "factors": kinds, "retired_at": now.UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	if u.Email == "" {
		return nil
	}
	return enqueueEmail(ctx, tx, u, "retired.confirmation", now, map[string]string{"factors": joinKinds(kinds), "date": now.UTC().Format(time.RFC3339)})
}

// Rename renames one of the user's factors.
func (s *Service) Rename(ctx context.Context, userID string, factorID int64, name string, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RenameFactor(ctx, userID, factorID, name); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, audit.FactorRenamed.Event(userID, c, now, map[string]string{"name": name}))
	})
}

// Remove removes one of the user's factors, never the last.
func (s *Service) Remove(ctx context.Context, userID string, f store.Factor, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveFactor(ctx, userID, f.ID); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.FactorRemoved.Event(userID, c, now, map[string]string{"kind": f.Kind, "name": f.Name})); err != nil {
			return err
		}
		if err := enqueueEvent(ctx, tx, userID, OutboxFactorRemoved, now, map[string]any{"user_id": userID, "factor_id": f.ID, "kind": f.Kind}); err != nil {
			return err
		}
		return notice.Enqueue(ctx, tx, userID, notice.FactorRemoved, f.Kind, c, now)
	})
}

// completes reports whether these factors retire SMS under the policy.
func (s *Service) completes(fs []store.Factor) bool {
	for _, f := range fs {
		if f.Kind != store.FactorEmail || s.policy.EmailCompletes {
			return true
		}
	}
	return false
}

func stateOrder(s campaign.State) int {
	switch s {
	case campaign.StateVerified:
		return 1
	case campaign.StateEnrolled:
		return 2
	case campaign.StateRetired:
		return 3
	}
	return 0
}

// enqueueEvent writes an operator event in the stable shape {id, type, time, data}.
func enqueueEvent(ctx context.Context, tx *store.Tx, userID, typ string, now time.Time, data map[string]any) error {
	id := make([]byte, 16)
	rand.Read(id)
	payload, err := json.Marshal(map[string]any{"id": "evt_" + hex.EncodeToString(id), "type": typ, "time": now.UTC().Format(time.RFC3339Nano), "data": data})
	if err != nil {
		return fmt.Errorf("event payload: %w", err)
	}
	_, err = tx.EnqueueOutbox(ctx, store.OutboxItem{Kind: store.OutboxEvent, Topic: typ, UserID: userID, Payload: payload, CreatedAt: now})
	return err
}

func enqueueEmail(ctx context.Context, tx *store.Tx, u campaign.User, template string, now time.Time, data map[string]string) error {
	locale := u.Locale
	if locale == "" {
		locale = "zh-Hans"
	}
	data["name"] = u.Name
	payload, err := json.Marshal(map[string]any{"to": u.Email, "locale": locale, "template": template, "data": data})
	if err != nil {
		return fmt.Errorf("email payload: %w", err)
	}
	_, err = tx.EnqueueOutbox(ctx, store.OutboxItem{Kind: store.OutboxEmail, Topic: template, UserID: u.ID, Payload: payload, CreatedAt: now})
	return err
}

func joinKinds(kinds []string) string {
	out := ""
	for i, k := range kinds {
		if i > 0 {
			out += ","
		}
		out += k
	}
	return out
}

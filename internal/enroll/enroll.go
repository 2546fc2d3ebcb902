// Package enroll adds replacement factors to an account. The first confirmed factor retires SMS
// verification: in one transaction the factor is stored, the state moves to retired, recovery
// codes are made, the verification grants are used up, the history records it, and the outbox
// receives the confirmation (by email, or by text message to a user without one) and the
// user.migrated event. A change while a "this wasn't me" locked the account's changes is refused
// (campaign.ErrChangesLocked) until the user verifies their identity again.
package enroll

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
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
	notices  *securitynotice.Service
}

// New returns an enrollment service; notices tells the user of each change.
func New(st *store.SQL, clk clock.Clock, recovery RecoveryCodes, policy Policy, notices *securitynotice.Service) *Service {
	return &Service{st: st, clock: clk, recovery: recovery, policy: policy, notices: notices}
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
		u, err := unlocked(ctx, tx, userID)
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
		if _, err := tx.EnqueueOutbox(ctx, outbox.FactorEnrolled(userID, f.ID, f.Kind, now)); err != nil {
			return err
		}
		all := append(existing, f)
		if u.State == campaign.StateRetired || !s.completes(all) {
			if u.State != campaign.StateRetired && u.State != campaign.StateEnrolled {
				if err := tx.SetState(ctx, u.ID, campaign.StateEnrolled, audit.StateChanged.Event(u.ID, c, now, nil)); err != nil {
					return err
				}
			}
			return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.FactorAdded, Kind: f.Kind, Client: c, At: now})
		}
		out.First = true // the confirmation is this change's notice
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
		if err := s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.Checkup, Client: c, At: now, SendAt: due}); err != nil {
			return err
		}
	}
	if _, err := tx.EnqueueOutbox(ctx, outbox.UserMigrated(u.ID, kinds, now)); err != nil {
		return err
	}
	return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.Retired, Kind: strings.Join(kinds, ","), Client: c, At: now})
}

// Rename renames one of the user's factors.
func (s *Service) Rename(ctx context.Context, userID string, factorID int64, name string, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := unlocked(ctx, tx, userID); err != nil {
			return err
		}
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
		u, err := unlocked(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := tx.RemoveFactor(ctx, userID, f.ID); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.FactorRemoved.Event(userID, c, now, map[string]string{"kind": f.Kind, "name": f.Name})); err != nil {
			return err
		}
		if _, err := tx.EnqueueOutbox(ctx, outbox.FactorRemoved(userID, f.ID, f.Kind, now)); err != nil {
			return err
		}
		return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.FactorRemoved, Kind: f.Kind, Client: c, At: now})
	})
}

// unlocked reads the user inside tx, refusing with campaign.ErrChangesLocked while a "this wasn't
// me" holds their changes.
func unlocked(ctx context.Context, tx *store.Tx, userID string) (campaign.User, error) {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return u, err
	}
	if u.ChangesLocked() {
		return u, campaign.ErrChangesLocked
	}
	return u, nil
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

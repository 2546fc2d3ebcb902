package staff

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/store"
)

// Staff sign in with a factor of their own: an authenticator app (here) or a passkey, enrolled
// from the setup link with the code users' factors use (internal/factor), stored apart from any
// user's (staff_factors), and bound to Owner(ID) so a secret cannot pass for a user's.

// Owner is what a staff member's factor secrets are bound to: never a user ID.
func Owner(staffID string) string { return "staff:" + staffID }

// Sign-in errors.
var (
	// ErrSignInFailed refuses a sign-in without saying whether the email is a staff member's.
	ErrSignInFailed = errors.New("staff: sign-in failed")
	// ErrWrongCode refuses a setup's first code from the app.
	ErrWrongCode = errors.New("staff: wrong code")
	// ErrSetupExpired means the shown secret is too old to confirm (totp.SetupTTL) or was used.
	ErrSetupExpired = errors.New("staff: the setup expired")
)

// signInMethod is the limiter's method of a staff TOTP sign-in, counted per email address.
const signInMethod = "staff_totp"

// BeginTOTPSetup makes a new authenticator app secret for m (the app shows it under the service's
// name and m's email), to confirm within totp.SetupTTL.
func (s *Service) BeginTOTPSetup(ctx context.Context, m Member) (totp.Setup, error) {
	return s.totp.BeginSetup(ctx, Owner(m.ID), m.Email, s.clock.Now())
}

// FinishTOTPSetup confirms the app's first code for the secret of a setup (ceremony), and in one
// transaction stores the factor, uses up the setup link (token) and makes m active, recording it.
func (s *Service) FinishTOTPSetup(ctx context.Context, token string, m Member, secret, ceremony, code, clientIP string) error {
	now := s.clock.Now()
	f, err := s.totp.Confirm(Owner(m.ID), "", secret, code, now)
	if errors.Is(err, totp.ErrWrongCode) {
		return ErrWrongCode
	}
	if err != nil {
		return err
	}
	f.UserID = m.ID
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := totp.TakeSetup(ctx, tx, ceremony, now); errors.Is(err, store.ErrNotFound) {
			return ErrSetupExpired
		} else if err != nil {
			return err
		}
		if err := TakeSetupLink(ctx, tx, token, m, store.FactorTOTP, clientIP, now); err != nil {
			return err
		}
		_, err := tx.InsertStaffFactor(ctx, f)
		return err
	})
}

// SignInTOTP signs a staff member in with their email and a code from their authenticator app,
// and records it. Answers are limited per email address (and client) as users' are; a wrong
// code, an unknown or a disabled member all give ErrSignInFailed (or the lock, limit.ErrLocked).
func (s *Service) SignInTOTP(ctx context.Context, email, code, clientIP string) (Member, error) {
	now := s.clock.Now()
	email, err := NormalizeEmail(email)
	if err != nil {
		return Member{}, ErrSignInFailed
	}
	a, err := s.limits.Reserve(ctx, "staff:"+email, signInMethod, clientIP, now)
	if err != nil {
		return Member{}, err
	}
	defer a.Void(ctx)
	m, err := s.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Member{}, err
	}
	replayed := false
	if err == nil && m.Status == Active {
		factors, err := s.st.StaffFactors(ctx, m.ID)
		if err != nil {
			return Member{}, err
		}
		for _, f := range factors {
			if f.Kind != store.FactorTOTP {
				continue
			}
			f.UserID = Owner(m.ID)
			step, err := s.totp.Match(f, code, now)
			switch {
			case err == nil:
				used, err := s.st.UseStaffTOTPStep(ctx, f.ID, step, now)
				if err != nil {
					return Member{}, err
				}
				if !used {
					replayed = true
					continue
				}
				if err := a.Right(ctx); err != nil {
					return Member{}, err
				}
				return m, s.signedIn(ctx, m, store.FactorTOTP, clientIP, now)
			case errors.Is(err, totp.ErrReplayed):
				replayed = true
			case !errors.Is(err, totp.ErrWrongCode):
				return Member{}, err
			}
		}
	}
	if replayed {
		return Member{}, ErrSignInFailed // the right code, used already: not counted
	}
	var verdict error
	err = s.st.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		_, v := a.Wrong(ctx, tx, now)
		var locked limit.ErrLocked
		var wrong limit.ErrWrong
		switch {
		case errors.As(v, &locked):
			verdict = v
		case errors.As(v, &wrong):
			verdict = ErrSignInFailed
		default:
			return v
		}
		return nil
	})
	if err != nil {
		return Member{}, fmt.Errorf("staff sign-in: %w", err)
	}
	return Member{}, verdict
}

// signedIn records a staff member's sign-in with a factor of kind.
func (s *Service) signedIn(ctx context.Context, m Member, kind, clientIP string, now time.Time) error {
	return s.Log(ctx, Entry{Actor: m.Actor(clientIP), Action: ActionSignIn, At: now, Detail: map[string]string{"kind": kind}})
}

// SignedOut records a staff member's sign-out.
func (s *Service) SignedOut(ctx context.Context, m Member, clientIP string) error {
	return s.Log(ctx, Entry{Actor: m.Actor(clientIP), Action: ActionSignOut})
}

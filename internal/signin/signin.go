// Package signin signs a user in again with a replacement factor: an authenticator app code, an
// email code or a recovery code (passkeys sign in through internal/factor/passkey). Wrong answers
// are limited per account and per client like verification, and no answer says whether an
// account exists.
package signin

import (
	"context"
	"errors"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/store"
)

// Methods, as named in limits and history.
const (
	MethodTOTP     = "totp"
	MethodEmail    = "signin_email"
	MethodRecovery = "recovery"
	MethodPasskey  = "passkey"
)

// Authentication method references (RFC 8176) for what a sign-in used, which the session keeps
// and the OpenID Connect provider puts in the ID token's amr claim.
const (
	AMRHardwareKey = "hwk"  // a passkey bound to one device (not backup eligible)
	AMRSoftwareKey = "swk"  // a synced passkey (backup eligible): the key lives in a password manager
	AMRUser        = "user" // the authenticator verified the user (PIN, biometrics)
	AMROTP         = "otp"  // a one-time code: an authenticator app, an email code, a recovery code
	AMRSMS         = "sms"  // a code sent by SMS, as before the retirement
)

// PasskeyMethods returns the amr values of a passkey sign-in: hwk for a device-bound passkey,
// swk for a synced one, with user when the authenticator verified the user.
func PasskeyMethods(backupEligible, userVerified bool) []string {
	m := []string{AMRHardwareKey}
	if backupEligible {
		m[0] = AMRSoftwareKey
	}
	if userVerified {
		m = append(m, AMRUser)
	}
	return m
}

// PhishingResistant reports whether a sign-in with methods was phishing-resistant: a passkey,
// which answers only on this portal's origin.
func PhishingResistant(methods []string) bool {
	for _, m := range methods {
		if m == AMRHardwareKey || m == AMRSoftwareKey {
			return true
		}
	}
	return false
}

// ErrFailed is the one answer to a wrong account or a wrong code.
var ErrFailed = errors.New("sign-in failed")

// Service signs users in.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	ident    *identity.Service
	totp     *totp.Service
	limits   *limit.Limiter
	recovery *recovery.Service
}

// New returns a sign-in service.
func New(st *store.SQL, clk clock.Clock, ident *identity.Service, t *totp.Service, limits *limit.Limiter, recovery *recovery.Service) *Service {
	return &Service{st: st, clock: clk, ident: ident, totp: t, limits: limits, recovery: recovery}
}

// Result is a successful sign-in.
type Result struct {
	UserID   string
	FactorID int64    // 0 for a recovery code
	Methods  []string // what was used, as amr values (RFC 8176)
}

// TOTP signs in with a code from an authenticator app enrolled on the account named by account.
// The answer is reserved against the limits before it is checked; the right code that a racing
// request used first counts as no wrong answer.
func (s *Service) TOTP(ctx context.Context, account, code string, c audit.Client) (Result, error) {
	now := s.clock.Now()
	sub, err := s.ident.Find(ctx, account)
	if err != nil {
		return Result{}, err
	}
	a, err := s.limits.Reserve(ctx, sub.Key, MethodTOTP, c.IP, now)
	if err != nil {
		return Result{}, err
	}
	defer a.Void(ctx)
	replayed := false
	if sub.UserID != "" {
		factors, err := s.st.Factors(ctx, sub.UserID)
		if err != nil {
			return Result{}, err
		}
		for _, f := range factors {
			if f.Kind != store.FactorTOTP {
				continue
			}
			err := s.totp.Check(ctx, f, code, now)
			switch {
			case err == nil:
				if err := a.Right(ctx); err != nil {
					return Result{}, err
				}
				return s.succeed(ctx, sub, MethodTOTP, f.ID, c, now)
			case errors.Is(err, totp.ErrReplayed):
				replayed = true
			case !errors.Is(err, totp.ErrWrongCode):
				return Result{}, err
			}
		}
	}
	if replayed {
		return Result{}, ErrFailed // the right code, used already: the same answer, not counted
	}
	return Result{}, s.fail(ctx, a, sub, MethodTOTP, c, now)
}

// SendEmailCode sends a sign-in code to the email factor of the account named by account, or
// goes through the same motions when there is none. It returns the subject to check against.
func (s *Service) SendEmailCode(ctx context.Context, account string, c audit.Client) (identity.Subject, error) {
	sub, err := s.ident.Find(ctx, account)
	if err != nil {
		return identity.Subject{}, err
	}
	_, err = s.ident.SendSignInEmailCode(ctx, sub, c)
	return sub, err
}

// EmailCode signs in with the code sent by SendEmailCode.
func (s *Service) EmailCode(ctx context.Context, sub identity.Subject, code string, c audit.Client) (Result, error) {
	now := s.clock.Now()
	matched, err := s.ident.MatchSignInEmailCode(ctx, sub, code, c)
	if err != nil {
		return Result{}, err
	}
	var factorID int64
	factors, err := s.st.Factors(ctx, sub.UserID)
	if err != nil {
		return Result{}, err
	}
	for _, f := range factors {
		if f.Kind == store.FactorEmail && f.Email == matched.Target {
			factorID = f.ID
		}
	}
	if factorID == 0 {
		return Result{}, ErrFailed // the factor was removed since the code was sent
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := matched.Consume(ctx, tx, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, audit.SignInSucceeded.Event(sub.UserID, c, now, map[string]string{"method": MethodEmail}))
	})
	if err != nil {
		return Result{}, err
	}
	if err := s.st.TouchFactor(ctx, factorID, now); err != nil {
		return Result{}, err
	}
	if err := s.Completed(ctx, sub.UserID, c); err != nil {
		return Result{}, err
	}
	return Result{UserID: sub.UserID, FactorID: factorID, Methods: []string{AMROTP}}, nil
}

// Recovery signs in with one of the account's recovery codes, using it up. The right code that a
// racing request used first counts as no wrong answer.
func (s *Service) Recovery(ctx context.Context, account, code string, c audit.Client) (Result, error) {
	now := s.clock.Now()
	sub, err := s.ident.Find(ctx, account)
	if err != nil {
		return Result{}, err
	}
	a, err := s.limits.Reserve(ctx, sub.Key, MethodRecovery, c.IP, now)
	if err != nil {
		return Result{}, err
	}
	defer a.Void(ctx)
	if sub.UserID != "" {
		err := s.recovery.Use(ctx, sub.UserID, code, c, now, func(tx *store.Tx) error {
			return tx.AppendEvent(ctx, audit.SignInSucceeded.Event(sub.UserID, c, now, map[string]string{"method": MethodRecovery}))
		})
		switch {
		case err == nil:
			if err := a.Right(ctx); err != nil {
				return Result{}, err
			}
			if err := s.Completed(ctx, sub.UserID, c); err != nil {
				return Result{}, err
			}
			return Result{UserID: sub.UserID, Methods: []string{AMROTP}}, nil
		case errors.Is(err, store.ErrSpent):
			return Result{}, ErrFailed // the right code, used already: the same answer, not counted
		case !errors.Is(err, recovery.ErrInvalid):
			return Result{}, err
		}
	}
	return Result{}, s.fail(ctx, a, sub, MethodRecovery, c, now)
}

// Passkey records a passkey sign-in that internal/factor/passkey verified.
func (s *Service) Passkey(ctx context.Context, l passkey.Login, c audit.Client) (Result, error) {
	if err := s.st.AppendEvent(ctx, audit.SignInSucceeded.Event(l.UserID, c, s.clock.Now(), map[string]string{"method": MethodPasskey})); err != nil {
		return Result{}, err
	}
	if err := s.Completed(ctx, l.UserID, c); err != nil {
		return Result{}, err
	}
	return Result{UserID: l.UserID, FactorID: l.Factor.ID, Methods: PasskeyMethods(l.Factor.BackupEligible, l.UserVerified)}, nil
}

// Completed runs after any successful sign-in: the user proved possession of the account, so
// the wrong sign-in answers of every method are forgiven, ending their locks (someone who knows
// the user's phone number cannot keep an authenticator app locked for a user who signs in with a
// passkey or a recovery code); and a due check-up is cleared and recorded.
func (s *Service) Completed(ctx context.Context, userID string, c audit.Client) error {
	now := s.clock.Now()
	if err := s.limits.Forgive(ctx, identity.ForUser(userID, false).Key, MethodTOTP, MethodEmail, MethodRecovery); err != nil {
		return err
	}
	done, err := s.st.CompleteCheckup(ctx, userID, now)
	if err != nil || !done {
		return err
	}
	return s.st.AppendEvent(ctx, audit.CheckupCompleted.Event(userID, c, now, nil))
}

func (s *Service) succeed(ctx context.Context, sub identity.Subject, method string, factorID int64, c audit.Client, now time.Time) (Result, error) {
	if err := s.st.AppendEvent(ctx, audit.SignInSucceeded.Event(sub.UserID, c, now, map[string]string{"method": method})); err != nil {
		return Result{}, err
	}
	if err := s.Completed(ctx, sub.UserID, c); err != nil {
		return Result{}, err
	}
	return Result{UserID: sub.UserID, FactorID: factorID, Methods: []string{AMROTP}}, nil
}

// fail counts the reserved answer as wrong and records it for a known account, in one
// transaction; the answer is ErrFailed, or the lock — the same for an unknown account.
func (s *Service) fail(ctx context.Context, a *limit.Attempt, sub identity.Subject, method string, c audit.Client, now time.Time) error {
	ctx = context.WithoutCancel(ctx)
	var verdict error
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		_, v := a.Wrong(ctx, tx, now)
		var locked limit.ErrLocked
		var wrong limit.ErrWrong
		switch {
		case errors.As(v, &locked):
			verdict = v
		case errors.As(v, &wrong):
			verdict = ErrFailed
		default:
			return v // a store error
		}
		if sub.UserID == "" {
			return nil
		}
		return tx.AppendEvent(ctx, audit.SignInFailed.Event(sub.UserID, c, now, map[string]string{"method": method}))
	})
	if err != nil {
		return err
	}
	return verdict
}

// PasskeyOptionsPerHour bounds the passkey sign-in ceremonies one client may start in an hour.
const PasskeyOptionsPerHour = 120

// ErrTooManyCeremonies refuses a client that started PasskeyOptionsPerHour passkey sign-ins this
// hour already.
var ErrTooManyCeremonies = errors.New("sign-in: too many passkey ceremonies from this client")

// StartPasskey counts a passkey sign-in ceremony that the client starts (also for autofill), in
// the database, so the bound holds across instances; ErrTooManyCeremonies past it.
func (s *Service) StartPasskey(ctx context.Context, c audit.Client) error {
	now := s.clock.Now()
	hour := now.Truncate(time.Hour)
	n, err := s.st.Hit(ctx, "passkey-options-ip:"+c.IP, hour, hour.Add(time.Hour), now)
	if err != nil {
		return err
	}
	if n > PasskeyOptionsPerHour {
		return ErrTooManyCeremonies
	}
	return nil
}

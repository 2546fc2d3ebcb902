package staff

import (
	"context"
	"errors"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/store"
)

// ErrPasskeyFailed refuses a staff passkey ceremony that did not verify, expired, or used a
// passkey that is no active staff member's (a user's passkey included).
var ErrPasskeyFailed = errors.New("staff: the passkey did not sign in")

// passkeyHolder keeps staff members' passkeys in staff_factors, with handles and ceremonies of
// their own (internal/factor/passkey.Holder).
func passkeyHolder(st *store.SQL) passkey.Holder {
	return passkey.Holder{Name: "staff", Factors: st.StaffFactors, ByCredentialID: st.StaffFactorByCredentialID, Use: st.UseStaffPasskey}
}

// BeginPasskeySetup starts making a passkey for m from their setup link; password managers list
// it under m's email. It returns the options for the browser.
func (s *Service) BeginPasskeySetup(ctx context.Context, m Member) ([]byte, error) {
	opts, _, err := s.passkeys.BeginRegistrationFor(ctx, m.ID, m.Email)
	return opts, err
}

// FinishPasskeySetup checks the browser's new passkey for m and, in one transaction, stores it,
// uses up the setup link (token) and makes m active, recording it. passkey.ErrAlreadyRegistered
// when this authenticator holds m's passkey already.
func (s *Service) FinishPasskeySetup(ctx context.Context, token string, m Member, fin passkey.Finish, clientIP string) error {
	f, err := s.passkeys.FinishRegistration(ctx, m.ID, fin.Ceremony, fin.Credential, fin.Name)
	if errors.Is(err, passkey.ErrCeremonyExpired) || errors.Is(err, passkey.ErrVerification) {
		return ErrPasskeyFailed
	}
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := TakeSetupLink(ctx, tx, token, m, store.FactorPasskey, clientIP, s.clock.Now()); err != nil {
			return err
		}
		_, err := tx.InsertStaffFactor(ctx, f)
		return err
	})
}

// BeginPasskeySignIn starts a discoverable staff sign-in: the browser offers whichever staff
// passkey this person has, naming no one first.
func (s *Service) BeginPasskeySignIn(ctx context.Context) ([]byte, error) {
	opts, _, err := s.passkeys.BeginLogin(ctx)
	return opts, err
}

// FinishPasskeySignIn checks the browser's answer and returns the active staff member whose
// passkey it was, recording the sign-in; ErrPasskeyFailed otherwise.
func (s *Service) FinishPasskeySignIn(ctx context.Context, fin passkey.Finish, clientIP string) (Member, error) {
	l, err := s.passkeys.FinishLogin(ctx, fin.Ceremony, fin.Credential, audit.Client{IP: clientIP})
	switch {
	case errors.Is(err, passkey.ErrCeremonyExpired), errors.Is(err, passkey.ErrUnknownCredential),
		errors.Is(err, passkey.ErrVerification), errors.Is(err, passkey.ErrSignCountRegressed):
		return Member{}, ErrPasskeyFailed
	case err != nil:
		return Member{}, err
	}
	m, err := s.Member(ctx, l.UserID)
	if errors.Is(err, ErrNotFound) || err == nil && m.Status != Active {
		return Member{}, ErrPasskeyFailed
	}
	if err != nil {
		return Member{}, err
	}
	return m, s.signedIn(ctx, m, store.FactorPasskey, clientIP, s.clock.Now())
}

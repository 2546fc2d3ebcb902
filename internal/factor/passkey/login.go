package passkey

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/store"
)

// BeginLogin starts a discoverable sign-in: the browser offers whichever of this portal's
// passkeys the person has, so no account is named first and none is revealed. It returns the
// reply for the browser, {"ceremony": ID, "publicKey": request options without allowCredentials},
// which also serves conditional mediation (passkeys offered in the account field's autofill).
func (s *Service) BeginLogin(ctx context.Context) (optionsJSON []byte, ceremonyID string, err error) {
	return s.BeginLoginFor(ctx, "")
}

// BeginLoginFor starts a discoverable sign-in that only the passkeys of userID may finish (a
// service named the account with login_hint); "" admits anyone's, as BeginLogin. The browser is
// told no credential IDs, so the options reveal nothing of the account; FinishLogin refuses
// another account's passkey with ErrOtherAccount.
func (s *Service) BeginLoginFor(ctx context.Context, userID string) (optionsJSON []byte, ceremonyID string, err error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin()
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey login: %w", err)
	}
	if ceremonyID, err = s.save(ctx, s.kind(kindLogin), userID, sd); err != nil {
		return nil, "", fmt.Errorf("begin passkey login: %w", err)
	}
	if optionsJSON, err = options(ceremonyID, assertion.Response); err != nil {
		return nil, "", fmt.Errorf("begin passkey login: %w", err)
	}
	return optionsJSON, ceremonyID, nil
}

// Login is a passkey sign-in that FinishLogin verified.
type Login struct {
	UserID       string
	Factor       store.Factor // the passkey, with its new sign count and backup state
	UserVerified bool         // the authenticator verified the user (PIN, biometrics), not only their presence
}

// FinishLogin checks the browser's answer to a sign-in ceremony and returns the account and the
// passkey factor it used. body is the credential JSON (Finish.Credential); c is recorded in the
// history when a passkey's sign count went backwards. On success the new sign count, backup
// state and last-used time are stored. The ceremony is used up whatever the outcome.
//
// A passkey whose stored sign count is non-zero and which presents a count not above it is
// refused with ErrSignCountRegressed, flagged for support, and an audit.PasskeyCounterRegressed entry is
// written to its owner's history; this is checked only after the signature verified, so a
// stranger who knows a credential ID cannot flag it.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID string, body []byte, c audit.Client) (Login, error) {
	cer, sd, err := s.take(ctx, s.kind(kindLogin), ceremonyID)
	if err != nil {
		return Login{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return Login{}, verification(err)
	}
	f, err := s.holder.ByCredentialID(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.Kind != store.FactorPasskey) {
		return Login{}, ErrUnknownCredential
	}
	if err != nil {
		return Login{}, fmt.Errorf("finish passkey login: %w", err)
	}
	handle := s.Handle(f.UserID)
	if subtle.ConstantTimeCompare(parsed.Response.UserHandle, handle) != 1 {
		return Login{}, verification(errors.New("the user handle does not belong to the passkey's account"))
	}
	wu := &user{handle: handle, name: f.UserID, creds: []webauthn.Credential{credential(f)}}
	_, _, err = s.wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(rawID, f.CredentialID) {
			return nil, errors.New("credential changed during sign-in")
		}
		return wu, nil
	}, sd, parsed)
	if err != nil {
		return Login{}, verification(err)
	}
	if cer.UserID != "" && f.UserID != cer.UserID {
		return Login{}, ErrOtherAccount // a genuine passkey, of an account the sign-in is not for
	}
	ad := parsed.Response.AuthenticatorData
	if f.SignCount != 0 && ad.Counter <= f.SignCount {
		return Login{}, s.regressed(ctx, f, ad.Counter, c)
	}
	now := s.clock.Now()
	ok, err := s.holder.Use(ctx, f.ID, f.SignCount, ad.Counter, ad.Flags.HasBackupState(), now)
	if err != nil {
		return Login{}, fmt.Errorf("finish passkey login: %w", err)
	}
	if !ok {
		// Another sign-in with this passkey was recorded meanwhile; this answer is the older one.
		return Login{}, ErrCeremonyExpired
	}
	f.SignCount, f.BackupState, f.LastUsedAt = ad.Counter, ad.Flags.HasBackupState(), now
	return Login{UserID: f.UserID, Factor: f, UserVerified: ad.Flags.HasUserVerified()}, nil
}

// regressed flags a passkey whose sign count went backwards and records it in the history.
func (s *Service) regressed(ctx context.Context, f store.Factor, got uint32, c audit.Client) error {
	if s.holder.Name != "" {
		return ErrSignCountRegressed // not a user's: no history to write it in
	}
	ev := audit.PasskeyCounterRegressed.Event(f.UserID, c, s.clock.Now(), map[string]string{
		"factor_id": strconv.FormatInt(f.ID, 10),
		"name":      f.Name,
		"stored":    strconv.FormatUint(uint64(f.SignCount), 10),
		"received":  strconv.FormatUint(uint64(got), 10),
	})
	ev.Actor = "system"
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.FlagFactor(ctx, f.ID); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("passkey sign count: %w", err)
	}
	return ErrSignCountRegressed
}

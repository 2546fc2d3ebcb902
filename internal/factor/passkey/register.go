package passkey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// BeginRegistration starts making a passkey for u and returns the reply for the browser,
// {"ceremony": ID, "publicKey": creation options}, and the ceremony's ID. label is how password
// managers list the passkey under the service's name (the user's name or masked phone), never an
// internal ID; the account's existing passkeys are excluded, so one authenticator is not
// registered twice.
func (s *Service) BeginRegistration(ctx context.Context, u campaign.User, label string) (optionsJSON []byte, ceremonyID string, err error) {
	return s.BeginRegistrationFor(ctx, u.ID, label)
}

// BeginRegistrationFor is BeginRegistration for the account owner of the service's holder.
func (s *Service) BeginRegistrationFor(ctx context.Context, owner, label string) (optionsJSON []byte, ceremonyID string, err error) {
	factors, err := s.holder.Factors(ctx, owner)
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	if label = strings.TrimSpace(label); label == "" {
		return nil, "", fmt.Errorf("begin passkey registration: no label for the account")
	}
	wu := &user{handle: s.Handle(owner), name: label, displayName: label, creds: passkeys(factors)}
	exclude := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.wa.BeginRegistration(wu, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	if ceremonyID, err = s.save(ctx, s.kind(kindRegister), owner, sd); err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	if optionsJSON, err = options(ceremonyID, creation.Response); err != nil {
		return nil, "", fmt.Errorf("begin passkey registration: %w", err)
	}
	return optionsJSON, ceremonyID, nil
}

// FinishRegistration checks the browser's answer to a registration ceremony of userID and returns
// the new passkey as a factor ready for Tx.InsertFactor (enroll.Service.Add stores it together
// with the change of state); it stores nothing itself. body is the credential JSON
// (Finish.Credential). name labels the passkey: what the user typed, or the portal's suggestion
// from the browser; it is cleaned and shortened to MaxNameLen characters. The ceremony is used up whatever
// the outcome, so a second attempt needs a new one.
func (s *Service) FinishRegistration(ctx context.Context, userID, ceremonyID string, body []byte, name string) (store.Factor, error) {
	c, sd, err := s.take(ctx, s.kind(kindRegister), ceremonyID)
	if err != nil {
		return store.Factor{}, err
	}
	if c.UserID != userID {
		return store.Factor{}, ErrCeremonyExpired
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return store.Factor{}, verification(err)
	}
	cred, err := s.wa.CreateCredential(&user{handle: s.Handle(userID), name: userID}, sd, parsed)
	if err != nil {
		return store.Factor{}, verification(err)
	}
	if _, err := s.holder.ByCredentialID(ctx, cred.ID); err == nil {
		return store.Factor{}, ErrAlreadyRegistered
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Factor{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	return store.Factor{
		UserID:         userID,
		Kind:           store.FactorPasskey,
		Name:           CleanName(name),
		CredentialID:   cred.ID,
		PublicKey:      cred.PublicKey,
		SignCount:      cred.Authenticator.SignCount,
		Transports:     transportList(cred.Transport),
		AAGUID:         cred.Authenticator.AAGUID,
		BackupEligible: cred.Flags.BackupEligible,
		BackupState:    cred.Flags.BackupState,
		CreatedAt:      s.clock.Now(),
	}, nil
}

// transportList joins the transports the browser reported, keeping only well-formed tokens (such
// as "internal", "hybrid", "usb"), since they come from the client and are stored comma-separated.
func transportList(ts []protocol.AuthenticatorTransport) string {
	var out []string
	for _, t := range ts {
		v := string(t)
		ok := v != "" && len(v) <= 32 && len(out) < 8
		for i := 0; ok && i < len(v); i++ {
			ok = v[i] >= 'a' && v[i] <= 'z' || v[i] >= '0' && v[i] <= '9' || v[i] == '-'
		}
		if ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

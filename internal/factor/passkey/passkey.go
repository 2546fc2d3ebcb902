// Package passkey registers passkeys (discoverable WebAuthn credentials) and signs users in with
// them. The state of a ceremony lives in the database between its two steps, so whichever
// instance receives the browser's answer can finish it, and each ceremony finishes at most once.
package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/store"
)

// Ceremony kinds, as stored with store.SaveCeremony.
const (
	kindRegister = "register"
	kindLogin    = "login"
)

// Errors a ceremony can end with.
var (
	// ErrCeremonyExpired means the ceremony is unknown, expired, already finished, or belongs to
	// another user: the browser must start again.
	ErrCeremonyExpired = errors.New("passkey ceremony expired or unknown")
	// ErrUnknownCredential means the browser offered a passkey this portal does not know, such as
	// one whose factor was removed.
	ErrUnknownCredential = errors.New("passkey not registered")
	// ErrOtherAccount means a passkey of another account answered a sign-in that was for one
	// account only (BeginLoginFor).
	ErrOtherAccount = errors.New("passkey of another account")
	// ErrAlreadyRegistered means the authenticator already holds a passkey of this portal.
	ErrAlreadyRegistered = errors.New("passkey already registered")
	// ErrVerification means the browser's answer did not verify; it wraps the library's reason.
	ErrVerification = errors.New("passkey verification failed")
	// ErrSignCountRegressed means the passkey's sign count did not advance: it may have been
	// copied. The sign-in is refused, the factor flagged for support, and the history records it.
	ErrSignCountRegressed = errors.New("passkey sign count went backwards")
)

// verifyError wraps a library error so that errors.Is(err, ErrVerification) holds and the reason
// stays readable in logs.
type verifyError struct{ err error }

func (e verifyError) Error() string {
	msg := e.err.Error()
	var pe *protocol.Error
	if errors.As(e.err, &pe) && pe.DevInfo != "" {
		msg += " (" + pe.DevInfo + ")"
	}
	return "passkey verification failed: " + msg
}
func (e verifyError) Unwrap() []error { return []error{ErrVerification, e.err} }

func verification(err error) error { return verifyError{err} }

// Settings describe the relying party: the portal as WebAuthn sees it.
type Settings struct {
	RPID    string   // the domain passkeys are bound to
	RPName  string   // the name browsers show while making a passkey
	Origins []string // the origins that may use them
	// TopOrigins are the partner sites that may frame the portal's pages (cross-origin
	// ceremonies, whose clientDataJSON names them as topOrigin); none allows no frame.
	TopOrigins []string
	TTL        time.Duration // how long a ceremony may take; 5 minutes when zero
}

// Service runs registration and sign-in ceremonies.
type Service struct {
	st        *store.SQL
	clock     clock.Clock
	handleKey []byte
	ttl       time.Duration
	wa        *webauthn.WebAuthn
	holder    Holder
}

// Holder is where the passkeys of one kind of account live: users' factors (the default), or
// support staff's own (internal/staff, through ForHolder). Each kind has its own handles and
// ceremonies, so a passkey of one never finishes a ceremony of the other.
type Holder struct {
	Name           string // "" for users; prefixes ceremony kinds and user handles
	Factors        func(ctx context.Context, owner string) ([]store.Factor, error)
	ByCredentialID func(ctx context.Context, id []byte) (store.Factor, error)
	// Use records a sign-in's new sign count; false when the stored count changed meanwhile.
	Use func(ctx context.Context, factorID int64, oldCount, newCount uint32, backupState bool, now time.Time) (bool, error)
}

// ForHolder returns the service for the passkeys h keeps, with the same relying party and keys.
// A holder's passkeys are not flagged in a user's history when their sign count goes backwards;
// the sign-in is refused all the same.
func (s *Service) ForHolder(h Holder) *Service {
	c := *s
	c.holder = h
	return &c
}

// kind is the ceremony kind of what under the service's holder.
func (s *Service) kind(what string) string {
	if s.holder.Name == "" {
		return what
	}
	return s.holder.Name + "_passkey_" + what
}

// New returns a passkey service. handleKey keys the opaque user handles stored on authenticators,
// such as keyring.Derive(keys.Hash, "webauthn handle", 32); it must stay stable, or existing
// passkeys no longer match their accounts.
func New(st *store.SQL, clk clock.Clock, handleKey []byte, set Settings) (*Service, error) {
	if len(handleKey) < 16 {
		return nil, errors.New("passkey: handle key too short")
	}
	if set.TTL <= 0 {
		set.TTL = 5 * time.Minute
	}
	required := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          set.RPID,
		RPDisplayName: set.RPName,
		RPOrigins:     set.Origins,
		// Inside a partner's frame only, and only under the partners' origins.
		RPAllowCrossOrigin:          len(set.TopOrigins) > 0,
		RPTopOrigins:                set.TopOrigins,
		RPTopOriginVerificationMode: protocol.TopOriginExplicitVerificationMode,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		// The browser's own timeout; the ceremony's expiry in the database is what is enforced.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: set.TTL, TimeoutUVD: set.TTL},
			Registration: webauthn.TimeoutConfig{Timeout: set.TTL, TimeoutUVD: set.TTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{st: st, clock: clk, handleKey: handleKey, ttl: set.TTL, wa: wa, holder: Holder{
		Factors: st.Factors, ByCredentialID: st.FactorByCredentialID, Use: st.UsePasskey,
	}}, nil
}

// Handle returns the opaque user handle of an account: 32 bytes keyed from the account ID, so an
// authenticator holds nothing that identifies the person.
func (s *Service) Handle(userID string) []byte {
	m := hmac.New(sha256.New, s.handleKey)
	if s.holder.Name != "" {
		m.Write([]byte("webauthn-" + s.holder.Name + "\x00" + userID))
		return m.Sum(nil)
	}
	m.Write([]byte("webauthn-user\x00" + userID))
	return m.Sum(nil)
}

// user adapts an account and its passkeys to webauthn.User.
type user struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.displayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credential turns a stored passkey factor back into the library's credential record.
func credential(f store.Factor) webauthn.Credential {
	var transports []protocol.AuthenticatorTransport
	for _, t := range strings.Split(f.Transports, ",") {
		if t = strings.TrimSpace(t); t != "" {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
	}
	return webauthn.Credential{
		ID:                f.CredentialID,
		PublicKey:         f.PublicKey,
		AttestationFormat: string(protocol.AttestationFormatNone),
		Transport:         transports,
		Flags:             webauthn.CredentialFlags{UserPresent: true, BackupEligible: f.BackupEligible, BackupState: f.BackupState},
		Authenticator:     webauthn.Authenticator{AAGUID: f.AAGUID, SignCount: f.SignCount},
	}
}

// passkeys returns the passkey factors among fs as credential records.
func passkeys(fs []store.Factor) []webauthn.Credential {
	var out []webauthn.Credential
	for _, f := range fs {
		if f.Kind == store.FactorPasskey && len(f.CredentialID) > 0 {
			out = append(out, credential(f))
		}
	}
	return out
}

// save stores a ceremony's session data under a new random ID.
func (s *Service) save(ctx context.Context, kind, userID string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("save ceremony: %w", err)
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("save ceremony: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	c := store.Ceremony{ID: id, UserID: userID, Kind: kind, Data: data, ExpiresAt: s.clock.Now().Add(s.ttl)}
	if err := s.st.SaveCeremony(ctx, c); err != nil {
		return "", err
	}
	return id, nil
}

// take removes a live ceremony of kind and returns its session data; ErrCeremonyExpired when there
// is none.
func (s *Service) take(ctx context.Context, kind, id string) (store.Ceremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if id == "" || len(id) > 64 {
		return store.Ceremony{}, sd, ErrCeremonyExpired
	}
	c, err := s.st.TakeCeremony(ctx, id, kind, s.clock.Now())
	if errors.Is(err, store.ErrNotFound) {
		return c, sd, ErrCeremonyExpired
	}
	if err != nil {
		return c, sd, err
	}
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return c, sd, fmt.Errorf("ceremony %s: %w", kind, err)
	}
	return c, sd, nil
}

// options writes the reply to the browser's request for options: the ceremony ID beside the
// library's {"publicKey": …} object.
func options(ceremonyID string, publicKey any) ([]byte, error) {
	return json.Marshal(struct {
		Ceremony  string `json:"ceremony"`
		PublicKey any    `json:"publicKey"`
	}{ceremonyID, publicKey})
}

// Finish is the JSON body passkey.js posts to a finish URL.
type Finish struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name,omitempty"` // registration only; may be empty
	Credential json.RawMessage `json:"credential"`     // PublicKeyCredential.toJSON()
}

// ParseFinish reads the body passkey.js posts to a finish URL. A body that is not such JSON gives
// ErrVerification.
func ParseFinish(body []byte) (Finish, error) {
	var f Finish
	if err := json.Unmarshal(body, &f); err != nil {
		return Finish{}, verification(fmt.Errorf("read finish request: %w", err))
	}
	if f.Ceremony == "" || len(f.Credential) == 0 {
		return Finish{}, verification(errors.New("finish request without ceremony or credential"))
	}
	return f, nil
}

// Package recovery makes and redeems recovery codes: ten single-use codes a user receives with
// the first replacement factor, to sign in when every factor is lost. The codes are shown once and
// stored only as keyed hashes; making a new set voids the old one.
//
// A code is 16 characters from a 32-symbol alphabet without the look-alikes 0, O, 1 and I,
// written as four groups of four (such as 7KQ2-M9XD-4HNP-WC3R). Each character carries 5 bits,
// so a code carries 80 bits of randomness — more than the 64 bits the security review asks
// for — while 8 characters (40 bits) would not. Every character is drawn uniformly: 32 divides
// 256, so taking a random byte modulo 32 has no bias.
package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/codeinput"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
)

// The shape of a set of codes.
const (
	Count     = 10                                 // codes in a set
	Length    = 16                                 // characters in a code, without dashes
	GroupSize = 4                                  // characters between dashes as shown
	Alphabet  = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // 32 symbols, none easily mistaken for another
	Bits      = Length * 5                         // randomness per code: 5 bits per character
)

// ErrInvalid means the input is not one of the user's unused recovery codes: mistyped, used
// already, voided by a newer set, or someone else's.
var ErrInvalid = errors.New("recovery: not a valid recovery code")

// ErrNoFactor refuses recovery codes to a user without a replacement factor: the codes come
// after the first factor.
var ErrNoFactor = errors.New("recovery: the account has no factor yet")

// Generate makes a set of Count distinct codes, formatted for display (XXXX-XXXX-XXXX-XXXX).
func Generate() ([]string, error) {
	codes := make([]string, 0, Count)
	seen := make(map[string]bool, Count)
	buf := make([]byte, Length)
	for len(codes) < Count {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("recovery codes: %w", err)
		}
		for i, b := range buf {
			buf[i] = Alphabet[b%byte(len(Alphabet))]
		}
		code := format(string(buf))
		if !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}
	clear(buf)
	return codes, nil
}

func format(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += GroupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+GroupSize, len(code))])
	}
	return b.String()
}

// Normalize reads a code as a person may type it — lower case, without dashes, with spaces,
// with full-width characters from a Chinese input method (internal/codeinput) — and returns its
// Length characters in upper case, or false when it cannot be a code.
func Normalize(input string) (string, bool) {
	return codeinput.Normalize(input, Alphabet, Length)
}

// Hash is the stored form of a user's code: HMAC-SHA256 under key over the user ID and the
// normalised code, so equal codes of two users differ and a leaked table reveals nothing without
// the key. An input that does not normalise is hashed as given (and so matches no stored code).
func Hash(key []byte, userID, code string) []byte {
	if n, ok := Normalize(code); ok {
		code = n
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("smsretire recovery code\x00" + userID + "\x00" + code))
	return m.Sum(nil)
}

// Service stores and redeems users' recovery codes.
type Service struct {
	st      *store.SQL
	key     []byte
	notices *securitynotice.Service
}

// New returns the recovery-code service. key keys the hashes; give it a key of its own, such as
// keyring.Derive(keys.Hash, "recovery codes", 32). notices tells the user of each use and new set.
func New(st *store.SQL, key []byte, notices *securitynotice.Service) *Service {
	return &Service{st: st, key: key, notices: notices}
}

// NewSet makes a set of codes and their hashes for userID without storing anything; it fits
// enroll.RecoveryCodes, which stores the hashes in the transaction that adds the first factor.
func (s *Service) NewSet(userID string) ([]string, [][]byte, error) {
	codes, err := Generate()
	if err != nil {
		return nil, nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = Hash(s.key, userID, c)
	}
	return codes, hashes, nil
}

// Regenerate replaces the user's codes with a new set, voiding every old code, and records it in
// the history, in one transaction. The new codes are returned to be shown once. While a "this
// wasn't me" locks the account's changes it refuses with campaign.ErrChangesLocked.
func (s *Service) Regenerate(ctx context.Context, userID string, c audit.Client, now time.Time) ([]string, error) {
	codes, hashes, err := s.NewSet(userID)
	if err != nil {
		return nil, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if u.ChangesLocked() {
			return campaign.ErrChangesLocked
		}
		factors, err := tx.Factors(ctx, userID)
		if err != nil {
			return err
		}
		if len(factors) == 0 {
			return ErrNoFactor
		}
		if err := tx.ReplaceRecoveryCodes(ctx, userID, hashes, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.RecoveryRegenerated.Event(userID, c, now, map[string]string{"count": strconv.Itoa(len(codes))})); err != nil {
			return err
		}
		return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.RecoveryRegenerated, Client: c, At: now})
	})
	if err != nil {
		return nil, fmt.Errorf("regenerate recovery codes: %w", err)
	}
	return codes, nil
}

// Use redeems one of the user's unused codes, in one transaction: it marks the code used, records
// recovery.used in the history, writes the notice to where the user's notices go and then runs
// then (when not nil), which adds what the caller's own change needs, such as the sign-in event.
// ErrInvalid when input is not such a code; when it is one of the user's codes used already it
// is also store.ErrSpent. A code works once, even under racing requests.
// Limiting wrong attempts is the caller's (internal/limit).
func (s *Service) Use(ctx context.Context, userID, input string, c audit.Client, now time.Time, then func(tx *store.Tx) error) error {
	code, ok := Normalize(input)
	if !ok {
		return ErrInvalid
	}
	hash := Hash(s.key, userID, code)
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		used, err := tx.UseRecoveryCode(ctx, userID, hash, now)
		if errors.Is(err, store.ErrSpent) {
			return fmt.Errorf("%w: %w", ErrInvalid, err) // also store.ErrSpent: the caller may not count it as a guess
		}
		if err != nil {
			return err
		}
		if !used {
			return ErrInvalid
		}
		if err := tx.AppendEvent(ctx, audit.RecoveryUsed.Event(userID, c, now, nil)); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.RecoveryUsed, Client: c, At: now}); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}

// Left counts the user's unused codes, so the security page can urge a new set when few remain.
func (s *Service) Left(ctx context.Context, userID string) (int, error) {
	return s.st.RecoveryCodesLeft(ctx, userID)
}

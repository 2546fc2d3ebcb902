// Package securitynotice tells a user about a change to their account — a factor added or removed, a
// recovery code used, new recovery codes, a sign-in from a device not used before, a changed email
// or phone, the retirement of SMS and its check-up — on a channel other than the one just used, so
// that a change they did not make reaches them. Notices go through the outbox in the transaction
// of the change: by email to the registered address, or by an informational text message (no
// code) to a user without one.
//
// Every email carries a "this wasn't me" link: signed, unguessable, single-use (its row in
// disavowals is used up by one atomic update). Following it ends every session and verification
// of the user, locks changes until they verify their identity again, puts back a contact detail the
// reported change replaced, and records it all in the history (Disavow).
package securitynotice

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
)

// The changes a notice reports, named by their history event where they have one. Each has its
// own words in both languages (views/message).
var (
	FactorAdded         = string(audit.FactorAdded)         // Kind: the factor's kind
	FactorRemoved       = string(audit.FactorRemoved)       // Kind: the factor's kind
	RecoveryUsed        = string(audit.RecoveryUsed)        // someone signed in with a recovery code
	RecoveryRegenerated = string(audit.RecoveryRegenerated) // a new set of recovery codes
	NewDevice           = string(audit.DeviceNew)           // a sign-in from a device not used before
	SignInQR            = string(audit.SignInQR)            // a sign-in with a QR code approved on the phone
	ContactChanged      = string(audit.ContactChanged)      // to the old channels; Data: field (email or phone), to (the new value, masked)
	ContactRegistered   = "contact.registered"              // to the new channel of a contact change; Data as ContactChanged
	Retired             = string(audit.SMSRetired)          // SMS verification retired; Kind: the factors' kinds, comma-separated
	Checkup             = "checkup.reminder"                // the check-up reminder, sent at SendAt; At: the retirement
	// FactorsReset: support removed every factor, so the user verifies and enrolls anew; for
	// SendEverywhere with the removed email factors' addresses, and no Client (no device).
	FactorsReset = "support.factors_reset"
	// Approval from a signed-in phone (internal/approval): a sign-in it approved, and approvals
	// suspended after failures in a row or "this wasn't me"; Data: minutes (of the suspension).
	ApprovalSignedIn  = "approval.signed_in"
	ApprovalSuspended = string(audit.ApprovalSuspended)
)

// LinkTTL is how long a "this wasn't me" link works after its email is due.
const LinkTTL = 30 * 24 * time.Hour

// Notice is one change to tell a user about.
type Notice struct {
	Change string
	Kind   string            // the factor kind of a factor change; the kinds of a retirement
	Client audit.Client      // the device and IP the change came from; zero when support or the system made it
	At     time.Time         // when it happened
	SendAt time.Time         // when to send it; zero for at once
	Data   map[string]string // more for the words of the message, such as a contact change's field and to
	// Undo is what "this wasn't me" puts back: {"field": "email", "from": new, "to": old,
	// "changed_at": RFC 3339 of the old value's own change or ""} for a contact change.
	Undo map[string]string
}

// Channel is where a notice goes: an email address, or a phone number for a text message.
type Channel struct {
	Kind string // store.OutboxEmail or store.OutboxSMS
	To   string
}

// Masked is the channel's address as a page may show it: z***@example.com, 138****8001.
func (ch Channel) Masked() string {
	if ch.Kind == store.OutboxEmail {
		return campaign.MaskEmail(ch.To)
	}
	return phone.Mask(ch.To)
}

// Channels returns where the user's notices go: the registered email, or, for a user without
// one, text messages to the registered phone. My security says so.
func Channels(u campaign.User) []Channel {
	if u.Email != "" {
		return []Channel{{Kind: store.OutboxEmail, To: u.Email}}
	}
	if u.Phone != "" {
		return []Channel{{Kind: store.OutboxSMS, To: u.Phone}}
	}
	return nil
}

// Service writes notices and honours their "this wasn't me" links.
type Service struct {
	st    *store.SQL
	clock clock.Clock
	key   []byte // signs the links
}

// New returns the notice service; key signs the "this wasn't me" links (give it a key of its own,
// such as keyring.Derive(keys.Token, "not-me links", 32)).
func New(st *store.SQL, clk clock.Clock, key []byte) *Service {
	return &Service{st: st, clock: clk, key: key}
}

// Send writes the notice, inside tx, to where the user's notices go (Channels): the registered
// email with a "this wasn't me" link, or a text message without one.
func (s *Service) Send(ctx context.Context, tx *store.Tx, u campaign.User, n Notice) error {
	for _, ch := range Channels(u) {
		if err := s.write(ctx, tx, u, ch, n); err != nil {
			return err
		}
	}
	return nil
}

// SendEverywhere writes the notice, inside tx, to every channel the user has: the registered email
// and each of extraEmails (the addresses of email factors, say), each with its own "this wasn't
// me" link, and a text message to the registered phone. For changes that may have taken a channel
// from the user — their contact details, or support resetting their factors — so that no channel
// the user still holds misses it. An address named twice gets one message.
func (s *Service) SendEverywhere(ctx context.Context, tx *store.Tx, u campaign.User, n Notice, extraEmails ...string) error {
	seen := map[string]bool{}
	for _, to := range append([]string{u.Email}, extraEmails...) {
		if to == "" || seen[to] {
			continue
		}
		seen[to] = true
		if err := s.write(ctx, tx, u, Channel{Kind: store.OutboxEmail, To: to}, n); err != nil {
			return err
		}
	}
	if u.Phone == "" {
		return nil
	}
	return s.write(ctx, tx, u, Channel{Kind: store.OutboxSMS, To: u.Phone}, n)
}

// SendTo writes the notice, inside tx, to one channel only: the new address or number of a contact
// change, say.
func (s *Service) SendTo(ctx context.Context, tx *store.Tx, u campaign.User, ch Channel, n Notice) error {
	return s.write(ctx, tx, u, ch, n)
}

// write enqueues one message of the notice to one channel, with its outbox builder; an email gets
// a link of its own.
func (s *Service) write(ctx context.Context, tx *store.Tx, u campaign.User, ch Channel, n Notice) error {
	switch n.Change {
	case Retired, Checkup, FactorAdded, FactorRemoved, RecoveryUsed, RecoveryRegenerated, NewDevice, ContactChanged, ContactRegistered, FactorsReset,
		SignInQR, ApprovalSignedIn, ApprovalSuspended:
	default:
		return fmt.Errorf("security notice: unknown change %q", n.Change)
	}
	at := n.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	token := ""
	if ch.Kind == store.OutboxEmail {
		var err error
		if token, err = s.link(ctx, tx, u.ID, n, at); err != nil {
			return err
		}
	}
	r := outbox.Recipient{Kind: ch.Kind, To: ch.To}
	var it store.OutboxItem
	switch n.Change {
	case Retired:
		it = outbox.RetiredConfirmation(u, r, strings.Split(n.Kind, ","), at, token)
	case Checkup:
		it = outbox.CheckupReminder(u, r, at, n.SendAt, token)
	default:
		it = outbox.SecurityNotice(u, r, n.Change, n.Kind, n.Client, at, n.Data, token)
	}
	if _, err := tx.EnqueueOutbox(ctx, it); err != nil {
		return fmt.Errorf("security notice %s: %w", n.Change, err)
	}
	return nil
}

// The token of a link: tokenRandom random bytes and the first tokenMAC bytes of their HMAC, written
// in an alphabet of letters only, so no run of digits in an email reads like a code.
const (
	tokenRandom = 20
	tokenMAC    = 10
)

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyzABCDEF").WithPadding(base32.NoPadding)

// link makes the "this wasn't me" link of one email and stores it, inside tx; it returns the token,
// which travels to the outbox as the message's secret (sealed at rest, dropped once sent).
func (s *Service) link(ctx context.Context, tx *store.Tx, userID string, n Notice, now time.Time) (string, error) {
	b := make([]byte, tokenRandom, tokenRandom+tokenMAC)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("not-me link: %w", err)
	}
	b = append(b, s.mac(b)...)
	token := tokenEncoding.EncodeToString(b)
	from := now
	if n.SendAt.After(from) {
		from = n.SendAt
	}
	err := tx.CreateDisavowal(ctx, store.Disavowal{ID: tokenID(token), UserID: userID, Change: n.Change, Undo: n.Undo,
		CreatedAt: now, ExpiresAt: from.Add(LinkTTL)})
	return token, err
}

func (s *Service) mac(random []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("smsretire not-me link\x00"))
	m.Write(random)
	return m.Sum(nil)[:tokenMAC]
}

// signed reports whether token is a link this service made: well formed and signed.
func (s *Service) signed(token string) bool {
	if len(token) > 64 {
		return false
	}
	b, err := tokenEncoding.DecodeString(token)
	if err != nil || len(b) != tokenRandom+tokenMAC {
		return false
	}
	return hmac.Equal(b[tokenRandom:], s.mac(b[:tokenRandom]))
}

// tokenID is the stored ID of a token: its SHA-256, so the table holds no usable link.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Errors of a "this wasn't me" link. None says whose it is.
var (
	ErrLinkInvalid = errors.New("not-me link: not valid")
	ErrLinkUsed    = errors.New("not-me link: used already")
	ErrLinkExpired = errors.New("not-me link: expired")
)

// Check tells whether a link still works, without using it: the user it is for, or one of the
// link errors.
func (s *Service) Check(ctx context.Context, token string) (string, error) {
	if !s.signed(token) {
		return "", ErrLinkInvalid
	}
	d, err := s.st.Disavowal(ctx, tokenID(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrLinkInvalid
	case err != nil:
		return "", err
	case !d.UsedAt.IsZero():
		return "", ErrLinkUsed
	case !s.clock.Now().Before(d.ExpiresAt):
		return "", ErrLinkExpired
	}
	return d.UserID, nil
}

// Disavowed is what following a link did.
type Disavowed struct {
	UserID   string
	Change   string // the change the email reported
	Sessions int    // signed-in and embedded sessions ended
	Reverted string // the contact field put back, or ""
}

// Disavow honours a "this wasn't me" link, once, in one transaction: it uses the link up, ends
// every signed-in and embedded session and every verification grant of the user, locks changes
// until they verify their identity again, puts back the email or phone that the reported change
// replaced (when it still holds the new value), and records each in the history, with the
// contact.changed event for operators when a contact is put back.
func (s *Service) Disavow(ctx context.Context, token string, c audit.Client) (Disavowed, error) {
	if !s.signed(token) {
		return Disavowed{}, ErrLinkInvalid
	}
	now := s.clock.Now()
	var out Disavowed
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.UseDisavowal(ctx, tokenID(token), now)
		switch {
		case errors.Is(err, store.ErrSpent):
			return ErrLinkUsed
		case errors.Is(err, store.ErrExpired):
			return ErrLinkExpired
		case errors.Is(err, store.ErrNotFound):
			return ErrLinkInvalid
		case err != nil:
			return err
		}
		out = Disavowed{UserID: d.UserID, Change: d.Change}
		for _, k := range []string{"user", "embed"} { // the user's own kinds of session
			n, err := tx.EndSessions(ctx, k, d.UserID, "", now)
			if err != nil {
				return err
			}
			out.Sessions += n
		}
		if _, err := tx.EndGrants(ctx, d.UserID, now); err != nil {
			return err
		}
		if _, err := tx.LockChanges(ctx, d.UserID, now); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.Disavowed.Event(d.UserID, c, now, map[string]string{"change": d.Change})); err != nil {
			return err
		}
		if out.Sessions > 0 {
			if err := tx.AppendEvent(ctx, audit.SessionEnded.Event(d.UserID, c, now, map[string]string{"which": "all"})); err != nil {
				return err
			}
		}
		if out.Reverted, err = s.revert(ctx, tx, d, c, now); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Disavowed{}, err
	}
	return out, nil
}

// revert puts back the contact detail a reported change replaced, if the account still holds the
// value that change set; it returns the field put back, or "".
func (s *Service) revert(ctx context.Context, tx *store.Tx, d store.Disavowal, c audit.Client, now time.Time) (string, error) {
	field := d.Undo["field"]
	if d.Change != ContactChanged || (field != store.ContactEmail && field != store.ContactPhone) {
		return "", nil
	}
	var changedAt time.Time
	if at := d.Undo["changed_at"]; at != "" {
		changedAt, _ = time.Parse(time.RFC3339Nano, at)
	}
	ok, err := tx.SetContact(ctx, d.UserID, field, d.Undo["from"], d.Undo["to"], changedAt, now)
	if err != nil || !ok {
		return "", err
	}
	if err := tx.AppendEvent(ctx, audit.ContactReverted.Event(d.UserID, c, now, map[string]string{"field": field})); err != nil {
		return "", err
	}
	if _, err := tx.EnqueueOutbox(ctx, outbox.ContactChanged(d.UserID, field, d.Undo["to"], now, true)); err != nil {
		return "", err
	}
	return field, nil
}

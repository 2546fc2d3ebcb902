// Package contact lets a signed-in user change the email address and the phone number the portal
// reaches them at — where codes and notices go — as every guide on retiring SMS asks them to keep
// current. A new address or number is confirmed by a code sent to it, under the same limits as
// every code (internal/identity). The change is one transaction with its history entry, the
// contact.changed event for operators and its notices: to every channel the user had before
// (the old address among them), each email with a "this wasn't me" link that puts the old value
// back, and to the new one.
//
// A phone number is changed here only while text messages may still carry codes for the user —
// while the deadline rules (campaign.Rules) let them verify by SMS code: afterwards the portal
// sends no codes by SMS and support changes the number.
package contact

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
)

// Errors of a contact change; the identity errors (limits, wrong or expired code) pass through.
var (
	ErrSame         = errors.New("contact: that is the registered one already")
	ErrPhoneClosed  = errors.New("contact: SMS is closed for the account; support changes the phone number")
	ErrPhoneInvalid = errors.New("contact: not a phone number")
)

// Service changes contact details.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	ident   *identity.Service
	notices *securitynotice.Service
	region  string         // for numbers without a country code
	rules   campaign.Rules // when SMS codes close
}

// New returns the contact service; region is for numbers without a country code, rules the
// campaign's deadline rules.
func New(st *store.SQL, clk clock.Clock, ident *identity.Service, notices *securitynotice.Service, region string, rules campaign.Rules) *Service {
	return &Service{st: st, clock: clk, ident: ident, notices: notices, region: region, rules: rules}
}

// PhoneChangeable reports whether the user may change their phone number here now, while the
// deadline rules still let SMS codes verify them; otherwise support does it.
func (s *Service) PhoneChangeable(u campaign.User) bool {
	return s.rules.Allows(u, campaign.WayPhone, s.clock.Now(), false)
}

// SendEmailCode sends a code to address, which the caller checked is an email address, so the user
// can show it is theirs.
func (s *Service) SendEmailCode(ctx context.Context, userID, address string, c audit.Client) (identity.Sent, error) {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return identity.Sent{}, err
	}
	switch {
	case u.ChangesLocked():
		return identity.Sent{}, campaign.ErrChangesLocked
	case strings.EqualFold(address, u.Email):
		return identity.Sent{}, ErrSame
	}
	return s.ident.SendContactCode(ctx, userID, identity.MethodEmail, address, c)
}

// SendPhoneCode sends a code by text message to the number the user typed, in any common format,
// and returns it in E.164.
func (s *Service) SendPhoneCode(ctx context.Context, userID, input string, c audit.Client) (identity.Sent, string, error) {
	e164, err := phone.Normalize(input, s.region)
	if err != nil {
		return identity.Sent{}, "", ErrPhoneInvalid
	}
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return identity.Sent{}, "", err
	}
	switch {
	case u.ChangesLocked():
		return identity.Sent{}, "", campaign.ErrChangesLocked
	case !s.PhoneChangeable(u):
		return identity.Sent{}, "", ErrPhoneClosed
	case e164 == u.Phone:
		return identity.Sent{}, "", ErrSame
	}
	sent, err := s.ident.SendContactCode(ctx, userID, identity.MethodPhone, e164, c)
	return sent, e164, err
}

// ChangeEmail makes the address the code was sent to the user's registered email.
func (s *Service) ChangeEmail(ctx context.Context, userID, code string, c audit.Client) (campaign.User, error) {
	return s.change(ctx, userID, identity.MethodEmail, code, c)
}

// ChangePhone makes the number the code was sent to the user's registered phone.
func (s *Service) ChangePhone(ctx context.Context, userID, code string, c audit.Client) (campaign.User, error) {
	return s.change(ctx, userID, identity.MethodPhone, code, c)
}

func (s *Service) change(ctx context.Context, userID string, ch identity.Method, code string, c audit.Client) (campaign.User, error) {
	matched, err := s.ident.MatchContactCode(ctx, userID, ch, code, c)
	if err != nil {
		return campaign.User{}, err
	}
	field := store.ContactEmail
	if ch == identity.MethodPhone {
		field = store.ContactPhone
	}
	now := s.clock.Now()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := matched.Consume(ctx, tx, now); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		old := u.Email
		if field == store.ContactPhone {
			old = u.Phone
		}
		switch {
		case u.ChangesLocked():
			return campaign.ErrChangesLocked
		case field == store.ContactPhone && !s.PhoneChangeable(u):
			return ErrPhoneClosed
		case old == matched.Target:
			return ErrSame
		}
		oldChangedAt, err := tx.ContactChangedAt(ctx, userID, field)
		if err != nil {
			return err
		}
		if ok, err := tx.SetContact(ctx, userID, field, old, matched.Target, now, now); err != nil {
			return err
		} else if !ok {
			return identity.ErrCodeExpired // a racing change came first; the code is spent
		}
		if err := tx.AppendEvent(ctx, audit.ContactChanged.Event(userID, c, now, map[string]string{"field": field})); err != nil {
			return err
		}
		if _, err := tx.EnqueueOutbox(ctx, outbox.ContactChanged(userID, field, matched.Target, now, false)); err != nil {
			return err
		}
		return s.tell(ctx, tx, u, field, old, matched.Target, oldChangedAt, c, now)
	})
	if err != nil {
		return campaign.User{}, err
	}
	return s.st.UserByID(ctx, userID)
}

// tell writes the notices of a change from old to new: to every channel the user had before it —
// the registered email, the email factors' addresses and the phone — and to the new channel.
func (s *Service) tell(ctx context.Context, tx *store.Tx, before campaign.User, field, old, new string, oldChangedAt time.Time, c audit.Client, now time.Time) error {
	factors, err := tx.Factors(ctx, before.ID)
	if err != nil {
		return err
	}
	var factorEmails []string
	for _, f := range factors {
		if f.Kind == store.FactorEmail {
			factorEmails = append(factorEmails, f.Email)
		}
	}
	changedAt := ""
	if !oldChangedAt.IsZero() {
		changedAt = oldChangedAt.UTC().Format(time.RFC3339Nano)
	}
	masked, kind := campaign.MaskEmail(new), store.OutboxEmail
	if field == store.ContactPhone {
		masked, kind = phone.Mask(new), store.OutboxSMS
	}
	n := securitynotice.Notice{Change: securitynotice.ContactChanged, Client: c, At: now, Data: map[string]string{"field": field, "to": masked},
		Undo: map[string]string{"field": field, "from": new, "to": old, "changed_at": changedAt}}
	if err := s.notices.SendEverywhere(ctx, tx, before, n, factorEmails...); err != nil {
		return err
	}
	after := before
	if field == store.ContactEmail {
		after.Email = new
	} else {
		after.Phone = new
	}
	n.Change = securitynotice.ContactRegistered
	return s.notices.SendTo(ctx, tx, after, securitynotice.Channel{Kind: kind, To: new}, n)
}

// Package support is the support console's domain: staff find a user, see where they stand, and
// help them through — resend the notice, issue an assist code, unlock a method, reset the
// factors, extend the deadline, retry a failed message. Every action says why and is recorded in
// the staff audit log (internal/staff) in the transaction of the change, beside the entry in the
// user's history (internal/audit). What staff see of a user is masked: phone numbers, email
// addresses and names show only enough to confirm them with a caller.
package support

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
)

// Errors the console maps to messages next to the form that caused them.
var (
	ErrReasonTooLong   = errors.New("support: the reason is longer than 500 characters")
	ErrQuery           = errors.New("support: give an account ID, a phone number or an email address")
	ErrRetired         = errors.New("support: the user retired SMS already; the notice is not needed")
	ErrNoChannel       = rollout.ErrNoChannel
	ErrNotLocked       = errors.New("support: the method is not locked")
	ErrNoFactors       = errors.New("support: the user has no method to reset")
	ErrDeadlineEarlier = errors.New("support: the new deadline is not later than the current one")
	ErrDeadlineFar     = errors.New("support: the new deadline is more than a year away")
	ErrNoMessage       = errors.New("support: the user has no such message")
	ErrNotFailed       = errors.New("support: the message has not failed")
	ErrNotRetryable    = errors.New("support: the message carried a code or link that is gone; it cannot be sent again")
)

// MaxReason is the longest reason an action takes, in characters.
const MaxReason = 500

// Settings are what the console needs of the configuration.
type Settings struct {
	Region   string         // for phone numbers typed without a country code
	Location *time.Location // --time-zone: the days of the dashboard and the audit log
}

// Service runs the console's searches, pages and actions.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	ident   *identity.Service
	limits  *limit.Limiter
	rollout *rollout.Service
	notices *securitynotice.Service
	staff   *staff.Service
	set     Settings

	dashMu     sync.Mutex // guards the dashboard's figures
	dash       Dashboard
	dashAt     time.Time  // when they were read; zero before the first read
	refreshing bool       // a background read is running
	firstMu    sync.Mutex // one first read at a time
}

// New returns the console's service over the services it acts through.
func New(st *store.SQL, clk clock.Clock, ident *identity.Service, roll *rollout.Service, notices *securitynotice.Service,
	staffSvc *staff.Service, set Settings) *Service {
	if set.Location == nil {
		set.Location = time.UTC
	}
	if set.Region == "" {
		set.Region = phone.DefaultRegion
	}
	return &Service{st: st, clock: clk, ident: ident, limits: ident.Limits(), rollout: roll, notices: notices, staff: staffSvc, set: set}
}

// actorName is how a user's history names a staff member.
func actorName(m staff.Member) string { return "staff:" + m.Email }

// allow checks that m may take action a on the user: the role allows it, and the user is not m
// themselves. The console's route guard checks the role first; this holds for any other caller.
func (s *Service) allow(ctx context.Context, m staff.Member, a staff.Action, userID string) error {
	if !m.Can(a) {
		return staff.ErrForbidden{Role: m.Role, Action: a}
	}
	if userID == "" {
		return nil
	}
	return s.staff.SelfCheck(ctx, m, userID)
}

// reason checks the reason an action gives: required, at most MaxReason characters.
func reason(r string) (string, error) {
	r, err := staff.RequireReason(r)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(r) > MaxReason {
		return "", ErrReasonTooLong
	}
	return r, nil
}

// act runs change and the audit record of action a by m in one transaction.
func (s *Service) act(ctx context.Context, m staff.Member, c audit.Client, a staff.Action, userID, why string, change func(tx *store.Tx, now time.Time) (map[string]string, error)) error {
	if err := s.allow(ctx, m, a, userID); err != nil {
		return err
	}
	why, err := reason(why)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		detail, err := change(tx, now)
		if err != nil {
			return err
		}
		return staff.Record(ctx, tx, staff.Entry{Actor: m.Actor(c.IP), Action: a, UserID: userID, Reason: why, At: now, Detail: detail})
	})
}

// ResendNotice sends the user's retirement notice again, on the channels the campaign would use
// now. It returns the channels (email, sms).
func (s *Service) ResendNotice(ctx context.Context, m staff.Member, c audit.Client, userID, why string) ([]string, error) {
	var channels []string
	err := s.act(ctx, m, c, staff.ActionResendNotice, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return nil, err
		}
		if u.State == campaign.StateRetired {
			return nil, ErrRetired
		}
		if channels, err = s.rollout.ResendNotice(ctx, tx, u, actorName(m), c, now); err != nil {
			return nil, err
		}
		return map[string]string{"channels": strings.Join(channels, ",")}, nil
	})
	return channels, err
}

// IssueAssist makes an assist code for the user (voiding an earlier one), for the staff member to
// read to the caller once; it returns the code and when it expires.
func (s *Service) IssueAssist(ctx context.Context, m staff.Member, c audit.Client, userID, why string) (string, time.Time, error) {
	var code string
	var expires time.Time
	err := s.act(ctx, m, c, staff.ActionIssueAssist, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		if _, err := tx.UserByID(ctx, userID); err != nil {
			return nil, err
		}
		var err error
		if code, expires, err = s.ident.IssueAssistCodeTx(ctx, tx, userID, actorName(m), c); err != nil {
			return nil, err
		}
		return map[string]string{"expires": expires.UTC().Format(time.RFC3339)}, nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// Unlock ends the pause of one of the user's methods that wrong answers locked.
func (s *Service) Unlock(ctx context.Context, m staff.Member, c audit.Client, userID, method, why string) error {
	return s.act(ctx, m, c, staff.ActionUnlock, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		if _, err := tx.UserByID(ctx, userID); err != nil {
			return nil, err
		}
		ok, err := s.limits.Unlock(ctx, tx, identity.ForUser(userID, false).Key, method, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotLocked
		}
		ev := audit.SupportUnlocked.Event(userID, c, now, map[string]string{"method": method})
		ev.Actor = actorName(m)
		return map[string]string{"method": method}, tx.AppendEvent(ctx, ev)
	})
}

// ResetFactors removes every factor and recovery code of the user, who must verify their identity
// again and set up a new method: their sessions and verifications end, a notice goes to every
// channel they have (the removed email factors' addresses too), and operators hear of each
// removed factor.
func (s *Service) ResetFactors(ctx context.Context, m staff.Member, c audit.Client, userID, why string) error {
	return s.act(ctx, m, c, staff.ActionResetFactors, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return nil, err
		}
		removed, err := tx.ResetFactors(ctx, userID, now)
		if err != nil {
			return nil, err
		}
		if len(removed) == 0 && u.State == campaign.StateNotified {
			return nil, ErrNoFactors
		}
		ended := 0
		for _, k := range []session.Kind{session.User, session.Embed} {
			n, err := tx.EndSessions(ctx, string(k), userID, "", now)
			if err != nil {
				return nil, err
			}
			ended += n
		}
		if _, err := tx.EndGrants(ctx, userID, now); err != nil {
			return nil, err
		}
		var kinds, emails []string
		for _, f := range removed {
			kinds = append(kinds, f.Kind)
			if f.Kind == store.FactorEmail {
				emails = append(emails, f.Email)
			}
			if _, err := tx.EnqueueOutbox(ctx, outbox.FactorRemoved(userID, f.ID, f.Kind, now)); err != nil {
				return nil, err
			}
		}
		ev := audit.SupportFactorsReset.Event(userID, c, now, nil)
		ev.Actor = actorName(m)
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return nil, err
		}
		st := audit.StateChanged.Event(userID, c, now, map[string]string{"cause": "support.factors_reset"})
		st.Actor = actorName(m)
		if err := tx.SetState(ctx, userID, campaign.StateNotified, st); err != nil {
			return nil, err
		}
		if err := s.notices.SendEverywhere(ctx, tx, u, securitynotice.Notice{Change: securitynotice.FactorsReset, At: now}, emails...); err != nil {
			return nil, err
		}
		return map[string]string{"factors": strings.Join(kinds, ","), "sessions_ended": strconv.Itoa(ended), "state_was": string(u.State)}, nil
	})
}

// MaxExtension is how far ahead of today a deadline may be extended.
const MaxExtension = 366 * 24 * time.Hour

// ExtendDeadline gives the user a later deadline of their own: later than the current one, and at
// most a year from today.
func (s *Service) ExtendDeadline(ctx context.Context, m staff.Member, c audit.Client, userID string, to campaign.Date, why string) error {
	return s.act(ctx, m, c, staff.ActionExtendDeadline, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return nil, err
		}
		if !to.Time(s.set.Location).After(u.Deadline.Time(s.set.Location)) {
			return nil, ErrDeadlineEarlier
		}
		if to.Time(s.set.Location).After(now.Add(MaxExtension)) {
			return nil, ErrDeadlineFar
		}
		if err := tx.SetDeadline(ctx, userID, to, now); err != nil {
			return nil, err
		}
		ev := audit.SupportDeadline.Event(userID, c, now, map[string]string{"until": to.String(), "from": u.Deadline.String()})
		ev.Actor = actorName(m)
		return map[string]string{"from": u.Deadline.String(), "to": to.String()}, tx.AppendEvent(ctx, ev)
	})
}

// RetryMessage puts one of the user's failed messages back in the queue, when it can be sent as
// it stands (outbox.Retryable).
func (s *Service) RetryMessage(ctx context.Context, m staff.Member, c audit.Client, userID string, messageID int64, why string) error {
	return s.act(ctx, m, c, staff.ActionRetryMessage, userID, why, func(tx *store.Tx, now time.Time) (map[string]string, error) {
		it, err := tx.OutboxItem(ctx, userID, messageID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoMessage
		}
		if err != nil {
			return nil, err
		}
		if it.Status != store.OutboxFailed {
			return nil, ErrNotFailed
		}
		if !outbox.Retryable(it) {
			return nil, ErrNotRetryable
		}
		ok, err := tx.RetryOutbox(ctx, userID, messageID, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotFailed
		}
		ev := audit.SupportMessageRetried.Event(userID, c, now, map[string]string{"channel": it.Kind, "topic": it.Topic})
		ev.Actor = actorName(m)
		detail := map[string]string{"message": strconv.FormatInt(messageID, 10), "channel": it.Kind, "topic": it.Topic, "last_error": it.LastError}
		return detail, tx.AppendEvent(ctx, ev)
	})
}

// logView records a search or a view of a user's page, which change nothing but show personal
// data, in the audit log.
func (s *Service) logView(ctx context.Context, m staff.Member, c audit.Client, a staff.Action, userID string, detail map[string]string) error {
	return s.staff.Log(ctx, staff.Entry{Actor: m.Actor(c.IP), Action: a, UserID: userID, Detail: detail})
}

package rollout

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// Why a snooze is refused. The pages that offer "remind me later" (the notice, a sign-in nudge)
// show the offer only when SnoozeOffer allows it, so these mostly answer a stale page.
var (
	ErrSnoozeLimit   = errors.New("snooze: no more snoozes left")
	ErrSnoozeTooLate = errors.New("snooze: the deadline is today or past")
	ErrSnoozeNone    = errors.New("snooze: nothing to put off")
)

// Offer is what a page may offer a user about putting the campaign off: whether "remind me
// later" is possible now, how many times are left, and until when the user has put it off.
type Offer struct {
	Allowed bool
	Left    int       // snoozes left, Allowed or not
	Days    int       // how long one snooze lasts, in days
	Until   time.Time // the end of the snooze running now; zero when none runs
}

// SnoozeOffer tells what u may do about reminders at now: snooze while in scope, not retired,
// before the deadline day, with snoozes left.
func (s *Service) SnoozeOffer(u campaign.User, now time.Time) Offer {
	return s.offer(u, now, s.cfg.SnoozeLimit)
}

// SignInOffer is SnoozeOffer for the notice met on the way to one of the operator's services (the
// OpenID Connect sign-in): the same count of snoozes, against the sign-in's own limit
// (remind_later).
func (s *Service) SignInOffer(u campaign.User, now time.Time, limit int) Offer {
	return s.offer(u, now, limit)
}

func (s *Service) offer(u campaign.User, now time.Time, limit int) Offer {
	o := Offer{Left: max(limit-u.Snoozes, 0), Days: s.cfg.SnoozeDays}
	if u.SnoozedUntil.After(now) {
		o.Until = u.SnoozedUntil
	}
	o.Allowed = o.Left > 0 && eligible(u) && now.Before(s.deadlineStart(u))
	return o
}

// Snoozed is a snooze taken: reminders wait until Until, and Left more may be taken.
type Snoozed struct {
	Until time.Time
	Count int // this user's snoozes so far, this one included
	Left  int
}

// Snooze puts off u's reminders for the campaign's snooze days, never past the start of the
// deadline day, at most snooze_limit times; the history records it. When it runs out the user
// gets one reminder (the touch "snooze:K"), and reminders that fell due meanwhile are skipped.
// The count is checked and taken in one statement, so parallel requests take no more than the
// limit. c is the browser that asked; the OpenID Connect sign-in nudge calls it the same way.
func (s *Service) Snooze(ctx context.Context, userID string, c audit.Client) (Snoozed, error) {
	return s.snooze(ctx, userID, s.cfg.SnoozeLimit, func(n int, until time.Time) audit.Event {
		return audit.CampaignSnoozed.Event(userID, c, s.clock.Now(), map[string]string{
			"until": campaign.DateOf(until, s.loc).String(), "count": strconv.Itoa(n)})
	})
}

// SnoozeSignIn is "remind me later" chosen on the way to one of the operator's services (the
// OpenID Connect sign-in's notice): a snooze like Snooze, from the same count, but at most limit
// (remind_later) in all, and recorded as audit.NudgeLater naming the service (clientID).
func (s *Service) SnoozeSignIn(ctx context.Context, userID string, limit int, clientID string, c audit.Client) (Snoozed, error) {
	return s.snooze(ctx, userID, limit, func(n int, until time.Time) audit.Event {
		return audit.NudgeLater.Event(userID, c, s.clock.Now(), map[string]string{"client": clientID, "count": strconv.Itoa(n),
			"max": strconv.Itoa(limit), "until": campaign.DateOf(until, s.loc).String()})
	})
}

// NudgeShown records that the notice was shown to the user on the way to the service clientID,
// and NudgeSetUp that they chose to set up a new method there.
func (s *Service) NudgeShown(ctx context.Context, userID, clientID string, c audit.Client) error {
	return s.st.AppendEvent(ctx, audit.NudgeShown.Event(userID, c, s.clock.Now(), map[string]string{"client": clientID}))
}

// NudgeSetUp records that the user chose to set up a new method on the way to the service clientID.
func (s *Service) NudgeSetUp(ctx context.Context, userID, clientID string, c audit.Client) error {
	return s.st.AppendEvent(ctx, audit.NudgeSetUp.Event(userID, c, s.clock.Now(), map[string]string{"client": clientID}))
}

// snooze takes one of u's snoozes while fewer than limit were taken and writes the history event
// event makes of the count and the snooze's end, in one transaction.
func (s *Service) snooze(ctx context.Context, userID string, limit int, event func(n int, until time.Time) audit.Event) (Snoozed, error) {
	now := s.clock.Now()
	var out Snoozed
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if !eligible(u) {
			return ErrSnoozeNone
		}
		deadline := s.deadlineStart(u)
		if !now.Before(deadline) {
			return ErrSnoozeTooLate
		}
		until := now.AddDate(0, 0, s.cfg.SnoozeDays)
		if until.After(deadline) {
			until = deadline
		}
		n, ok, err := tx.TakeCampaignSnooze(ctx, userID, until, limit, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrSnoozeLimit
		}
		out = Snoozed{Until: until, Count: n, Left: limit - n}
		return tx.AppendEvent(ctx, event(n, until))
	})
	if err != nil {
		return Snoozed{}, err
	}
	return out, nil
}

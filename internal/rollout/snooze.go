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
	o := Offer{Left: max(s.cfg.SnoozeLimit-u.Snoozes, 0), Days: s.cfg.SnoozeDays}
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
		n, ok, err := tx.TakeCampaignSnooze(ctx, userID, until, s.cfg.SnoozeLimit, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrSnoozeLimit
		}
		out = Snoozed{Until: until, Count: n, Left: s.cfg.SnoozeLimit - n}
		return tx.AppendEvent(ctx, audit.CampaignSnoozed.Event(userID, c, now, map[string]string{
			"until": campaign.DateOf(until, s.loc).String(), "count": strconv.Itoa(n)}))
	})
	if err != nil {
		return Snoozed{}, err
	}
	return out, nil
}

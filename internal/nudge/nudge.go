// Package nudge counts how often a user not yet migrated postponed setting up a new method
// ("remind me later"), per topic, so that a reminder can be put off a few times and then no
// more, and never after the deadline. The check and the count are one statement in the database,
// so the limit holds under parallel requests on every instance. The OpenID Connect sign-in's
// interstitial uses the topic SignIn; a campaign's own reminders can use topics of their own.
package nudge

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/store"
)

// SignIn is the topic of the notice shown when a user signs in to a service.
const SignIn = "signin"

// ErrNoMore means the user may not postpone again: the limit is reached, or the deadline passed.
var ErrNoMore = errors.New("nudge: no more postponing")

// Service counts postponements.
type Service struct {
	st    *store.SQL
	clock clock.Clock
}

// New returns the service.
func New(st *store.SQL, clk clock.Clock) *Service { return &Service{st: st, clock: clk} }

// Left returns how many more times the user may postpone topic: limit less those taken, and none
// from the deadline on.
func (s *Service) Left(ctx context.Context, userID, topic string, limit int, deadline time.Time) (int, error) {
	if !s.clock.Now().Before(deadline) {
		return 0, nil
	}
	n, err := s.st.Snoozes(ctx, userID, topic)
	if err != nil {
		return 0, err
	}
	return max(0, limit-n), nil
}

// Postpone takes one of the user's postponements of topic before the deadline and records it in
// the history (audit.NudgeLater, with detail and the count), in one transaction. It returns the
// count taken; ErrNoMore when none is left.
func (s *Service) Postpone(ctx context.Context, userID, topic string, limit int, deadline time.Time, detail map[string]string, c audit.Client) (int, error) {
	now := s.clock.Now()
	if limit < 1 || !now.Before(deadline) {
		return 0, ErrNoMore
	}
	var count int
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		n, ok, err := tx.TakeSnooze(ctx, userID, topic, limit, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoMore
		}
		count = n
		d := map[string]string{"topic": topic, "count": strconv.Itoa(n), "max": strconv.Itoa(limit)}
		for k, v := range detail {
			d[k] = v
		}
		return tx.AppendEvent(ctx, audit.NudgeLater.Event(userID, c, now, d))
	})
	return count, err
}

// Shown records in the user's history that the notice of topic was shown to them (detail says
// where, such as the service's client ID).
func (s *Service) Shown(ctx context.Context, userID, topic string, detail map[string]string, c audit.Client) error {
	return s.record(ctx, audit.NudgeShown, userID, topic, detail, c)
}

// SetUp records in the user's history that they chose to set up a new method now.
func (s *Service) SetUp(ctx context.Context, userID, topic string, detail map[string]string, c audit.Client) error {
	return s.record(ctx, audit.NudgeSetUp, userID, topic, detail, c)
}

func (s *Service) record(ctx context.Context, t audit.Type, userID, topic string, detail map[string]string, c audit.Client) error {
	d := map[string]string{"topic": topic}
	for k, v := range detail {
		d[k] = v
	}
	return s.st.AppendEvent(ctx, t.Event(userID, c, s.clock.Now(), d))
}

package staff

import (
	"context"
	"errors"
	"strings"

	"github.com/smsretire/smsretire/internal/store"
)

// LiveSession is a staff member's live staff session, as an admin lists them.
type LiveSession struct {
	store.Session
	Member Member
}

// LiveSessions lists every live staff session with its member, most recently used first.
func (s *Service) LiveSessions(ctx context.Context) ([]LiveSession, error) {
	rows, err := s.st.LiveSessionsOfKind(ctx, SessionKind, s.clock.Now(), SessionIdle)
	if err != nil {
		return nil, err
	}
	members := map[string]Member{}
	out := make([]LiveSession, 0, len(rows))
	for _, r := range rows {
		m, ok := members[r.Subject]
		if !ok {
			if m, err = s.Member(ctx, r.Subject); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			members[r.Subject] = m
		}
		out = append(out, LiveSession{Session: r, Member: m})
	}
	return out, nil
}

// EndSession signs a staff session out (an admin ending another's) and records it with the
// reason, in one transaction; false when it was not live.
func (s *Service) EndSession(ctx context.Context, by Actor, sessionID, reason string) (bool, error) {
	if by.Role != "" && !Can(by.Role, ActionEndStaffSessions) {
		return false, ErrForbidden{Role: by.Role, Action: ActionEndStaffSessions}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return false, ErrNoReason
	}
	ss, err := s.st.Session(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) || err == nil && ss.Kind != SessionKind {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := s.clock.Now()
	var ended bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if ended, err = tx.EndSession(ctx, SessionKind, ss.Subject, ss.ID, now); err != nil || !ended {
			return err
		}
		return Record(ctx, tx, Entry{Actor: by, Action: ActionEndStaffSessions, Reason: reason, At: now,
			Detail: map[string]string{"staff": ss.Subject}})
	})
	return ended, err
}

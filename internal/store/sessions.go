package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in session, kept in the database so that any instance can end it at once.
// ID is the hash of the token in the cookie, never the token itself.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	AuthAt     time.Time // the last authentication with a factor, for step-up
	ExpiresAt  time.Time // the absolute end
	EndedAt    time.Time
	IP         string
	UserAgent  string
}

const sessionColumns = `id, user_id, created_at, last_seen_at, auth_at, expires_at, ended_at, ip, user_agent`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var created, seen, auth, expires int64
	var ended sql.NullInt64
	if err := row.Scan(&s.ID, &s.UserID, &created, &seen, &auth, &expires, &ended, &s.IP, &s.UserAgent); err != nil {
		return s, err
	}
	s.CreatedAt, s.LastSeenAt, s.AuthAt, s.ExpiresAt = time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(auth), time.UnixMilli(expires)
	s.EndedAt = fromMS(ended)
	return s, nil
}

// CreateSession stores a new signed-in session.
func (s *SQL) CreateSession(ctx context.Context, ss Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sessions (id, user_id, created_at, last_seen_at, auth_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), ss.ID, ss.UserID, ms(ss.CreatedAt), ms(ss.LastSeenAt), ms(ss.AuthAt), ms(ss.ExpiresAt), ss.IP, truncate(ss.UserAgent, 512))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns a session by ID, ended or not; ErrNotFound when there is none.
func (s *SQL) Session(ctx context.Context, id string) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return ss, ErrNotFound
	}
	if err != nil {
		return ss, fmt.Errorf("session: %w", err)
	}
	return ss, nil
}

// TouchSession records that the session was used now, from ip.
func (s *SQL) TouchSession(ctx context.Context, id string, now time.Time, ip string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET last_seen_at = ?, ip = ? WHERE id = ? AND ended_at IS NULL`), ms(now), ip, id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// ReauthSession records a fresh authentication in the session, for step-up.
func (s *SQL) ReauthSession(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET auth_at = ?, last_seen_at = ? WHERE id = ? AND ended_at IS NULL`), ms(now), ms(now), id)
	if err != nil {
		return fmt.Errorf("reauth session: %w", err)
	}
	return nil
}

// EndSession ends one of a user's sessions; false when it was not live.
func (s *SQL) EndSession(ctx context.Context, userID, id string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET ended_at = ? WHERE user_id = ? AND id = ? AND ended_at IS NULL`), ms(now), userID, id)
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EndOtherSessions ends every live session of a user but keep, and says how many it ended.
func (s *SQL) EndOtherSessions(ctx context.Context, userID, keep string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET ended_at = ? WHERE user_id = ? AND id <> ? AND ended_at IS NULL`), ms(now), userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ActiveSessions lists a user's live sessions, most recently seen first. idle is the idle
// lifetime: a session unused for longer is not live.
func (s *SQL) ActiveSessions(ctx context.Context, userID string, now time.Time, idle time.Duration) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND ended_at IS NULL AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC LIMIT 50`),
		userID, ms(now), ms(now.Add(-idle)))
	if err != nil {
		return nil, fmt.Errorf("active sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("active sessions: %w", err)
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

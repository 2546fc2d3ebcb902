package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a session of some kind (internal/session: a signed-in user, support staff, an
// embedded page), kept in the database so that any instance can end it at once. ID is the hash of
// the token in the cookie, never the token itself; Subject is whom it is for (a user ID, or a
// staff ID).
type Session struct {
	ID         string
	Kind       string
	Subject    string
	CreatedAt  time.Time
	LastSeenAt time.Time
	AuthAt     time.Time // the last authentication with a factor, for step-up
	// AuthMethods is how that authentication was made, space-separated RFC 8176 values (such as
	// "otp" or "swk user"), which the OpenID Connect provider puts in the ID token's amr.
	AuthMethods string
	ExpiresAt   time.Time // the absolute end
	EndedAt     time.Time
	IP          string
	UserAgent   string
	// Via is how the sign-in came when not with a factor on this browser: "qr" or "phone", an
	// approval on the user's signed-in phone (internal/approval); "" for a factor.
	Via string
}

const sessionColumns = `id, kind, subject, created_at, last_seen_at, auth_at, auth_methods, expires_at, ended_at, ip, user_agent, via`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var created, seen, auth, expires int64
	var ended sql.NullInt64
	if err := row.Scan(&s.ID, &s.Kind, &s.Subject, &created, &seen, &auth, &s.AuthMethods, &expires, &ended, &s.IP, &s.UserAgent, &s.Via); err != nil {
		return s, err
	}
	s.CreatedAt, s.LastSeenAt, s.AuthAt, s.ExpiresAt = time.UnixMilli(created), time.UnixMilli(seen), time.UnixMilli(auth), time.UnixMilli(expires)
	s.EndedAt = fromMS(ended)
	return s, nil
}

// CreateSession stores a new session inside the transaction.
func (tx *Tx) CreateSession(ctx context.Context, ss Session) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO sessions (id, kind, subject, created_at, last_seen_at, auth_at, auth_methods, expires_at, ip, user_agent, via)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), ss.ID, ss.Kind, ss.Subject, ms(ss.CreatedAt), ms(ss.LastSeenAt), ms(ss.AuthAt), ss.AuthMethods, ms(ss.ExpiresAt),
		ss.IP, truncate(ss.UserAgent, 512), ss.Via)
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

// EndSession ends one session of a subject inside the transaction; false when it was not live.
func (tx *Tx) EndSession(ctx context.Context, kind, subject, id string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE sessions SET ended_at = ? WHERE kind = ? AND subject = ? AND id = ? AND ended_at IS NULL`),
		ms(now), kind, subject, id)
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EndSessions ends every session of a subject but keep ("" for none) inside the transaction, and
// says how many it ended.
func (tx *Tx) EndSessions(ctx context.Context, kind, subject, keep string, now time.Time) (int, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE sessions SET ended_at = ? WHERE kind = ? AND subject = ? AND id <> ? AND ended_at IS NULL`),
		ms(now), kind, subject, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ActiveSessions lists a subject's live sessions of a kind, most recently seen first. idle is
// the idle lifetime: a session unused for longer is not live.
func (s *SQL) ActiveSessions(ctx context.Context, kind, subject string, now time.Time, idle time.Duration) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions
		WHERE kind = ? AND subject = ? AND ended_at IS NULL AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC LIMIT 50`),
		kind, subject, ms(now), ms(now.Add(-idle)))
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

// Grant is a verified identity that allows the first enrollment before any sign-in. ID is the hash
// of the token in the cookie.
type Grant struct {
	ID         string
	UserID     string
	Method     string // how the identity was verified: phone, email, knowledge, assist
	VerifiedAt time.Time
	ExpiresAt  time.Time
	ConsumedAt time.Time // the first factor that retired SMS used it up
	EndedAt    time.Time // sign-out ended it
	IP         string
	UserAgent  string
}

// CreateGrant stores a new grant.
func (s *SQL) CreateGrant(ctx context.Context, g Grant) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO grants (id, user_id, method, verified_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), g.ID, g.UserID, g.Method, ms(g.VerifiedAt), ms(g.ExpiresAt), g.IP, truncate(g.UserAgent, 512))
	if err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	return nil
}

// Grant returns a grant by ID, in whatever state; ErrNotFound when there is none.
func (s *SQL) Grant(ctx context.Context, id string) (Grant, error) {
	var g Grant
	var verified, expires int64
	var consumed, ended sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, user_id, method, verified_at, expires_at, consumed_at, ended_at, ip, user_agent
		FROM grants WHERE id = ?`), id).Scan(&g.ID, &g.UserID, &g.Method, &verified, &expires, &consumed, &ended, &g.IP, &g.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return g, ErrNotFound
	}
	if err != nil {
		return g, fmt.Errorf("grant: %w", err)
	}
	g.VerifiedAt, g.ExpiresAt, g.ConsumedAt, g.EndedAt = time.UnixMilli(verified), time.UnixMilli(expires), fromMS(consumed), fromMS(ended)
	return g, nil
}

// ConsumeGrants marks a user's unconsumed grants used inside the transaction, and says how many.
func (tx *Tx) ConsumeGrants(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE grants SET consumed_at = ? WHERE user_id = ? AND consumed_at IS NULL AND ended_at IS NULL`),
		ms(now), userID)
	if err != nil {
		return 0, fmt.Errorf("consume grants: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// EndGrants ends every grant of a user inside the transaction, and says how many.
func (tx *Tx) EndGrants(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE grants SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL`), ms(now), userID)
	if err != nil {
		return 0, fmt.Errorf("end grants: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

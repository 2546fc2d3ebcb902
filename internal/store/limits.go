package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Hit adds one to the counter for key in the window starting at windowStart and returns the new
// count. A counter whose expiry has passed starts again at 1. It is one atomic upsert, so
// concurrent requests on several instances count correctly.
func (s *SQL) Hit(ctx context.Context, key string, windowStart, expires, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO counters (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET
			count = CASE WHEN counters.expires_at <= ? THEN 1 ELSE counters.count + 1 END,
			expires_at = excluded.expires_at
		RETURNING count`), key, ms(windowStart), ms(expires), ms(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("hit %s: %w", key, err)
	}
	return n, nil
}

// Count returns the live count for key in the window starting at windowStart.
func (s *SQL) Count(ctx context.Context, key string, windowStart, now time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count FROM counters WHERE key = ? AND window_start = ? AND expires_at > ?`),
		key, ms(windowStart), ms(now)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", key, err)
	}
	return n, nil
}

// ResetCounters deletes every window of the counter key.
func (s *SQL) ResetCounters(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM counters WHERE key = ?`), key); err != nil {
		return fmt.Errorf("reset %s: %w", key, err)
	}
	return nil
}

// Lock refuses key until the given time.
func (s *SQL) Lock(ctx context.Context, key string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO lockouts (key, until) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET until = excluded.until`), key, ms(until))
	if err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

// LockedUntil returns when the lock on key ends, or the zero time when key is not locked at now.
func (s *SQL) LockedUntil(ctx context.Context, key string, now time.Time) (time.Time, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT until FROM lockouts WHERE key = ? AND until > ?`), key, ms(now)).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("locked until %s: %w", key, err)
	}
	return time.UnixMilli(until), nil
}

// Unlock lifts the lock on key.
func (s *SQL) Unlock(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM lockouts WHERE key = ?`), key); err != nil {
		return fmt.Errorf("unlock %s: %w", key, err)
	}
	return nil
}

// PurgeExpired deletes counters and locks that no longer matter.
func (s *SQL) PurgeExpired(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM counters WHERE expires_at <= ?`), ms(now)); err != nil {
		return fmt.Errorf("purge counters: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM lockouts WHERE until <= ?`), ms(now)); err != nil {
		return fmt.Errorf("purge lockouts: %w", err)
	}
	return nil
}

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

// TakeCounter adds one to the counter for key in the window starting at windowStart only while
// the count is below limit (a counter past its expiry starts again at 1), and reports whether it
// did. The check and the increment are one statement, so of any number of racing requests on
// any number of instances exactly limit get a slot. limit must be at least 1.
func (tx *Tx) TakeCounter(ctx context.Context, key string, windowStart, expires time.Time, limit int, now time.Time) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO counters (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET
			count = CASE WHEN counters.expires_at <= ? THEN 1 ELSE counters.count + 1 END,
			expires_at = excluded.expires_at
		WHERE counters.expires_at <= ? OR counters.count < ?
		RETURNING count`), key, ms(windowStart), ms(expires), ms(now), ms(now), limit).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take %s: %w", key, err)
	}
	return true, nil
}

// GiveBackCounter takes back one that TakeCounter added, for a slot that was not used.
func (s *SQL) GiveBackCounter(ctx context.Context, key string, windowStart time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE counters SET count = count - 1 WHERE key = ? AND window_start = ? AND count > 0`),
		key, ms(windowStart))
	if err != nil {
		return fmt.Errorf("give back %s: %w", key, err)
	}
	return nil
}

// Answers is the state of the answers for one key (an account and a method) in answer_limits:
// Pending are being checked now, Failed were wrong; the row lives until ExpiresAt.
type Answers struct {
	Pending   int
	Failed    int
	ExpiresAt time.Time
}

// TakeAnswer reserves one answer for key before it is checked: in one statement it checks that
// pending + failed answers are below limit (a row past its expiry starts again empty) and adds
// one pending answer, keeping the row until expires at least. It reports whether it took one,
// and the row after, or as found when it did not.
func (tx *Tx) TakeAnswer(ctx context.Context, key string, limit int, expires, now time.Time) (Answers, bool, error) {
	var a Answers
	var exp int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO answer_limits (key, pending, failed, expires_at) VALUES (?, 1, 0, ?)
		ON CONFLICT (key) DO UPDATE SET
			pending = CASE WHEN answer_limits.expires_at <= ? THEN 1 ELSE answer_limits.pending + 1 END,
			failed = CASE WHEN answer_limits.expires_at <= ? THEN 0 ELSE answer_limits.failed END,
			expires_at = CASE WHEN answer_limits.expires_at < excluded.expires_at THEN excluded.expires_at ELSE answer_limits.expires_at END
		WHERE answer_limits.expires_at <= ? OR answer_limits.pending + answer_limits.failed < ?
		RETURNING pending, failed, expires_at`), key, ms(expires), ms(now), ms(now), ms(now), limit).Scan(&a.Pending, &a.Failed, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT pending, failed, expires_at FROM answer_limits WHERE key = ?`), key).
			Scan(&a.Pending, &a.Failed, &exp)
		if err != nil {
			return Answers{}, false, fmt.Errorf("take answer %s: %w", key, err)
		}
		a.ExpiresAt = time.UnixMilli(exp)
		return a, false, nil
	}
	if err != nil {
		return Answers{}, false, fmt.Errorf("take answer %s: %w", key, err)
	}
	a.ExpiresAt = time.UnixMilli(exp)
	return a, true, nil
}

// FailAnswer turns one pending answer for key into a wrong one and keeps the row until expires,
// which is when a lock that this answer completes ends. It returns the row after.
func (tx *Tx) FailAnswer(ctx context.Context, key string, expires time.Time) (Answers, error) {
	var a Answers
	var exp int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO answer_limits (key, pending, failed, expires_at) VALUES (?, 0, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			pending = CASE WHEN answer_limits.pending > 0 THEN answer_limits.pending - 1 ELSE 0 END,
			failed = answer_limits.failed + 1,
			expires_at = excluded.expires_at
		RETURNING pending, failed, expires_at`), key, ms(expires)).Scan(&a.Pending, &a.Failed, &exp)
	if err != nil {
		return Answers{}, fmt.Errorf("fail answer %s: %w", key, err)
	}
	a.ExpiresAt = time.UnixMilli(exp)
	return a, nil
}

// ReturnAnswer gives back a pending answer for key that was not checked or proved nothing wrong.
func (s *SQL) ReturnAnswer(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE answer_limits SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END
		WHERE key = ?`), key)
	if err != nil {
		return fmt.Errorf("return answer %s: %w", key, err)
	}
	return nil
}

// RightAnswer ends a pending answer for key that was right: the wrong ones before it are
// forgotten.
func (s *SQL) RightAnswer(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE answer_limits SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END, failed = 0
		WHERE key = ?`), key)
	if err != nil {
		return fmt.Errorf("right answer %s: %w", key, err)
	}
	return nil
}

// ForgetWrongAnswers forgets the wrong answers for key, ending a lock, and leaves answers being
// checked as they are.
func (s *SQL) ForgetWrongAnswers(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE answer_limits SET failed = 0 WHERE key = ?`), key); err != nil {
		return fmt.Errorf("forget wrong answers %s: %w", key, err)
	}
	return nil
}

// AnswersAt returns the answers for key as they stand at now; zero when there are none or the row
// ran out.
func (s *SQL) AnswersAt(ctx context.Context, key string, now time.Time) (Answers, error) {
	var a Answers
	var exp int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT pending, failed, expires_at FROM answer_limits WHERE key = ? AND expires_at > ?`),
		key, ms(now)).Scan(&a.Pending, &a.Failed, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Answers{}, nil
	}
	if err != nil {
		return Answers{}, fmt.Errorf("answers %s: %w", key, err)
	}
	a.ExpiresAt = time.UnixMilli(exp)
	return a, nil
}

// Hold takes the hold key until until when it is free at now (no row, or one that ran out) and
// reports whether it did; when it did not, heldUntil is when the hold comes free. The check and
// the take are one statement, so of racing requests on any number of instances one gets it; the
// hold stays taken only if the transaction commits.
func (tx *Tx) Hold(ctx context.Context, key string, until, now time.Time) (ok bool, heldUntil time.Time, err error) {
	var u int64
	err = tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO lockouts (key, until) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE lockouts.until <= ?
		RETURNING until`), key, ms(until), ms(now)).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT until FROM lockouts WHERE key = ?`), key).Scan(&u); err != nil {
			return false, time.Time{}, fmt.Errorf("hold %s: %w", key, err)
		}
		return false, time.UnixMilli(u), nil
	}
	if err != nil {
		return false, time.Time{}, fmt.Errorf("hold %s: %w", key, err)
	}
	return true, until, nil
}

// PurgeExpired deletes counters, answer rows and holds that no longer matter, and counts them by
// table. The retention job (internal/retention) calls it.
func (s *SQL) PurgeExpired(ctx context.Context, now time.Time) (Purged, error) {
	out := Purged{}
	for _, p := range []struct{ table, query string }{
		{"counters", `DELETE FROM counters WHERE expires_at <= ?`},
		{"answer_limits", `DELETE FROM answer_limits WHERE expires_at <= ?`},
		{"lockouts", `DELETE FROM lockouts WHERE until <= ?`},
	} {
		res, err := s.db.ExecContext(ctx, s.q(p.query), ms(now))
		if err != nil {
			return out, fmt.Errorf("purge %s: %w", p.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return out, fmt.Errorf("purge %s: %w", p.table, err)
		}
		out[p.table] = int(n)
	}
	return out, nil
}

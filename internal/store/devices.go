package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SeeDevice records, inside the transaction, that userID used the device id (the keyed hash of its
// cookie) with a browser of family at now, and reports whether the user had not used it before.
// Of racing requests from one new device, one finds it new.
func (tx *Tx) SeeDevice(ctx context.Context, id, userID, family string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE devices SET last_seen_at = ? WHERE id = ? AND user_id = ? AND family = ?`),
		ms(now), id, userID, family)
	if err != nil {
		return false, fmt.Errorf("see device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return false, err
	}
	res, err = tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO devices (id, user_id, family, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id, user_id, family) DO NOTHING`), id, userID, family, ms(now), ms(now))
	if err != nil {
		return false, fmt.Errorf("see device: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeviceCount returns how many devices a user has used, for tests and support.
func (s *SQL) DeviceCount(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM devices WHERE user_id = ?`), userID).Scan(&n)
	return n, err
}

// CheckupDueOnDevice reports whether someone who used the device id has a check-up due at now:
// the portal asks them, on their next visit, to sign in once with their new factor.
func (s *SQL) CheckupDueOnDevice(ctx context.Context, id string, now time.Time) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM devices d JOIN users u ON u.id = d.user_id
		WHERE d.id = ? AND u.checkup_due_at IS NOT NULL AND u.checkup_due_at <= ? LIMIT 1`), id, ms(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check-up due on device: %w", err)
	}
	return true, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Code is a one-time code row; only its keyed hash is stored.
type Code struct {
	ID         int64
	UserID     string
	Purpose    string // such as "verify", "assist", "enroll_email", "signin_email"
	Channel    string // "phone", "email" or "" for assist codes
	Target     string // where it was sent
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt time.Time
	IssuedBy   string
}

// VoidCodes voids every live code of a user for a purpose, so a new code replaces the old.
func (tx *Tx) VoidCodes(ctx context.Context, userID, purpose string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE codes SET voided_at = ?
		WHERE user_id = ? AND purpose = ? AND consumed_at IS NULL AND voided_at IS NULL`), ms(now), userID, purpose)
	if err != nil {
		return fmt.Errorf("void codes: %w", err)
	}
	return nil
}

// InsertCode stores a new code.
func (tx *Tx) InsertCode(ctx context.Context, c Code) (int64, error) {
	var id int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO codes (user_id, purpose, channel, target, code_hash, created_at, expires_at, issued_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		c.UserID, c.Purpose, c.Channel, c.Target, c.Hash, ms(c.CreatedAt), ms(c.ExpiresAt), c.IssuedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert code: %w", err)
	}
	return id, nil
}

// LatestCode returns the newest code of a user for a purpose that was neither used nor voided,
// expired or not, so the caller can tell "expired" from "none". ErrNotFound when there is none.
func (s *SQL) LatestCode(ctx context.Context, userID, purpose string) (Code, error) {
	var c Code
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, user_id, purpose, channel, target, code_hash, created_at, expires_at, issued_by
		FROM codes WHERE user_id = ? AND purpose = ? AND consumed_at IS NULL AND voided_at IS NULL
		ORDER BY id DESC LIMIT 1`), userID, purpose).
		Scan(&c.ID, &c.UserID, &c.Purpose, &c.Channel, &c.Target, &c.Hash, &created, &expires, &c.IssuedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("latest code: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	return c, nil
}

// ConsumeCode marks a live, unexpired code used. It reports false when another request used,
// voided or outlived it first, so a code is redeemed at most once even under races.
func (tx *Tx) ConsumeCode(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE codes SET consumed_at = ?
		WHERE id = ? AND consumed_at IS NULL AND voided_at IS NULL AND expires_at > ?`), ms(now), id, ms(now))
	if err != nil {
		return false, fmt.Errorf("consume code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CodeSpent reports whether the user's code for purpose with this hash was used and would still
// be live: the right code, redeemed already — by a racing request of the same user, most likely.
func (s *SQL) CodeSpent(ctx context.Context, userID, purpose string, hash []byte, now time.Time) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM codes WHERE user_id = ? AND purpose = ? AND code_hash = ?
		AND consumed_at IS NOT NULL AND expires_at > ?`), userID, purpose, hash, ms(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("code spent: %w", err)
	}
	return n > 0, nil
}

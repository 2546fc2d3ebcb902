package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Contact fields a user can change in My security.
const (
	ContactEmail = "email"
	ContactPhone = "phone"
)

// contactColumns names, for each contact field, its column and the column of when the user
// changed it; fixed strings, never input.
var contactColumns = map[string][2]string{
	ContactEmail: {"email", "email_changed_at"},
	ContactPhone: {"phone", "phone_changed_at"},
}

// SetContact replaces a user's registered email or phone (field) inside the transaction, when it
// is still from: a racing change wins once. The value is marked as the user's own (changedAt), so
// roster imports keep it; a zero changedAt hands the field back to the roster. It reports whether
// it changed the user.
func (tx *Tx) SetContact(ctx context.Context, userID, field, from, to string, changedAt, now time.Time) (bool, error) {
	cols, ok := contactColumns[field]
	if !ok {
		return false, fmt.Errorf("set contact: unknown field %q", field)
	}
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET `+cols[0]+` = ?, `+cols[1]+` = ?, updated_at = ?
		WHERE id = ? AND `+cols[0]+` = ?`), to, nullMS(changedAt), ms(now), userID, from)
	if err != nil {
		return false, fmt.Errorf("set contact: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ContactChangedAt returns when the user last changed field in My security; zero when the roster's
// value stands.
func (tx *Tx) ContactChangedAt(ctx context.Context, userID, field string) (time.Time, error) {
	cols, ok := contactColumns[field]
	if !ok {
		return time.Time{}, fmt.Errorf("contact changed at: unknown field %q", field)
	}
	var at sql.NullInt64
	if err := tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT `+cols[1]+` FROM users WHERE id = ?`), userID).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("contact changed at: %w", err)
	}
	return fromMS(at), nil
}

// LockChanges locks changes to a user's account from now until UnlockChanges, inside the
// transaction; it reports whether they were unlocked before.
func (tx *Tx) LockChanges(ctx context.Context, userID string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET changes_locked_at = ? WHERE id = ? AND changes_locked_at IS NULL`), ms(now), userID)
	if err != nil {
		return false, fmt.Errorf("lock changes: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UnlockChanges ends a lock on changes inside the transaction; it reports whether there was one.
func (tx *Tx) UnlockChanges(ctx context.Context, userID string) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET changes_locked_at = NULL WHERE id = ? AND changes_locked_at IS NOT NULL`), userID)
	if err != nil {
		return false, fmt.Errorf("unlock changes: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Disavowal is the "this wasn't me" link of one security email: ID is the SHA-256 of the link's
// token, Change what the email reported, Undo what to put back (a contact change's old value).
type Disavowal struct {
	ID        string
	UserID    string
	Change    string
	Undo      map[string]string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// CreateDisavowal stores a link inside the transaction that writes its email.
func (tx *Tx) CreateDisavowal(ctx context.Context, d Disavowal) error {
	undo := []byte("{}")
	if len(d.Undo) > 0 {
		undo, _ = json.Marshal(d.Undo) // strings only: cannot fail
	}
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO disavowals (id, user_id, change_type, undo, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`), d.ID, d.UserID, d.Change, string(undo), ms(d.CreatedAt), ms(d.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create disavowal: %w", err)
	}
	return nil
}

const disavowalColumns = `id, user_id, change_type, undo, created_at, expires_at, used_at`

func scanDisavowal(row interface{ Scan(...any) error }) (Disavowal, error) {
	var d Disavowal
	var undo string
	var created, expires int64
	var used sql.NullInt64
	if err := row.Scan(&d.ID, &d.UserID, &d.Change, &undo, &created, &expires, &used); err != nil {
		return d, err
	}
	d.CreatedAt, d.ExpiresAt, d.UsedAt = time.UnixMilli(created), time.UnixMilli(expires), fromMS(used)
	if undo != "" && undo != "{}" {
		_ = json.Unmarshal([]byte(undo), &d.Undo)
	}
	return d, nil
}

// Disavowal returns a link by ID in whatever state; ErrNotFound when there is none.
func (s *SQL) Disavowal(ctx context.Context, id string) (Disavowal, error) {
	d, err := scanDisavowal(s.db.QueryRowContext(ctx, s.q(`SELECT `+disavowalColumns+` FROM disavowals WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("disavowal: %w", err)
	}
	return d, nil
}

// UseDisavowal marks a live link used inside the transaction and returns it. The check and the
// mark are one statement, so a link works once however many requests race. ErrSpent when it was
// used already, ErrExpired when its time ran out unused, ErrNotFound when there is none.
func (tx *Tx) UseDisavowal(ctx context.Context, id string, now time.Time) (Disavowal, error) {
	d, err := scanDisavowal(tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE disavowals SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING `+disavowalColumns), ms(now), id, ms(now)))
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("use disavowal: %w", err)
	}
	var used sql.NullInt64
	err = tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT used_at FROM disavowals WHERE id = ?`), id).Scan(&used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Disavowal{}, ErrNotFound
	case err != nil:
		return Disavowal{}, fmt.Errorf("use disavowal: %w", err)
	case used.Valid:
		return Disavowal{}, ErrSpent
	}
	return Disavowal{}, ErrExpired
}

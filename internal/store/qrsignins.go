package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The states of a QR code sign-in (internal/qrsignin). They move only forward.
const (
	QRPending   = "pending"
	QRClaimed   = "claimed"
	QRApproved  = "approved"
	QRConsumed  = "consumed"
	QRDenied    = "denied"
	QRCancelled = "cancelled"
	QRExpired   = "expired"
)

// QRSignIn is one QR code sign-in: a computer showing a QR code that the user's signed-in phone
// scans and approves. Binding and Code are SHA-256 hashes of the computer's binding token and of
// the QR code's current id; neither is stored in a usable form.
type QRSignIn struct {
	Binding    string
	Code       string
	State      string
	Refreshes  int    // how often the pending code was replaced by a new one
	UserID     string // who claimed it; "" while pending
	ClaimedBy  string // the claiming phone's session ID
	IP         string // the computer's
	UserAgent  string // the computer's
	CreatedAt  time.Time
	StateUntil time.Time // when the current state runs out
	EndsAt     time.Time // when the whole sign-in runs out
}

const qrColumns = `binding, code, state, refreshes, user_id, claimed_by, ip, user_agent, created_at, state_until, ends_at`

func scanQR(row interface{ Scan(...any) error }) (QRSignIn, error) {
	var q QRSignIn
	var user sql.NullString
	var created, until, ends int64
	if err := row.Scan(&q.Binding, &q.Code, &q.State, &q.Refreshes, &user, &q.ClaimedBy, &q.IP, &q.UserAgent, &created, &until, &ends); err != nil {
		return q, err
	}
	q.UserID = user.String
	q.CreatedAt, q.StateUntil, q.EndsAt = time.UnixMilli(created), time.UnixMilli(until), time.UnixMilli(ends)
	return q, nil
}

// CreateQRSignIn stores a new, pending QR code sign-in inside the transaction.
func (tx *Tx) CreateQRSignIn(ctx context.Context, q QRSignIn) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO qr_signins (binding, code, state, refreshes, claimed_by, ip, user_agent, created_at, state_until, ends_at)
		VALUES (?, ?, ?, 0, '', ?, ?, ?, ?, ?)`), q.Binding, q.Code, QRPending, q.IP, truncate(q.UserAgent, 512), ms(q.CreatedAt), ms(q.StateUntil), ms(q.EndsAt))
	if err != nil {
		return fmt.Errorf("create qr sign-in: %w", err)
	}
	return nil
}

// QRSignInByCode returns the sign-in whose current QR code hashes to code; ErrNotFound when none
// does (never made, or refreshed since).
func (s *SQL) QRSignInByCode(ctx context.Context, code string) (QRSignIn, error) {
	return s.qrSignIn(ctx, "code", code)
}

// QRSignInByBinding returns the sign-in of the computer whose binding token hashes to binding.
func (s *SQL) QRSignInByBinding(ctx context.Context, binding string) (QRSignIn, error) {
	return s.qrSignIn(ctx, "binding", binding)
}

func (s *SQL) qrSignIn(ctx context.Context, column, value string) (QRSignIn, error) {
	q, err := scanQR(s.db.QueryRowContext(ctx, s.q(`SELECT `+qrColumns+` FROM qr_signins WHERE `+column+` = ?`), value))
	if errors.Is(err, sql.ErrNoRows) {
		return q, ErrNotFound
	}
	if err != nil {
		return q, fmt.Errorf("qr sign-in: %w", err)
	}
	return q, nil
}

// ClaimQRSignIn moves the live, pending sign-in whose code hashes to code to claimed, for userID
// on the phone session claimedBy, until until. The check and the move are one statement, so of
// racing scanners exactly one wins; false for the others, and for a code not live and pending.
func (tx *Tx) ClaimQRSignIn(ctx context.Context, code, userID, claimedBy string, until, now time.Time) (QRSignIn, bool, error) {
	return tx.moveQR(ctx, `state = ?, user_id = ?, claimed_by = ?, state_until = ?`, []any{QRClaimed, userID, claimedBy, ms(until)},
		`code = ? AND state = ? AND state_until > ? AND ends_at > ?`, []any{code, QRPending, ms(now), ms(now)})
}

// ApproveQRSignIn moves the live sign-in that the phone session claimedBy claimed to approved,
// until until; false when it is not that session's live claim.
func (tx *Tx) ApproveQRSignIn(ctx context.Context, code, claimedBy string, until, now time.Time) (QRSignIn, bool, error) {
	return tx.moveQR(ctx, `state = ?, state_until = ?`, []any{QRApproved, ms(until)},
		`code = ? AND state = ? AND claimed_by = ? AND state_until > ? AND ends_at > ?`, []any{code, QRClaimed, claimedBy, ms(now), ms(now)})
}

// DenyQRSignIn moves the live sign-in that the phone session claimedBy claimed to denied; false
// when it is not that session's live claim.
func (tx *Tx) DenyQRSignIn(ctx context.Context, code, claimedBy string, now time.Time) (QRSignIn, bool, error) {
	return tx.moveQR(ctx, `state = ?`, []any{QRDenied},
		`code = ? AND state = ? AND claimed_by = ? AND state_until > ? AND ends_at > ?`, []any{code, QRClaimed, claimedBy, ms(now), ms(now)})
}

// ConsumeQRSignIn moves the computer's live, approved sign-in to consumed, once: false for a
// second completion, and for one not approved or run out.
func (tx *Tx) ConsumeQRSignIn(ctx context.Context, binding string, now time.Time) (QRSignIn, bool, error) {
	return tx.moveQR(ctx, `state = ?`, []any{QRConsumed},
		`binding = ? AND state = ? AND state_until > ? AND ends_at > ?`, []any{binding, QRApproved, ms(now), ms(now)})
}

// RefreshQRSignIn gives the computer's pending sign-in whose code ran out a new code (hashed),
// pending until until, when it was refreshed fewer than maxRefreshes times and the whole sign-in
// has time left; false otherwise (and for a racing refresh that came second).
func (s *SQL) RefreshQRSignIn(ctx context.Context, binding, code string, maxRefreshes int, until, now time.Time) (QRSignIn, bool, error) {
	var q QRSignIn
	var ok bool
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		q, ok, err = tx.moveQR(ctx, `code = ?, refreshes = refreshes + 1, state_until = ?`, []any{code, ms(until)},
			`binding = ? AND state = ? AND state_until <= ? AND ends_at > ? AND refreshes < ?`, []any{binding, QRPending, ms(now), ms(now), maxRefreshes})
		return err
	})
	return q, ok, err
}

// CancelQRSignIn moves the computer's waiting sign-in (pending or claimed) to cancelled; false
// when it was not waiting.
func (s *SQL) CancelQRSignIn(ctx context.Context, binding string) (QRSignIn, bool, error) {
	var q QRSignIn
	var ok bool
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		q, ok, err = tx.moveQR(ctx, `state = ?`, []any{QRCancelled}, `binding = ? AND state IN (?, ?)`, []any{binding, QRPending, QRClaimed})
		return err
	})
	return q, ok, err
}

// ExpireQRSignIn moves the computer's sign-in whose time ran out at now — its current state's or
// the whole sign-in's — from a live state to expired; false when it is not live or has time left
// (a racing watch gave it a new code).
func (s *SQL) ExpireQRSignIn(ctx context.Context, binding string, now time.Time) (QRSignIn, bool, error) {
	var q QRSignIn
	var ok bool
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		q, ok, err = tx.moveQR(ctx, `state = ?`, []any{QRExpired},
			`binding = ? AND state IN (?, ?, ?) AND (state_until <= ? OR ends_at <= ?)`, []any{binding, QRPending, QRClaimed, QRApproved, ms(now), ms(now)})
		return err
	})
	return q, ok, err
}

// moveQR is the one conditional update every move of a QR sign-in is: set, where, in a statement
// that returns the row after, or no row when the condition did not hold.
func (tx *Tx) moveQR(ctx context.Context, set string, setArgs []any, where string, whereArgs []any) (QRSignIn, bool, error) {
	q, err := scanQR(tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE qr_signins SET `+set+` WHERE `+where+` RETURNING `+qrColumns),
		append(append([]any(nil), setArgs...), whereArgs...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return QRSignIn{}, false, nil
	}
	if err != nil {
		return QRSignIn{}, false, fmt.Errorf("move qr sign-in: %w", err)
	}
	return q, true, nil
}

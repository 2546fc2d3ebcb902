package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Factor kinds.
const (
	FactorTOTP    = "totp"
	FactorPasskey = "passkey"
	FactorEmail   = "email"
)

// ErrLastFactor refuses to remove a user's only factor.
var ErrLastFactor = errors.New("the last factor cannot be removed")

// Factor is a replacement authenticator: an authenticator app, a passkey or an email address.
type Factor struct {
	ID             int64
	UserID         string
	Kind           string
	Name           string
	Secret         []byte // TOTP secret, encrypted; the key ID is beside it
	SecretKeyID    string
	LastTOTPStep   int64
	Email          string
	CredentialID   []byte
	PublicKey      []byte
	SignCount      uint32
	Transports     string // comma-separated
	AAGUID         []byte
	BackupEligible bool
	BackupState    bool
	Flagged        bool
	CreatedAt      time.Time
	LastUsedAt     time.Time
}

const factorColumns = `id, user_id, kind, name, secret, secret_key_id, last_totp_step, email, credential_id, public_key,
	sign_count, transports, aaguid, backup_eligible, backup_state, flagged, created_at, last_used_at`

func scanFactor(row interface{ Scan(...any) error }) (Factor, error) {
	var f Factor
	var signCount, be, bs, flagged int64
	var created int64
	var used sql.NullInt64
	err := row.Scan(&f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &f.SecretKeyID, &f.LastTOTPStep, &f.Email, &f.CredentialID,
		&f.PublicKey, &signCount, &f.Transports, &f.AAGUID, &be, &bs, &flagged, &created, &used)
	if err != nil {
		return f, err
	}
	f.SignCount = uint32(signCount)
	f.BackupEligible, f.BackupState, f.Flagged = be != 0, bs != 0, flagged != 0
	f.CreatedAt, f.LastUsedAt = time.UnixMilli(created), fromMS(used)
	return f, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// InsertFactor adds a factor inside the transaction.
func (tx *Tx) InsertFactor(ctx context.Context, f Factor) (int64, error) {
	var id int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO factors (user_id, kind, name, secret, secret_key_id, last_totp_step, email,
		credential_id, public_key, sign_count, transports, aaguid, backup_eligible, backup_state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		f.UserID, f.Kind, f.Name, nullBytes(f.Secret), f.SecretKeyID, f.LastTOTPStep, f.Email, nullBytes(f.CredentialID),
		nullBytes(f.PublicKey), int64(f.SignCount), f.Transports, nullBytes(f.AAGUID), b2i(f.BackupEligible), b2i(f.BackupState),
		ms(f.CreatedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert factor: %w", err)
	}
	return id, nil
}

// Factors returns a user's factors, oldest first.
func (s *SQL) Factors(ctx context.Context, userID string) ([]Factor, error) {
	return s.factors(ctx, s.db, userID)
}

// Factors returns a user's factors as the transaction sees them.
func (tx *Tx) Factors(ctx context.Context, userID string) ([]Factor, error) {
	return tx.s.factors(ctx, tx.tx, userID)
}

func (s *SQL) factors(ctx context.Context, q querier, userID string) ([]Factor, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+factorColumns+` FROM factors WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, fmt.Errorf("factors: %w", err)
	}
	defer rows.Close()
	var out []Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, fmt.Errorf("factors: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Factor returns one factor of a user; ErrNotFound when the user has no such factor.
func (s *SQL) Factor(ctx context.Context, userID string, id int64) (Factor, error) {
	f, err := scanFactor(s.db.QueryRowContext(ctx, s.q(`SELECT `+factorColumns+` FROM factors WHERE user_id = ? AND id = ?`), userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("factor: %w", err)
	}
	return f, nil
}

// FactorByCredentialID finds a passkey by its credential ID; ErrNotFound when none.
func (s *SQL) FactorByCredentialID(ctx context.Context, credID []byte) (Factor, error) {
	f, err := scanFactor(s.db.QueryRowContext(ctx, s.q(`SELECT `+factorColumns+` FROM factors WHERE credential_id = ?`), credID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("factor by credential: %w", err)
	}
	return f, nil
}

// UseTOTPStep records that the TOTP code of step was used. It reports false when that step or a
// later one was used already, so a code cannot be replayed, even by racing requests.
func (s *SQL) UseTOTPStep(ctx context.Context, factorID int64, step int64, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE factors SET last_totp_step = ?, last_used_at = ?
		WHERE id = ? AND kind = 'totp' AND last_totp_step < ?`), step, ms(now), factorID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UsePasskey records a passkey sign-in: the new sign count, backup state and time. It reports
// false when the stored sign count changed meanwhile (a racing sign-in), so counts never go back.
func (s *SQL) UsePasskey(ctx context.Context, factorID int64, oldCount, newCount uint32, backupState bool, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE factors SET sign_count = ?, backup_state = ?, last_used_at = ?
		WHERE id = ? AND sign_count = ?`), int64(newCount), b2i(backupState), ms(now), factorID, int64(oldCount))
	if err != nil {
		return false, fmt.Errorf("use passkey: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// TouchFactor records that a factor was used to sign in.
func (s *SQL) TouchFactor(ctx context.Context, factorID int64, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE factors SET last_used_at = ? WHERE id = ?`), ms(now), factorID); err != nil {
		return fmt.Errorf("touch factor: %w", err)
	}
	return nil
}

// FlagFactor marks a factor for support's attention (such as a passkey whose count went back)
// inside the transaction.
func (tx *Tx) FlagFactor(ctx context.Context, factorID int64) error {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE factors SET flagged = 1 WHERE id = ?`), factorID); err != nil {
		return fmt.Errorf("flag factor: %w", err)
	}
	return nil
}

// RenameFactor renames one of the user's factors inside the transaction.
func (tx *Tx) RenameFactor(ctx context.Context, userID string, id int64, name string) error {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE factors SET name = ? WHERE user_id = ? AND id = ?`), name, userID, id)
	if err != nil {
		return fmt.Errorf("rename factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// RemoveFactor deletes one of the user's factors inside the transaction, refusing the last one.
func (tx *Tx) RemoveFactor(ctx context.Context, userID string, id int64) error {
	var n int
	if err := tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT COUNT(*) FROM factors WHERE user_id = ?`), userID).Scan(&n); err != nil {
		return fmt.Errorf("remove factor: %w", err)
	}
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`DELETE FROM factors WHERE user_id = ? AND id = ? AND ? > 1`), userID, id, n)
	if err != nil {
		return fmt.Errorf("remove factor: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		if n <= 1 {
			return ErrLastFactor
		}
		return ErrNotFound
	}
	return nil
}

// ReplaceRecoveryCodes voids a user's recovery codes and stores new ones (their hashes).
func (tx *Tx) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`DELETE FROM recovery_codes WHERE user_id = ?`), userID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	if len(hashes) == 0 {
		return nil
	}
	// One statement for all the codes: on PostgreSQL each statement is a round trip.
	rows := make([]string, len(hashes))
	args := make([]any, 0, 3*len(hashes))
	for i, h := range hashes {
		rows[i] = "(?, ?, ?)"
		args = append(args, userID, h, ms(now))
	}
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES `+strings.Join(rows, ", ")), args...); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode marks the user's unused recovery code with this hash used; false when there is
// none, so each code works once even under racing requests. When the code is the user's but used
// already (by a racing request, most likely), the error is ErrSpent.
func (tx *Tx) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`),
		ms(now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, err
	}
	var used int
	err = tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND code_hash = ? AND used_at IS NOT NULL`),
		userID, hash).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	if used > 0 {
		return false, ErrSpent
	}
	return false, nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (s *SQL) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`), userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("recovery codes left: %w", err)
	}
	return n, nil
}

// Ceremony is a WebAuthn ceremony in progress, kept in the database so any instance can finish it.
type Ceremony struct {
	ID        string
	UserID    string
	Kind      string // "register" or "login"
	Data      []byte // the library's session data, JSON
	ExpiresAt time.Time
}

// SaveCeremony stores a ceremony in progress.
func (s *SQL) SaveCeremony(ctx context.Context, c Ceremony) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO ceremonies (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`),
		c.ID, c.UserID, c.Kind, c.Data, ms(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("save ceremony: %w", err)
	}
	return nil
}

// TakeCeremony removes and returns a live ceremony, so each one finishes at most once.
func (s *SQL) TakeCeremony(ctx context.Context, id, kind string, now time.Time) (Ceremony, error) {
	return s.takeCeremony(ctx, s.db, id, kind, now)
}

// TakeCeremony removes and returns a live ceremony inside the transaction, so the ceremony and
// what it completes commit together.
func (tx *Tx) TakeCeremony(ctx context.Context, id, kind string, now time.Time) (Ceremony, error) {
	return tx.s.takeCeremony(ctx, tx.tx, id, kind, now)
}

func (s *SQL) takeCeremony(ctx context.Context, q querier, id, kind string, now time.Time) (Ceremony, error) {
	var c Ceremony
	var exp int64
	err := q.QueryRowContext(ctx, s.q(`DELETE FROM ceremonies WHERE id = ? AND kind = ? RETURNING id, user_id, kind, data, expires_at`), id, kind).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Data, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("take ceremony: %w", err)
	}
	c.ExpiresAt = time.UnixMilli(exp)
	if !now.Before(c.ExpiresAt) {
		return c, ErrNotFound
	}
	return c, nil
}

// PurgeCeremonies deletes ceremonies that can no longer finish.
func (s *SQL) PurgeCeremonies(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM ceremonies WHERE expires_at <= ?`), ms(now)); err != nil {
		return fmt.Errorf("purge ceremonies: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrDuplicate reports a row whose unique key (a staff member's email) is taken already.
var ErrDuplicate = errors.New("already exists")

// isUniqueViolation reports whether err is a unique constraint's refusal, in either dialect.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// StaffMember is a member of the support staff (internal/staff gives the fields their meaning).
type StaffMember struct {
	ID          string
	Email       string // lower-case
	Role        string // agent, supervisor or admin
	DisplayName string
	Status      string // pending, active or disabled
	Locale      string // the console's language; "" for the default
	CreatedAt   time.Time
	CreatedBy   string // a staff ID, or "cli:NAME"
	UpdatedAt   time.Time
}

const staffColumns = `id, email, role, display_name, status, locale, created_at, created_by, updated_at`

func scanStaff(row interface{ Scan(...any) error }) (StaffMember, error) {
	var m StaffMember
	var created, updated int64
	if err := row.Scan(&m.ID, &m.Email, &m.Role, &m.DisplayName, &m.Status, &m.Locale, &created, &m.CreatedBy, &updated); err != nil {
		return m, err
	}
	m.CreatedAt, m.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return m, nil
}

// InsertStaff adds a staff member inside the transaction; ErrDuplicate when the email is taken.
func (tx *Tx) InsertStaff(ctx context.Context, m StaffMember) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO staff (`+staffColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.ID, m.Email, m.Role, m.DisplayName, m.Status, m.Locale, ms(m.CreatedAt), m.CreatedBy, ms(m.UpdatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("insert staff %s: %w", m.Email, ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("insert staff: %w", err)
	}
	return nil
}

// StaffByID returns a staff member; ErrNotFound when there is none.
func (s *SQL) StaffByID(ctx context.Context, id string) (StaffMember, error) {
	return s.oneStaff(ctx, `id = ?`, id)
}

// StaffByEmail returns the staff member with a lower-case email; ErrNotFound when there is none.
func (s *SQL) StaffByEmail(ctx context.Context, email string) (StaffMember, error) {
	return s.oneStaff(ctx, `email = ?`, email)
}

func (s *SQL) oneStaff(ctx context.Context, where string, arg any) (StaffMember, error) {
	m, err := scanStaff(s.db.QueryRowContext(ctx, s.q(`SELECT `+staffColumns+` FROM staff WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("staff: %w", err)
	}
	return m, nil
}

// ListStaff returns every staff member, by email.
func (s *SQL) ListStaff(ctx context.Context) ([]StaffMember, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []StaffMember
	for rows.Next() {
		m, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetStaffStatus changes a staff member's status inside the transaction; false when there is no
// such member or the status was that already.
func (tx *Tx) SetStaffStatus(ctx context.Context, id, status string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE staff SET status = ?, updated_at = ? WHERE id = ? AND status <> ?`),
		status, ms(now), id, status)
	if err != nil {
		return false, fmt.Errorf("set staff status: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetStaffLocale records the language a staff member chose for the console.
func (s *SQL) SetStaffLocale(ctx context.Context, id, locale string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE staff SET locale = ? WHERE id = ?`), locale, id); err != nil {
		return fmt.Errorf("set staff locale: %w", err)
	}
	return nil
}

// StaffSetupLink is a one-time link that lets a staff member enroll a sign-in factor. ID is the
// SHA-256 of the link's token.
type StaffSetupLink struct {
	ID        string
	StaffID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// InsertStaffSetupLink stores a setup link inside the transaction.
func (tx *Tx) InsertStaffSetupLink(ctx context.Context, l StaffSetupLink) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO staff_setup_links (id, staff_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		l.ID, l.StaffID, ms(l.CreatedAt), ms(l.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert staff setup link: %w", err)
	}
	return nil
}

// StaffSetupLinkByID returns a setup link in whatever state; ErrNotFound when there is none.
func (s *SQL) StaffSetupLinkByID(ctx context.Context, id string) (StaffSetupLink, error) {
	var l StaffSetupLink
	var created, expires int64
	var used sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, staff_id, created_at, expires_at, used_at FROM staff_setup_links WHERE id = ?`), id).
		Scan(&l.ID, &l.StaffID, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("staff setup link: %w", err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = time.UnixMilli(created), time.UnixMilli(expires), fromMS(used)
	return l, nil
}

// TakeStaffSetupLink uses up a setup link inside the transaction, in one statement so that two
// requests cannot both use it, and returns its staff member's ID. ErrSpent when it was used,
// ErrExpired when its time ran out, ErrNotFound when there is none.
func (tx *Tx) TakeStaffSetupLink(ctx context.Context, id string, now time.Time) (string, error) {
	var staffID string
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE staff_setup_links SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING staff_id`), ms(now), id, ms(now)).Scan(&staffID)
	if err == nil {
		return staffID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("take staff setup link: %w", err)
	}
	var used sql.NullInt64
	err = tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT used_at FROM staff_setup_links WHERE id = ?`), id).Scan(&used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", ErrNotFound
	case err != nil:
		return "", fmt.Errorf("take staff setup link: %w", err)
	case used.Valid:
		return "", ErrSpent
	}
	return "", ErrExpired
}

// EndStaffSetupLinks voids a staff member's unused setup links inside the transaction (a new link
// replaces them; disabling the member ends them).
func (tx *Tx) EndStaffSetupLinks(ctx context.Context, staffID string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE staff_setup_links SET used_at = ? WHERE staff_id = ? AND used_at IS NULL`), ms(now), staffID)
	if err != nil {
		return fmt.Errorf("end staff setup links: %w", err)
	}
	return nil
}

// StaffAuditEntry is one record of the staff audit log: who (staff member and role, or the
// command line's actor), did what, to which user, when, why, from where.
type StaffAuditEntry struct {
	ID        int64
	At        time.Time
	StaffID   string // "" for the command line
	Actor     string // the staff member's email, or "cli:NAME"
	StaffRole string // the role at the time; "" for the command line
	Action    string
	UserID    string // "" when the action concerns no user
	Reason    string
	ClientIP  string
	Detail    map[string]string
}

const staffAuditColumns = `id, at, staff_id, actor, staff_role, action, user_id, reason, client_ip, detail`

// AppendStaffAudit records an entry inside the transaction of the change it records.
func (tx *Tx) AppendStaffAudit(ctx context.Context, e StaffAuditEntry) (int64, error) {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return 0, fmt.Errorf("append staff audit: %w", err)
		}
	}
	var user sql.NullString
	if e.UserID != "" {
		user = sql.NullString{String: e.UserID, Valid: true}
	}
	var id int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO staff_audit (at, staff_id, actor, staff_role, action, user_id, reason, client_ip, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), ms(e.At), e.StaffID, e.Actor, e.StaffRole, e.Action, user,
		truncate(e.Reason, 1000), e.ClientIP, string(detail)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("append staff audit: %w", err)
	}
	return id, nil
}

// StaffAuditFilter chooses entries of the audit log; zero fields do not filter. From is
// inclusive and To exclusive. Entries come newest first, Limit (at most 1,000; 50 when 0) after
// skipping Offset.
type StaffAuditFilter struct {
	StaffID string
	UserID  string
	Action  string
	From    time.Time
	To      time.Time
	Limit   int
	Offset  int
}

// StaffAudit returns the entries of the audit log that f chooses, newest first.
func (s *SQL) StaffAudit(ctx context.Context, f StaffAuditFilter) ([]StaffAuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.StaffID != "" {
		add("staff_id = ?", f.StaffID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", ms(f.To))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	query := `SELECT ` + staffAuditColumns + ` FROM staff_audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, limit, max(f.Offset, 0))
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("staff audit: %w", err)
	}
	defer rows.Close()
	var out []StaffAuditEntry
	for rows.Next() {
		var e StaffAuditEntry
		var at int64
		var user sql.NullString
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.StaffID, &e.Actor, &e.StaffRole, &e.Action, &user, &e.Reason, &e.ClientIP, &detail); err != nil {
			return nil, fmt.Errorf("staff audit: %w", err)
		}
		e.At, e.UserID = time.UnixMilli(at), user.String
		if detail != "" && detail != "{}" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("staff audit %d detail: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Staff members' own sign-in factors (staff_factors) share the Factor type with users' factors,
// UserID holding the staff ID, but live in a table of their own: a user's factor never signs a
// staff member in, nor the other way round.
const staffFactorColumns = `id, staff_id, kind, name, secret, secret_key_id, last_totp_step, '' AS email, credential_id, public_key,
	sign_count, transports, aaguid, backup_eligible, backup_state, 0 AS flagged, created_at, last_used_at`

// InsertStaffFactor adds a staff member's sign-in factor (totp or passkey) inside the
// transaction; f.UserID is the staff ID.
func (tx *Tx) InsertStaffFactor(ctx context.Context, f Factor) (int64, error) {
	var id int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO staff_factors (staff_id, kind, name, secret, secret_key_id, last_totp_step,
		credential_id, public_key, sign_count, transports, aaguid, backup_eligible, backup_state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		f.UserID, f.Kind, f.Name, nullBytes(f.Secret), f.SecretKeyID, f.LastTOTPStep, nullBytes(f.CredentialID),
		nullBytes(f.PublicKey), int64(f.SignCount), f.Transports, nullBytes(f.AAGUID), b2i(f.BackupEligible), b2i(f.BackupState),
		ms(f.CreatedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert staff factor: %w", err)
	}
	return id, nil
}

// StaffFactors returns a staff member's sign-in factors, oldest first.
func (s *SQL) StaffFactors(ctx context.Context, staffID string) ([]Factor, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+staffFactorColumns+` FROM staff_factors WHERE staff_id = ? ORDER BY id`), staffID)
	if err != nil {
		return nil, fmt.Errorf("staff factors: %w", err)
	}
	defer rows.Close()
	var out []Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, fmt.Errorf("staff factors: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// StaffFactorByCredentialID finds a staff member's passkey by its credential ID; ErrNotFound when
// none (a user's passkey included).
func (s *SQL) StaffFactorByCredentialID(ctx context.Context, credID []byte) (Factor, error) {
	f, err := scanFactor(s.db.QueryRowContext(ctx, s.q(`SELECT `+staffFactorColumns+` FROM staff_factors WHERE credential_id = ?`), credID))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	if err != nil {
		return f, fmt.Errorf("staff factor by credential: %w", err)
	}
	return f, nil
}

// UseStaffTOTPStep records that a staff member's TOTP code of step was used; false when that step
// or a later one was used already, so a code works once even under racing requests.
func (s *SQL) UseStaffTOTPStep(ctx context.Context, factorID int64, step int64, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE staff_factors SET last_totp_step = ?, last_used_at = ?
		WHERE id = ? AND kind = 'totp' AND last_totp_step < ?`), step, ms(now), factorID, step)
	if err != nil {
		return false, fmt.Errorf("use staff totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseStaffPasskey records a staff passkey sign-in: the new sign count, backup state and time;
// false when the stored count changed meanwhile (a racing sign-in).
func (s *SQL) UseStaffPasskey(ctx context.Context, factorID int64, oldCount, newCount uint32, backupState bool, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE staff_factors SET sign_count = ?, backup_state = ?, last_used_at = ?
		WHERE id = ? AND sign_count = ?`), int64(newCount), b2i(backupState), ms(now), factorID, int64(oldCount))
	if err != nil {
		return false, fmt.Errorf("use staff passkey: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LiveSessionsOfKind lists the live sessions of a kind, whoever their subject (the admin's list of
// staff sessions), most recently seen first; at most 500. idle is the kind's idle lifetime.
func (s *SQL) LiveSessionsOfKind(ctx context.Context, kind string, now time.Time, idle time.Duration) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions
		WHERE kind = ? AND ended_at IS NULL AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC LIMIT 500`),
		kind, ms(now), ms(now.Add(-idle)))
	if err != nil {
		return nil, fmt.Errorf("live sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("live sessions: %w", err)
		}
		out = append(out, ss)
	}
	return out, rows.Err()
}

// SetStaffRoleActive gives a staff member a role and makes them active inside the transaction
// (a sign-in through the company's provider, which vouches for both).
func (tx *Tx) SetStaffRoleActive(ctx context.Context, id, role string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE staff SET role = ?, status = 'active', updated_at = ? WHERE id = ? AND status <> 'disabled'`),
		role, ms(now), id)
	if err != nil {
		return fmt.Errorf("set staff role: %w", err)
	}
	return nil
}

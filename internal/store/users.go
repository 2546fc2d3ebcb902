package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
)

const userColumns = `id, phone, email, name, locale, deadline, id_last4_hash IS NOT NULL, state, sms_retired_at, created_at, updated_at,
	wave, deadline_from_wave, exempt_reason, out_of_scope_at, snoozes, snoozed_until,
	changes_locked_at, checkup_due_at`

func scanUser(row interface{ Scan(...any) error }) (campaign.User, error) {
	var u campaign.User
	var deadline, state string
	var retired, outOfScope, snoozedUntil, locked, checkup sql.NullInt64
	var created, updated int64
	var fromWave int
	if err := row.Scan(&u.ID, &u.Phone, &u.Email, &u.Name, &u.Locale, &deadline, &u.HasIDLast4, &state, &retired, &created, &updated,
		&u.Wave, &fromWave, &u.ExemptReason, &outOfScope, &u.Snoozes, &snoozedUntil, &locked, &checkup); err != nil {
		return u, err
	}
	u.DeadlineFromWave = fromWave != 0
	u.OutOfScopeAt, u.SnoozedUntil = fromMS(outOfScope), fromMS(snoozedUntil)
	d, err := campaign.ParseDate(deadline)
	if err != nil {
		return u, fmt.Errorf("user %s: %w", u.ID, err)
	}
	u.Deadline, u.State = d, campaign.State(state)
	u.SMSRetiredAt, u.ChangesLockedAt, u.CheckupDueAt = fromMS(retired), fromMS(locked), fromMS(checkup)
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return u, nil
}

// UserByID returns one user, or campaign.ErrUserNotFound.
func (s *SQL) UserByID(ctx context.Context, id string) (campaign.User, error) {
	return s.userByID(ctx, s.db, id)
}

// UserByID returns one user as the transaction sees it.
func (tx *Tx) UserByID(ctx context.Context, id string) (campaign.User, error) {
	return tx.s.userByID(ctx, tx.tx, id)
}

func (s *SQL) userByID(ctx context.Context, q querier, id string) (campaign.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, campaign.ErrUserNotFound
	}
	if err != nil {
		return u, fmt.Errorf("user by id: %w", err)
	}
	return u, nil
}

// UsersByPhone returns the users registered with an E.164 phone number, oldest first.
func (s *SQL) UsersByPhone(ctx context.Context, e164 string) ([]campaign.User, error) {
	return s.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE phone = ? ORDER BY created_at, id LIMIT 20`, e164)
}

// Users lists users by ID, at most limit of them, for the demo listing and the staff console.
func (s *SQL) Users(ctx context.Context, limit int) ([]campaign.User, error) {
	return s.queryUsers(ctx, `SELECT `+userColumns+` FROM users ORDER BY id LIMIT ?`, limit)
}

func (s *SQL) queryUsers(ctx context.Context, query string, args ...any) ([]campaign.User, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("query users: %w", err)
	}
	defer rows.Close()
	var out []campaign.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("query users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users the roster holds.
func (s *SQL) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// IDLast4Hash returns the stored keyed hash of a user's ID digits, nil when none is stored.
func (s *SQL) IDLast4Hash(ctx context.Context, userID string) ([]byte, error) {
	var h []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id_last4_hash FROM users WHERE id = ?`), userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, campaign.ErrUserNotFound
	}
	return h, err
}

// rosterEmail and rosterPhone are the contact details a roster row gives a stored user: the row's,
// except that an address or number the user changed in My security is kept, so a later import of
// an older roster does not undo it (operators learn of the change from the contact.changed event).
const (
	rosterEmail = `(CASE WHEN users.email_changed_at IS NOT NULL THEN users.email ELSE excluded.email END)`
	rosterPhone = `(CASE WHEN users.phone_changed_at IS NOT NULL THEN users.phone ELSE excluded.phone END)`
)

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Added, Updated, Unchanged int
}

// changedRoster is the condition under which a roster row updates the user it names: some field
// differs, or the user was out of scope. An equal row changes nothing, not even updated_at, and
// writes no history.
const changedRoster = `users.phone IS DISTINCT FROM ` + rosterPhone + ` OR users.email IS DISTINCT FROM ` + rosterEmail + `
	OR users.name IS DISTINCT FROM excluded.name OR users.locale IS DISTINCT FROM excluded.locale
	OR users.deadline IS DISTINCT FROM excluded.deadline OR users.id_last4_hash IS DISTINCT FROM excluded.id_last4_hash
	OR users.wave IS DISTINCT FROM excluded.wave OR users.deadline_from_wave IS DISTINCT FROM excluded.deadline_from_wave
	OR users.out_of_scope_at IS NOT NULL`

// rosterSet is what a changed roster row sets: its fields, back in scope, and planned again by
// the campaign scheduler, since its deadline or wave may have moved. State, history, snoozes and
// the notices and reminders already sent stay; so do contact details the user changed.
const rosterSet = `phone = ` + rosterPhone + `, email = ` + rosterEmail + `,
	name = excluded.name, locale = excluded.locale, deadline = excluded.deadline,
	id_last4_hash = excluded.id_last4_hash, wave = excluded.wave, deadline_from_wave = excluded.deadline_from_wave,
	out_of_scope_at = NULL, campaign_due_at = 0, updated_at = excluded.updated_at`

// UpsertUsers adds or updates roster entries by ID in one transaction, leaving each user's state
// alone, and records an event for each user added or changed; an entry equal to the stored user
// changes nothing. Entries must have distinct IDs.
func (s *SQL) UpsertUsers(ctx context.Context, entries []campaign.RosterEntry, now time.Time) (UpsertResult, error) {
	var res UpsertResult
	err := s.InTx(ctx, func(tx *Tx) error {
		upsert, err := tx.tx.PrepareContext(ctx, s.q(`INSERT INTO users
			(id, phone, email, name, locale, deadline, id_last4_hash, wave, deadline_from_wave, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'notified', ?, ?)
			ON CONFLICT (id) DO UPDATE SET `+rosterSet+`
			WHERE `+changedRoster))
		if err != nil {
			return fmt.Errorf("upsert users: %w", err)
		}
		defer upsert.Close()
		event, err := tx.tx.PrepareContext(ctx, s.q(`INSERT INTO events (user_id, type, detail, actor, created_at) VALUES (?, ?, '{}', 'system', ?)`))
		if err != nil {
			return fmt.Errorf("upsert users: %w", err)
		}
		defer event.Close()
		// Which users were there before: created_at cannot tell, since one import stamps the
		// users it adds in an earlier batch with the same time.
		existing, err := tx.existingUsers(ctx, entries)
		if err != nil {
			return fmt.Errorf("upsert users: %w", err)
		}
		at := ms(now)
		for _, e := range entries {
			var hash any
			if e.IDLast4Hash != nil {
				hash = e.IDLast4Hash
			}
			r, err := upsert.ExecContext(ctx, e.ID, e.Phone, e.Email, e.Name, e.Locale, e.Deadline.String(), hash, e.Wave, boolInt(e.DeadlineFromWave), at, at)
			if err != nil {
				return fmt.Errorf("upsert user %s: %w", e.ID, err)
			}
			changed, err := r.RowsAffected()
			if err != nil {
				return fmt.Errorf("upsert user %s: %w", e.ID, err)
			}
			typ := audit.RosterUpdated
			outOfScope, known := existing[e.ID]
			switch {
			case !known:
				typ = audit.RosterAdded
				res.Added++
			case changed == 0:
				res.Unchanged++
				continue
			case outOfScope:
				typ = audit.RosterReturned
				res.Updated++
			default:
				res.Updated++
			}
			if _, err := event.ExecContext(ctx, e.ID, string(typ), at); err != nil {
				return fmt.Errorf("upsert user %s: %w", e.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return res, nil
}

// existingUsers returns which of the entries' user IDs the users table holds, each with whether
// the user is out of scope, asking a few hundred at a time.
func (tx *Tx) existingUsers(ctx context.Context, entries []campaign.RosterEntry) (map[string]bool, error) {
	found := make(map[string]bool, len(entries))
	for start := 0; start < len(entries); start += 500 {
		part := entries[start:min(start+500, len(entries))]
		args := make([]any, len(part))
		for i, e := range part {
			args[i] = e.ID
		}
		marks := strings.Repeat("?, ", len(part)-1) + "?"
		rows, err := tx.tx.QueryContext(ctx, tx.s.q(`SELECT id, out_of_scope_at IS NOT NULL FROM users WHERE id IN (`+marks+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var out bool
			if err := rows.Scan(&id, &out); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = out
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// AppendEvent adds one entry to a user's history.
func (s *SQL) AppendEvent(ctx context.Context, ev audit.Event) error {
	if err := appendEvent(ctx, s, s.db, ev); err != nil {
		return err
	}
	if s.events != nil {
		s.events(ev)
	}
	return nil
}

// AppendEvent adds one entry to a user's history inside the transaction.
func (tx *Tx) AppendEvent(ctx context.Context, ev audit.Event) error {
	if err := appendEvent(ctx, tx.s, tx.tx, ev); err != nil {
		return err
	}
	if tx.s.events != nil {
		tx.events = append(tx.events, ev)
	}
	return nil
}

func appendEvent(ctx context.Context, s *SQL, q querier, ev audit.Event) error {
	detail := []byte("{}")
	if len(ev.Detail) > 0 {
		detail, _ = json.Marshal(ev.Detail)
	}
	actor := ev.Actor
	if actor == "" {
		actor = "user"
	}
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO events (user_id, type, detail, actor, ip, user_agent, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), ev.UserID, string(ev.Type), string(detail), actor, ev.IP, truncate(ev.UserAgent, 512), ms(ev.CreatedAt))
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// SetState moves a user to a new state and records the change, in the transaction.
func (tx *Tx) SetState(ctx context.Context, userID string, to campaign.State, ev audit.Event) error {
	var from string
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`SELECT state FROM users WHERE id = ?`), userID).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	if from == string(to) {
		return nil
	}
	extra := ""
	args := []any{string(to), ms(ev.CreatedAt)}
	if to == campaign.StateRetired {
		extra = ", sms_retired_at = ?"
		args = append(args, ms(ev.CreatedAt))
	}
	args = append(args, userID)
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET state = ?, updated_at = ?`+extra+` WHERE id = ?`), args...); err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	ev.UserID, ev.Type = userID, audit.StateChanged
	if ev.Detail == nil {
		ev.Detail = map[string]string{}
	}
	ev.Detail["from"], ev.Detail["to"] = from, string(to)
	return tx.AppendEvent(ctx, ev)
}

// Events returns a user's history, newest first, at most limit entries.
func (s *SQL) Events(ctx context.Context, userID string, limit int) ([]audit.Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, user_id, type, detail, actor, ip, user_agent, created_at
		FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?`), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var ev audit.Event
		var typ, detail string
		var at int64
		if err := rows.Scan(&ev.ID, &ev.UserID, &typ, &detail, &ev.Actor, &ev.IP, &ev.UserAgent, &at); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		ev.Type, ev.CreatedAt = audit.Type(typ), time.UnixMilli(at)
		if detail != "" && detail != "{}" {
			_ = json.Unmarshal([]byte(detail), &ev.Detail)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// SetCheckup schedules the check-up of a user's new factor inside the transaction.
func (tx *Tx) SetCheckup(ctx context.Context, userID string, due time.Time) error {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET checkup_due_at = ? WHERE id = ?`), ms(due), userID); err != nil {
		return fmt.Errorf("set checkup: %w", err)
	}
	return nil
}

// CompleteCheckup clears a check-up that has fallen due; false when none was due.
func (s *SQL) CompleteCheckup(ctx context.Context, userID string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET checkup_due_at = NULL WHERE id = ? AND checkup_due_at IS NOT NULL AND checkup_due_at <= ?`), userID, ms(now))
	if err != nil {
		return false, fmt.Errorf("complete checkup: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

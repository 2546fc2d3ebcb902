package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
)

// The campaign's statuses of a notice or reminder a user was due (campaign_sends.status).
const (
	TouchSent    = "sent"    // it went to the outbox
	TouchSkipped = "skipped" // a later one went instead, or it came too late to matter
)

// InScopeUserIDs calls fn with the ID of every user in the campaign's scope, for a full import
// to find those its file no longer names.
func (s *SQL) InScopeUserIDs(ctx context.Context, fn func(id string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM users WHERE out_of_scope_at IS NULL`)
	if err != nil {
		return fmt.Errorf("users in scope: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("users in scope: %w", err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return rows.Err()
}

// TakeOutOfScope marks the users ids out of the campaign's scope, in one transaction with a
// roster.out_of_scope history entry each: they stay, with their history and factors, but get no
// notice or reminder until a roster names them again. It reports how many it marked; a user out
// of scope already is left alone.
func (s *SQL) TakeOutOfScope(ctx context.Context, ids []string, now time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		args := []any{ms(now), ms(now)}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := tx.tx.QueryContext(ctx, s.q(`UPDATE users SET out_of_scope_at = ?, updated_at = ?, campaign_due_at = NULL
			WHERE out_of_scope_at IS NULL AND id IN (`+placeholders(len(ids))+`) RETURNING id`), args...)
		if err != nil {
			return err
		}
		var marked []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			marked = append(marked, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range marked {
			ev := audit.RosterOutOfScope.Event(id, audit.Client{}, now, nil)
			ev.Actor = "system"
			if err := tx.AppendEvent(ctx, ev); err != nil {
				return err
			}
		}
		n = len(marked)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("take out of scope: %w", err)
	}
	return n, nil
}

// UserCounts counts the users by wave and by where they stand: their state, or exempt, or out of
// scope (which go before the state). One pass over an index that holds every column it reads,
// so it stays cheap on a million users; callers cache it (rollout.Service.Counts).
func (s *SQL) UserCounts(ctx context.Context) ([]campaign.Count, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT wave, state, exempt_reason <> '', out_of_scope_at IS NOT NULL, COUNT(*)
		FROM users GROUP BY wave, state, exempt_reason <> '', out_of_scope_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("user counts: %w", err)
	}
	defer rows.Close()
	sums := map[[2]string]int{}
	var order [][2]string
	for rows.Next() {
		var wave, state string
		var exempt, out bool
		var n int
		if err := rows.Scan(&wave, &state, &exempt, &out, &n); err != nil {
			return nil, fmt.Errorf("user counts: %w", err)
		}
		switch {
		case out:
			state = campaign.CountOutOfScope
		case exempt:
			state = campaign.CountExempt
		}
		k := [2]string{wave, state}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user counts: %w", err)
	}
	out := make([]campaign.Count, 0, len(order))
	for _, k := range order {
		out = append(out, campaign.Count{Wave: k[0], State: k[1], Users: sums[k]})
	}
	return out, nil
}

// SetExempt exempts a user from the campaign with a reason, or with reason "" takes the
// exemption back, and plans them again; false when nothing changed.
func (tx *Tx) SetExempt(ctx context.Context, userID, reason string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET exempt_reason = ?, updated_at = ?, campaign_due_at = 0
		WHERE id = ? AND exempt_reason <> ?`), reason, ms(now), userID, reason)
	if err != nil {
		return false, fmt.Errorf("set exempt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set exempt: %w", err)
	}
	return n == 1, nil
}

// TakeCampaignSnooze counts one more snooze of the user's reminders until until, in one statement that
// checks and takes at once: only while fewer than limit were taken, so parallel requests cannot
// take more. The scheduler looks at the user again at until. It returns the count after it, or
// false when the limit was reached already.
func (tx *Tx) TakeCampaignSnooze(ctx context.Context, userID string, until time.Time, limit int, now time.Time) (int, bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE users SET snoozes = snoozes + 1, snoozed_until = ?, campaign_due_at = ?, updated_at = ?
		WHERE id = ? AND snoozes < ? RETURNING snoozes`), ms(until), ms(until), ms(now), userID, limit).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("take snooze: %w", err)
	}
	return n, true, nil
}

// DueCampaignUsers returns up to limit users whose campaign_due_at has come, soonest first, for
// the scheduler to look at inside tx. On PostgreSQL it locks them and skips users another
// scheduler has locked (FOR UPDATE SKIP LOCKED), so instances share the work; SQLite runs one
// writing transaction at a time.
func (tx *Tx) DueCampaignUsers(ctx context.Context, now time.Time, limit int) ([]campaign.User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE campaign_due_at IS NOT NULL AND campaign_due_at <= ?
		ORDER BY campaign_due_at LIMIT ?`
	if tx.s.dialect == Postgres {
		query += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := tx.tx.QueryContext(ctx, tx.s.q(query), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due campaign users: %w", err)
	}
	defer rows.Close()
	var out []campaign.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("due campaign users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CampaignTouches returns, for each of the users, the notices and reminders claimed for them
// already (sent or skipped), by touch.
func (tx *Tx) CampaignTouches(ctx context.Context, userIDs []string) (map[string]map[string]bool, error) {
	out := make(map[string]map[string]bool, len(userIDs))
	for start := 0; start < len(userIDs); start += 500 {
		part := userIDs[start:min(start+500, len(userIDs))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := tx.tx.QueryContext(ctx, tx.s.q(`SELECT user_id, touch FROM campaign_sends WHERE user_id IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("campaign touches: %w", err)
		}
		for rows.Next() {
			var id, touch string
			if err := rows.Scan(&id, &touch); err != nil {
				rows.Close()
				return nil, fmt.Errorf("campaign touches: %w", err)
			}
			if out[id] == nil {
				out[id] = map[string]bool{}
			}
			out[id][touch] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("campaign touches: %w", err)
		}
	}
	return out, nil
}

// ClaimTouch records that a notice or reminder (touch) due to a user at due was sent or skipped.
// The primary key (user, touch) lets one claim in: false when another scheduler, here or on
// another instance, claimed it first, and then the caller sends nothing.
func (tx *Tx) ClaimTouch(ctx context.Context, userID, touch, status string, due, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO campaign_sends (user_id, touch, status, due_at, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, touch) DO NOTHING`), userID, touch, status, ms(due), ms(now))
	if err != nil {
		return false, fmt.Errorf("claim %s of %s: %w", touch, userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim %s of %s: %w", touch, userID, err)
	}
	return n == 1, nil
}

// SetCampaignDue sets when the scheduler looks at the user next; zero: never, until the roster
// or the configuration changes.
func (tx *Tx) SetCampaignDue(ctx context.Context, userID string, due time.Time) error {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET campaign_due_at = ? WHERE id = ?`), nullMS(due), userID); err != nil {
		return fmt.Errorf("set campaign due: %w", err)
	}
	return nil
}

// CampaignTouchesSent returns every claim, for tests and the staff console: user, touch,
// status, when it was due and when it was claimed.
func (s *SQL) CampaignTouchesSent(ctx context.Context, userID string) ([]Touch, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id, touch, status, due_at, created_at FROM campaign_sends
		WHERE (? = '' OR user_id = ?) ORDER BY created_at, user_id, touch`), userID, userID)
	if err != nil {
		return nil, fmt.Errorf("campaign touches: %w", err)
	}
	defer rows.Close()
	var out []Touch
	for rows.Next() {
		var t Touch
		var due, at int64
		if err := rows.Scan(&t.UserID, &t.Touch, &t.Status, &due, &at); err != nil {
			return nil, fmt.Errorf("campaign touches: %w", err)
		}
		t.DueAt, t.At = time.UnixMilli(due), time.UnixMilli(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Touch is one claimed notice or reminder of a user.
type Touch struct {
	UserID, Touch, Status string
	DueAt, At             time.Time
}

// CampaignPlan returns the fingerprint of the campaign configuration the users were last planned
// with; "" when never.
func (s *SQL) CampaignPlan(ctx context.Context) (string, error) {
	var fp string
	err := s.db.QueryRowContext(ctx, `SELECT fingerprint FROM campaign_plan WHERE id = 1`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("campaign plan: %w", err)
	}
	return fp, nil
}

// Replan records a new campaign configuration (its fingerprint) and, in the same transaction,
// gives the users whose deadline is their wave's that wave's deadline from waves, and has the
// scheduler look at every user in scope who has not retired SMS again. It reports how many users
// it planned again.
func (s *SQL) Replan(ctx context.Context, fingerprint string, waves map[string]campaign.Date, now time.Time) (int, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		for name, d := range waves {
			if _, err := tx.tx.ExecContext(ctx, s.q(`UPDATE users SET deadline = ?, updated_at = ?
				WHERE wave = ? AND deadline_from_wave = 1 AND deadline <> ?`), d.String(), ms(now), name, d.String()); err != nil {
				return err
			}
		}
		res, err := tx.tx.ExecContext(ctx, s.q(`UPDATE users SET campaign_due_at = 0
			WHERE out_of_scope_at IS NULL AND state <> 'retired' AND (campaign_due_at IS NULL OR campaign_due_at > 0)`))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.tx.ExecContext(ctx, s.q(`INSERT INTO campaign_plan (id, fingerprint, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`), fingerprint, ms(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replan campaign: %w", err)
	}
	return int(n), nil
}

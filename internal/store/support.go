package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
)

// What the support console (internal/support) reads and changes: users by email, a user's
// messages, the changes staff make, and the dashboard's aggregates, each read from an index.

// UsersByEmail returns the users registered with an email address (stored in lower case), oldest
// first.
func (s *SQL) UsersByEmail(ctx context.Context, email string) ([]campaign.User, error) {
	return s.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE email = ? ORDER BY created_at, id LIMIT 20`, email)
}

// UserOutbox returns the newest messages and events to a user, newest first, without their
// payloads: what staff see of a user's deliveries.
func (s *SQL) UserOutbox(ctx context.Context, userID string, limit int) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+outboxColumns+` FROM outbox WHERE user_id = ? ORDER BY id DESC LIMIT ?`), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("user outbox: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return nil, fmt.Errorf("user outbox: %w", err)
	}
	for i := range items {
		items[i].Payload, items[i].sealed = nil, nil
	}
	return items, nil
}

// OutboxItem returns one of a user's outbox items without its payload, inside the transaction;
// ErrNotFound when the user has no such item.
func (tx *Tx) OutboxItem(ctx context.Context, userID string, id int64) (OutboxItem, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.s.q(`SELECT `+outboxColumns+` FROM outbox WHERE user_id = ? AND id = ?`), userID, id)
	if err != nil {
		return OutboxItem{}, fmt.Errorf("outbox item: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return OutboxItem{}, fmt.Errorf("outbox item: %w", err)
	}
	if len(items) == 0 {
		return OutboxItem{}, ErrNotFound
	}
	items[0].Payload, items[0].sealed = nil, nil
	return items[0], nil
}

// RetryOutbox puts a failed item of a user back in the queue, due at now with its attempts
// counted afresh, inside the transaction; false when it is not failed (a double submit, say).
// The workers of this process are woken once the transaction commits; others find it on their
// next poll.
func (tx *Tx) RetryOutbox(ctx context.Context, userID string, id int64, now time.Time) (bool, error) {
	var kind string
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, locked_until = 0, leased_by = ''
		WHERE user_id = ? AND id = ? AND status = 'failed' RETURNING kind`), ms(now), userID, id).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("retry outbox: %w", err)
	}
	tx.enqueued = tx.enqueued.with(kind)
	return true, nil
}

// ResetFactors deletes every factor and recovery code of a user and puts them back at the start
// (notified, SMS open, no check-up due, planned again by the campaign), inside the transaction.
// It returns the factors it deleted. The caller records the change.
func (tx *Tx) ResetFactors(ctx context.Context, userID string, now time.Time) ([]Factor, error) {
	factors, err := tx.Factors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("reset factors: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM factors WHERE user_id = ?`,
		`DELETE FROM recovery_codes WHERE user_id = ?`,
	} {
		if _, err := tx.tx.ExecContext(ctx, tx.s.q(q), userID); err != nil {
			return nil, fmt.Errorf("reset factors: %w", err)
		}
	}
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET sms_retired_at = NULL, checkup_due_at = NULL, campaign_due_at = 0, updated_at = ?
		WHERE id = ?`), ms(now), userID); err != nil {
		return nil, fmt.Errorf("reset factors: %w", err)
	}
	return factors, nil
}

// SetDeadline gives a user a deadline of their own (no longer their wave's) and has the campaign
// plan them again, inside the transaction.
func (tx *Tx) SetDeadline(ctx context.Context, userID string, d campaign.Date, now time.Time) error {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE users SET deadline = ?, deadline_from_wave = 0, campaign_due_at = 0, updated_at = ?
		WHERE id = ?`), d.String(), ms(now), userID)
	if err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return campaign.ErrUserNotFound
	}
	return nil
}

// AnswerLock is an account's method locked by wrong answers (answer_limits).
type AnswerLock struct {
	Key   string // account:method
	Until time.Time
}

// AnswerLocks lists the live locks of keys starting with prefix ("u:ID:"): rows with at least
// minFailed wrong answers that have not run out at now.
func (s *SQL) AnswerLocks(ctx context.Context, prefix string, minFailed int, now time.Time) ([]AnswerLock, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key, expires_at FROM answer_limits
		WHERE key >= ? AND key < ? AND failed >= ? AND expires_at > ? ORDER BY key`), prefix, prefix+"\uffff", minFailed, ms(now))
	if err != nil {
		return nil, fmt.Errorf("answer locks: %w", err)
	}
	defer rows.Close()
	var out []AnswerLock
	for rows.Next() {
		var l AnswerLock
		var until int64
		if err := rows.Scan(&l.Key, &until); err != nil {
			return nil, fmt.Errorf("answer locks: %w", err)
		}
		l.Until = time.UnixMilli(until)
		out = append(out, l)
	}
	return out, rows.Err()
}

// ForgetWrongAnswers forgets the wrong answers for key inside the transaction, ending a lock that
// is live at now; false when there was none.
func (tx *Tx) ForgetWrongAnswers(ctx context.Context, key string, minFailed int, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE answer_limits SET failed = 0 WHERE key = ? AND failed >= ? AND expires_at > ?`),
		key, minFailed, ms(now))
	if err != nil {
		return false, fmt.Errorf("forget wrong answers %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FactorCount is how many factors of a kind there are, and how many users hold one.
type FactorCount struct {
	Kind  string
	Users int
}

// FactorCounts counts the users holding a factor of each kind, from the factors_kind_user index:
// read in its order, each (kind, user) pair is told from the one before without sorting (COUNT
// (DISTINCT) would sort every kind's users).
func (s *SQL) FactorCounts(ctx context.Context) ([]FactorCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, COUNT(*) FROM (SELECT DISTINCT kind, user_id FROM factors) held GROUP BY kind ORDER BY kind`)
	if err != nil {
		return nil, fmt.Errorf("factor counts: %w", err)
	}
	defer rows.Close()
	var out []FactorCount
	for rows.Next() {
		var c FactorCount
		if err := rows.Scan(&c.Kind, &c.Users); err != nil {
			return nil, fmt.Errorf("factor counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DayCount is a number for one day: day 0 is the Unix epoch's day in the zone asked for.
type DayCount struct {
	Day   int64
	Count int
}

// RetiredPerDay counts the users who retired SMS on each day since since, in a zone offset
// seconds east of UTC, from the users_retired_at index. Days without any are left out.
func (s *SQL) RetiredPerDay(ctx context.Context, since time.Time, offset int) ([]DayCount, error) {
	off := int64(offset) * 1000
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT (sms_retired_at + ?) / 86400000 AS day, COUNT(*) FROM users
		WHERE sms_retired_at >= ? GROUP BY day ORDER BY day`), off, ms(since))
	if err != nil {
		return nil, fmt.Errorf("retired per day: %w", err)
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var d DayCount
		if err := rows.Scan(&d.Day, &d.Count); err != nil {
			return nil, fmt.Errorf("retired per day: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PastDeadline counts the users in the campaign (in scope, not exempt) who have not retired SMS
// and whose deadline is before today, from the users_deadline_open index.
func (s *SQL) PastDeadline(ctx context.Context, today campaign.Date) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users
		WHERE state <> 'retired' AND exempt_reason = '' AND out_of_scope_at IS NULL AND deadline < ?`), today.String()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("past deadline: %w", err)
	}
	return n, nil
}

// FailedOutbox counts the items given up, by kind (sms, email, event), from the outbox_failed
// index.
func (s *SQL) FailedOutbox(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, COUNT(*) FROM outbox WHERE status = 'failed' GROUP BY kind`)
	if err != nil {
		return nil, fmt.Errorf("failed outbox: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("failed outbox: %w", err)
		}
		out[kind] = n
	}
	return out, rows.Err()
}

// LockedAccounts counts the accounts (keys "u:ID:method") with at least one method locked at now.
func (s *SQL) LockedAccounts(ctx context.Context, minFailed int, now time.Time) (int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key FROM answer_limits WHERE key >= 'u:' AND key < 'u;' AND failed >= ? AND expires_at > ?`),
		minFailed, ms(now))
	if err != nil {
		return 0, fmt.Errorf("locked accounts: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return 0, fmt.Errorf("locked accounts: %w", err)
		}
		seen[accountOfKey(key)] = true
	}
	return len(seen), rows.Err()
}

// accountOfKey is the account part of an answer key: "u:ID" of "u:ID:method".
func accountOfKey(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == ':' {
			return key[:i]
		}
	}
	return key
}

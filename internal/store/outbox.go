package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Outbox kinds.
const (
	OutboxSMS   = "sms"
	OutboxEmail = "email"
	OutboxEvent = "event"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// OutboxItem is a message or event waiting for delivery, written in the same transaction as the
// change that caused it.
type OutboxItem struct {
	ID            int64
	Kind          string // sms, email or event
	Topic         string // what the message is about, such as "verify.code" or "user.migrated"
	UserID        string
	Payload       []byte // JSON; its shape belongs to the kind and topic
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// EnqueueOutbox writes an item for delivery inside the transaction; it is due at once, or at
// NextAttemptAt when that is later than CreatedAt.
func (tx *Tx) EnqueueOutbox(ctx context.Context, it OutboxItem) (int64, error) {
	var id int64
	at, due := ms(it.CreatedAt), ms(it.CreatedAt)
	if it.NextAttemptAt.After(it.CreatedAt) {
		due = ms(it.NextAttemptAt) // a message for later, such as the check-up reminder
	}
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO outbox (kind, topic, user_id, payload, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id`), it.Kind, it.Topic, it.UserID, string(it.Payload), due, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	return id, nil
}

// The outbox's columns in the order scanOutbox reads them.
const outboxColumns = `id, kind, topic, user_id, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at`

// ClaimOutbox leases up to limit due items — pending, next attempt at or before now, not leased
// by another worker — until now+lease, counts the attempt, and returns them oldest due first. A
// worker that dies holding a lease loses it when the lease ends, and the item is claimed again,
// so delivery is at least once. Several workers, in one process or many, never get the same item
// while its lease holds: PostgreSQL skips rows another claimer has locked (FOR UPDATE SKIP
// LOCKED); SQLite runs one writer at a time.
func (s *SQL) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxItem, error) {
	if limit < 1 {
		return nil, nil
	}
	var query string
	if s.dialect == Postgres {
		query = `WITH due AS (
				SELECT id FROM outbox
				WHERE status = 'pending' AND next_attempt_at <= ? AND locked_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?
				FOR UPDATE SKIP LOCKED)
			UPDATE outbox SET locked_until = ?, attempts = outbox.attempts + 1
			FROM due WHERE outbox.id = due.id
			RETURNING outbox.id, outbox.kind, outbox.topic, outbox.user_id, outbox.payload, outbox.status,
				outbox.attempts, outbox.next_attempt_at, outbox.last_error, outbox.created_at, outbox.sent_at`
	} else {
		query = `UPDATE outbox SET locked_until = ?4, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM outbox
				WHERE status = 'pending' AND next_attempt_at <= ?1 AND locked_until <= ?2
				ORDER BY next_attempt_at, id LIMIT ?3)
			RETURNING ` + outboxColumns
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), ms(now), ms(now), limit, ms(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	// RETURNING gives no order; deliver the longest waiting first.
	slices.SortFunc(items, func(a, b OutboxItem) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return items, nil
}

// MarkOutboxSent records a delivered item and erases the secret (a one-time code) from its
// payload. It changes nothing if the item is no longer pending.
func (s *SQL) MarkOutboxSent(ctx context.Context, id int64, now time.Time) error {
	return s.finishOutbox(ctx, id, OutboxSent, nullMS(now), ms(now), "")
}

// MarkOutboxFailed gives an item up: it stays, failed, for staff to see, with the last error,
// and its secret is erased. For a failed item NextAttemptAt records when it was given up, since
// no attempt follows. It changes nothing if the item is no longer pending.
func (s *SQL) MarkOutboxFailed(ctx context.Context, id int64, now time.Time, errMsg string) error {
	return s.finishOutbox(ctx, id, OutboxFailed, sql.NullInt64{}, ms(now), errMsg)
}

func (s *SQL) finishOutbox(ctx context.Context, id int64, status string, sentAt sql.NullInt64, at int64, errMsg string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		var payload string
		err := tx.tx.QueryRowContext(ctx, s.q(`SELECT payload FROM outbox WHERE id = ? AND status = 'pending'`), id).Scan(&payload)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mark outbox %s: %w", status, err)
		}
		_, err = tx.tx.ExecContext(ctx, s.q(`UPDATE outbox SET status = ?, payload = ?, sent_at = ?, next_attempt_at = ?,
			locked_until = 0, last_error = ? WHERE id = ? AND status = 'pending'`),
			status, string(EraseSecret([]byte(payload))), sentAt, at, truncateError(errMsg), id)
		if err != nil {
			return fmt.Errorf("mark outbox %s: %w", status, err)
		}
		return nil
	})
}

// MarkOutboxRetry records a failed attempt and schedules the next one at next, releasing the
// lease. It changes nothing if the item is no longer pending.
func (s *SQL) MarkOutboxRetry(ctx context.Context, id int64, next time.Time, errMsg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET next_attempt_at = ?, locked_until = 0, last_error = ?
		WHERE id = ? AND status = 'pending'`), ms(next), truncateError(errMsg), id)
	if err != nil {
		return fmt.Errorf("mark outbox retry: %w", err)
	}
	return nil
}

// ReleaseOutbox hands back a claimed item that was not attempted (the worker is stopping): the
// lease ends and the attempt is not counted, so another worker can deliver it at once.
func (s *SQL) ReleaseOutbox(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET locked_until = 0, attempts = attempts - 1
		WHERE id = ? AND status = 'pending' AND attempts > 0`), id)
	if err != nil {
		return fmt.Errorf("release outbox: %w", err)
	}
	return nil
}

// LatestOutboxForUser returns the newest item of a user on a topic ("verify.code"), of one kind
// ("sms" or "email"; "" for any), so the portal can tell the user a message could not be sent.
// Its payload is left out. ErrNotFound when there is none.
func (s *SQL) LatestOutboxForUser(ctx context.Context, userID, kind, topic string) (OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+outboxColumns+` FROM outbox
		WHERE user_id = ? AND topic = ? AND (? = '' OR kind = ?) ORDER BY id DESC LIMIT 1`), userID, topic, kind, kind)
	if err != nil {
		return OutboxItem{}, fmt.Errorf("latest outbox: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return OutboxItem{}, fmt.Errorf("latest outbox: %w", err)
	}
	if len(items) == 0 {
		return OutboxItem{}, ErrNotFound
	}
	items[0].Payload = nil
	return items[0], nil
}

// RecentOutbox returns the newest items, newest first, for staff and the development outbox.
// Secrets are erased from the payloads it returns, delivered or not.
func (s *SQL) RecentOutbox(ctx context.Context, limit int) ([]OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+outboxColumns+` FROM outbox ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("recent outbox: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return nil, fmt.Errorf("recent outbox: %w", err)
	}
	for i := range items {
		items[i].Payload = EraseSecret(items[i].Payload)
	}
	return items, nil
}

// EraseSecret returns a JSON object payload without its top-level "secret" member, where a
// message carries its one-time code; any other payload comes back unchanged.
func EraseSecret(payload []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil || m == nil {
		return payload
	}
	if _, ok := m["secret"]; !ok {
		return payload
	}
	delete(m, "secret")
	out, err := json.Marshal(m)
	if err != nil {
		return payload
	}
	return out
}

func scanOutboxRows(rows *sql.Rows) ([]OutboxItem, error) {
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		var it OutboxItem
		var payload string
		var next, created int64
		var sent sql.NullInt64
		if err := rows.Scan(&it.ID, &it.Kind, &it.Topic, &it.UserID, &payload, &it.Status, &it.Attempts,
			&next, &it.LastError, &created, &sent); err != nil {
			return nil, err
		}
		it.Payload = []byte(payload)
		it.NextAttemptAt, it.CreatedAt, it.SentAt = time.UnixMilli(next), time.UnixMilli(created), fromMS(sent)
		items = append(items, it)
	}
	return items, rows.Err()
}

// truncateError keeps a stored error short: enough for staff to see what went wrong.
func truncateError(s string) string {
	const max = 1000
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

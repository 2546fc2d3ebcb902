package store

import (
	"context"
	"fmt"
	"time"
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

// EnqueueOutbox writes an item for delivery inside the transaction; it is due at once.
func (tx *Tx) EnqueueOutbox(ctx context.Context, it OutboxItem) (int64, error) {
	var id int64
	at := ms(it.CreatedAt)
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO outbox (kind, topic, user_id, payload, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id`), it.Kind, it.Topic, it.UserID, string(it.Payload), at, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	return id, nil
}

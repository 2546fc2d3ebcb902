package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsretire/smsretire/internal/sealbox"
)

// Outbox kinds.
const (
	OutboxSMS   = "sms"
	OutboxEmail = "email"
	OutboxEvent = "event"
)

// OutboxKinds lists every kind, one delivery channel each.
var OutboxKinds = []string{OutboxSMS, OutboxEmail, OutboxEvent}

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
	// Secret is the one-time code of a claimed message, opened from its sealed copy; it exists
	// only in memory. Everywhere else it is empty.
	Secret string
	// SecretErr says why a claimed message's sealed code did not open (its key is no longer
	// configured, or the ciphertext was altered); such a message cannot be sent.
	SecretErr error
	// LeasedBy names the worker that claimed the item.
	LeasedBy string

	sealed []byte // the sealed secret as stored, and the ID of its key
	keyID  string
}

// SealSecretsWith gives the store the box that seals the one-time code of a message: the
// "secret" member of a payload is taken out before the row is written and stored encrypted
// beside it, so the plaintext never reaches the database, not even a page or log it later
// overwrites. Set it once, before the store is used; an item with a secret is refused without it.
func (s *SQL) SealSecretsWith(box *sealbox.Box) { s.box = box }

// secretAD binds a sealed code to its message's kind and user: it opens nowhere else.
func secretAD(kind, userID string) []byte { return []byte("outbox:" + kind + ":" + userID) }

// sealSecret takes a payload's top-level "secret" string out and seals it. A payload without one
// comes back unchanged, with no ciphertext.
func (s *SQL) sealSecret(kind, userID string, payload []byte) (rest, sealed []byte, keyID string, err error) {
	if !bytes.Contains(payload, []byte(`"secret"`)) {
		return payload, nil, "", nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil || m == nil {
		return payload, nil, "", nil
	}
	raw, ok := m["secret"]
	if !ok {
		return payload, nil, "", nil
	}
	var secret string
	if err := json.Unmarshal(raw, &secret); err != nil {
		return nil, nil, "", fmt.Errorf("outbox secret: want a string: %w", err)
	}
	delete(m, "secret")
	if rest, err = json.Marshal(m); err != nil {
		return nil, nil, "", fmt.Errorf("outbox payload: %w", err)
	}
	if secret == "" {
		return rest, nil, "", nil
	}
	if s.box == nil {
		return nil, nil, "", errors.New("outbox: a message with a one-time code needs the store's sealbox (SealSecretsWith)")
	}
	sealed, keyID, err = s.box.Seal([]byte(secret), secretAD(kind, userID))
	if err != nil {
		return nil, nil, "", fmt.Errorf("seal outbox secret: %w", err)
	}
	return rest, sealed, keyID, nil
}

// EnqueueOutbox writes an item for delivery inside the transaction; it is due at once, or at
// NextAttemptAt when that is later than CreatedAt. A one-time code in the payload's "secret" is
// sealed (see SealSecretsWith). Once the transaction commits, the workers of this process are
// woken; on PostgreSQL a notification sent after the commit wakes those of other instances too.
func (tx *Tx) EnqueueOutbox(ctx context.Context, it OutboxItem) (int64, error) {
	var id int64
	at, due := ms(it.CreatedAt), ms(it.CreatedAt)
	if it.NextAttemptAt.After(it.CreatedAt) {
		due = ms(it.NextAttemptAt) // a message for later, such as the check-up reminder
	}
	payload, sealed, keyID, err := tx.s.sealSecret(it.Kind, it.UserID, it.Payload)
	if err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	query := `INSERT INTO outbox (kind, topic, user_id, payload, secret, secret_key_id, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`
	args := []any{it.Kind, it.Topic, it.UserID, string(payload), sealed, keyID, due, at}
	if err := tx.tx.QueryRowContext(ctx, tx.s.q(query), args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("enqueue outbox: %w", err)
	}
	tx.enqueued = tx.enqueued.with(it.Kind)
	return id, nil
}

// The outbox's columns in the order scanOutbox reads them.
const outboxColumns = `id, kind, topic, user_id, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at, secret, secret_key_id, leased_by`

// OutboxClaim says what ClaimOutbox takes.
type OutboxClaim struct {
	Now   time.Time
	Kind  string        // one channel (sms, email, event), or "" for any
	Limit int           // at most this many items
	Lease time.Duration // how long the items are reserved unless the lease is extended
	Owner string        // the claiming worker, which alone may extend, release or reschedule them
}

// ClaimOutbox leases up to c.Limit due items — pending, next attempt at or before now, not
// leased by another worker — until now+lease, counts the attempt, opens their sealed codes and
// returns them oldest due first. A worker that dies holding a lease loses it when the lease
// ends, and the item is claimed again, so delivery is at least once. Several workers, in one
// process or many, never get the same item while its lease holds: PostgreSQL skips rows another
// claimer has locked (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a time.
func (s *SQL) ClaimOutbox(ctx context.Context, c OutboxClaim) ([]OutboxItem, error) {
	if c.Limit < 1 {
		return nil, nil
	}
	kindCond := "kind = ?"
	if c.Kind == "" {
		kindCond = "kind <> ?" // no kind is empty: every kind
	}
	var query string
	var args []any
	if s.dialect == Postgres {
		query = `WITH due AS (
				SELECT id FROM outbox
				WHERE status = 'pending' AND ` + kindCond + ` AND next_attempt_at <= ? AND locked_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?
				FOR UPDATE SKIP LOCKED)
			UPDATE outbox SET locked_until = ?, leased_by = ?, attempts = outbox.attempts + 1
			FROM due WHERE outbox.id = due.id
			RETURNING outbox.id, outbox.kind, outbox.topic, outbox.user_id, outbox.payload, outbox.status,
				outbox.attempts, outbox.next_attempt_at, outbox.last_error, outbox.created_at, outbox.sent_at,
				outbox.secret, outbox.secret_key_id, outbox.leased_by`
		args = []any{c.Kind, ms(c.Now), ms(c.Now), c.Limit, ms(c.Now.Add(c.Lease)), c.Owner}
	} else {
		query = `UPDATE outbox SET locked_until = ?, leased_by = ?, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM outbox
				WHERE status = 'pending' AND ` + kindCond + ` AND next_attempt_at <= ? AND locked_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING ` + outboxColumns
		args = []any{ms(c.Now.Add(c.Lease)), c.Owner, c.Kind, ms(c.Now), ms(c.Now), c.Limit}
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	items, err := scanOutboxRows(rows)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	for i := range items {
		s.openSecret(&items[i])
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

// openSecret opens a claimed item's sealed code into Secret, or says in SecretErr why it cannot.
func (s *SQL) openSecret(it *OutboxItem) {
	if it.sealed == nil {
		return
	}
	if s.box == nil {
		it.SecretErr = errors.New("outbox: the store has no sealbox to open the code (SealSecretsWith)")
		return
	}
	plain, err := s.box.Open(it.sealed, it.keyID, secretAD(it.Kind, it.UserID))
	if err != nil {
		it.SecretErr = fmt.Errorf("open the code of outbox item %d: %w", it.ID, err)
		return
	}
	it.Secret = string(plain)
}

// ExtendOutboxLeases moves the lease of the items owner still holds among ids to until: the
// heartbeat of a worker whose deliveries are in progress. It reports how many it extended; an
// item missing from the count was finished, or taken over after the lease ran out.
func (s *SQL) ExtendOutboxLeases(ctx context.Context, owner string, ids []int64, until time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{ms(until), owner}
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET locked_until = ?
		WHERE leased_by = ? AND status = 'pending' AND id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return 0, fmt.Errorf("extend outbox leases: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("extend outbox leases: %w", err)
	}
	return int(n), nil
}

// MarkOutboxSent records delivered items and drops their sealed codes. It changes nothing for
// an item that is no longer pending. Whoever delivered an item may record it, even a worker
// whose lease ran out: the message did go out.
func (s *SQL) MarkOutboxSent(ctx context.Context, now time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{ms(now), ms(now)}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET status = 'sent', secret = NULL, secret_key_id = '', sent_at = ?,
		next_attempt_at = ?, locked_until = 0, leased_by = '', last_error = ''
		WHERE status = 'pending' AND id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return fmt.Errorf("mark outbox sent: %w", err)
	}
	return nil
}

// MarkOutboxFailed gives an item up: it stays, failed, for staff to see, with the last error,
// and its sealed code is dropped. For a failed item NextAttemptAt records when it was given up,
// since no attempt follows. It changes nothing unless owner still holds the item.
func (s *SQL) MarkOutboxFailed(ctx context.Context, id int64, owner string, now time.Time, errMsg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET status = 'failed', secret = NULL, secret_key_id = '', sent_at = NULL,
		next_attempt_at = ?, locked_until = 0, leased_by = '', last_error = ?
		WHERE id = ? AND status = 'pending' AND leased_by = ?`), ms(now), truncateError(errMsg), id, owner)
	if err != nil {
		return fmt.Errorf("mark outbox failed: %w", err)
	}
	return nil
}

// MarkOutboxRetry records a failed attempt and schedules the next one at next, releasing the
// lease. It changes nothing unless owner still holds the item.
func (s *SQL) MarkOutboxRetry(ctx context.Context, id int64, owner string, next time.Time, errMsg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET next_attempt_at = ?, locked_until = 0, leased_by = '', last_error = ?
		WHERE id = ? AND status = 'pending' AND leased_by = ?`), ms(next), truncateError(errMsg), id, owner)
	if err != nil {
		return fmt.Errorf("mark outbox retry: %w", err)
	}
	return nil
}

// ReleaseOutbox hands back a claimed item that was not attempted (the worker is stopping): the
// lease ends and the attempt is not counted, so another worker can deliver it at once. It
// changes nothing unless owner still holds the item.
func (s *SQL) ReleaseOutbox(ctx context.Context, id int64, owner string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET locked_until = 0, leased_by = '', attempts = attempts - 1
		WHERE id = ? AND status = 'pending' AND attempts > 0 AND leased_by = ?`), id, owner)
	if err != nil {
		return fmt.Errorf("release outbox: %w", err)
	}
	return nil
}

// SealLegacyOutboxSecrets seals the plaintext codes that pending items written before codes
// were sealed still hold in their payloads, and reports how many it sealed. A worker runs it
// when it starts; after it no live row holds a plaintext code.
func (s *SQL) SealLegacyOutboxSecrets(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, kind, user_id, payload FROM outbox
		WHERE status = 'pending' AND secret IS NULL AND payload LIKE ?`), `%"secret"%`)
	if err != nil {
		return 0, fmt.Errorf("seal legacy outbox secrets: %w", err)
	}
	type legacy struct {
		id           int64
		kind, userID string
		payload      string
	}
	var found []legacy
	for rows.Next() {
		var l legacy
		if err := rows.Scan(&l.id, &l.kind, &l.userID, &l.payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seal legacy outbox secrets: %w", err)
		}
		found = append(found, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("seal legacy outbox secrets: %w", err)
	}
	n := 0
	for _, l := range found {
		payload, sealed, keyID, err := s.sealSecret(l.kind, l.userID, []byte(l.payload))
		if err != nil {
			return n, fmt.Errorf("seal legacy outbox secret of item %d: %w", l.id, err)
		}
		if sealed == nil && string(payload) == l.payload {
			continue
		}
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET payload = ?, secret = ?, secret_key_id = ?
			WHERE id = ? AND status = 'pending' AND payload = ?`), string(payload), sealed, keyID, l.id, l.payload); err != nil {
			return n, fmt.Errorf("seal legacy outbox secret of item %d: %w", l.id, err)
		}
		n++
	}
	return n, nil
}

// LatestOutboxForUser returns the newest item of a user on a topic ("verify.code"), of one kind
// ("sms" or "email"; "" for any), so the portal can tell the user a message is delayed or could
// not be sent. Its payload is left out. ErrNotFound when there is none.
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
	items[0].Payload, items[0].sealed = nil, nil
	return items[0], nil
}

// RecentOutbox returns the newest items, newest first, for staff and the development outbox.
// Their codes stay sealed and are not returned.
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
		items[i].Payload, items[i].sealed = EraseSecret(items[i].Payload), nil
	}
	return items, nil
}

// EraseSecret returns a JSON object payload without its top-level "secret" member, where a
// message built for the outbox carries its one-time code; any other payload comes back
// unchanged.
func EraseSecret(payload []byte) []byte {
	if !bytes.Contains(payload, []byte(`"secret"`)) {
		return payload
	}
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
			&next, &it.LastError, &created, &sent, &it.sealed, &it.keyID, &it.LeasedBy); err != nil {
			return nil, err
		}
		it.Payload = []byte(payload)
		it.NextAttemptAt, it.CreatedAt, it.SentAt = time.UnixMilli(next), time.UnixMilli(created), fromMS(sent)
		items = append(items, it)
	}
	return items, rows.Err()
}

// placeholders returns n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
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

// OutboxDue is the backlog of one channel: how many messages are due and not yet delivered, and
// since when the oldest of them has been due.
type OutboxDue struct {
	Kind   string
	Due    int
	Oldest time.Time
}

// DueOutbox reads the backlog of each channel with messages due at now (pending, next attempt
// at or before now, in delivery or not), from the index of pending messages.
func (s *SQL) DueOutbox(ctx context.Context, now time.Time) ([]OutboxDue, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, COUNT(*), MIN(next_attempt_at) FROM outbox
		WHERE status = 'pending' AND next_attempt_at <= ? GROUP BY kind`), ms(now))
	if err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxDue
	for rows.Next() {
		var d OutboxDue
		var oldest int64
		if err := rows.Scan(&d.Kind, &d.Due, &oldest); err != nil {
			return nil, fmt.Errorf("due outbox: %w", err)
		}
		d.Oldest = time.UnixMilli(oldest)
		out = append(out, d)
	}
	return out, rows.Err()
}

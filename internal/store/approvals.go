package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The states of an approval request (internal/approval). They move forward only.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalConsumed = "consumed" // the desktop completed the sign-in
	ApprovalDenied   = "denied"
	ApprovalWrong    = "wrong" // the phone typed another number
	ApprovalExpired  = "expired"
)

// ApprovalRequest is a sign-in waiting for approval on a signed-in phone. NumberHash and
// BindingHash are keyed hashes of the number the phone types and of the desktop's binding
// secret; UserID is "" for an account that does not exist.
type ApprovalRequest struct {
	ID          string
	Account     string
	UserID      string
	NumberHash  string
	BindingHash string
	State       string
	IP          string
	UserAgent   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	DecidedAt   time.Time
	DecidedBy   string // the approver's session ID
}

const approvalColumns = `id, account, user_id, number_hash, binding_hash, state, ip, user_agent, created_at, expires_at, decided_at, decided_by`

func scanApproval(row interface{ Scan(...any) error }) (ApprovalRequest, error) {
	var r ApprovalRequest
	var created, expires int64
	var decided sql.NullInt64
	err := row.Scan(&r.ID, &r.Account, &r.UserID, &r.NumberHash, &r.BindingHash, &r.State, &r.IP, &r.UserAgent, &created, &expires, &decided, &r.DecidedBy)
	r.CreatedAt, r.ExpiresAt, r.DecidedAt = time.UnixMilli(created), time.UnixMilli(expires), fromMS(decided)
	return r, err
}

// ApprovalAccount is an account's state for approvals: when it last asked for one, its open
// request, failures in a row and the suspension they led to.
type ApprovalAccount struct {
	LastAt         time.Time
	OpenID         string
	OpenUntil      time.Time
	Failures       int
	SuspendedUntil time.Time
}

// OpenApproval takes the account's one open request for id, until until, in one conditional
// upsert: only when no request is open, the last was asked at least gap before now and approvals
// are not suspended. It reports whether it took it, and the account's row (as found when not).
func (tx *Tx) OpenApproval(ctx context.Context, account, id string, gap time.Duration, now, until time.Time) (ApprovalAccount, bool, error) {
	var failures int
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`INSERT INTO approval_accounts (account, last_at, open_id, open_until, failures, suspended_until)
		VALUES (?, ?, ?, ?, 0, 0)
		ON CONFLICT (account) DO UPDATE SET last_at = excluded.last_at, open_id = excluded.open_id, open_until = excluded.open_until
		WHERE approval_accounts.open_until <= ? AND approval_accounts.last_at <= ? AND approval_accounts.suspended_until <= ?
		RETURNING failures`), account, ms(now), id, ms(until), ms(now), ms(now.Add(-gap)), ms(now)).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		a, err := tx.s.approvalAccount(ctx, tx.tx, account)
		return a, false, err
	}
	if err != nil {
		return ApprovalAccount{}, false, fmt.Errorf("open approval: %w", err)
	}
	return ApprovalAccount{LastAt: now, OpenID: id, OpenUntil: until, Failures: failures}, true, nil
}

// ApprovalAccountState returns the account's row; the zero row when it never asked.
func (s *SQL) ApprovalAccountState(ctx context.Context, account string) (ApprovalAccount, error) {
	return s.approvalAccount(ctx, s.db, account)
}

func (s *SQL) approvalAccount(ctx context.Context, q querier, account string) (ApprovalAccount, error) {
	var a ApprovalAccount
	var last, open, suspended int64
	err := q.QueryRowContext(ctx, s.q(`SELECT last_at, open_id, open_until, failures, suspended_until FROM approval_accounts WHERE account = ?`), account).
		Scan(&last, &a.OpenID, &open, &a.Failures, &suspended)
	if errors.Is(err, sql.ErrNoRows) {
		return ApprovalAccount{}, nil
	}
	if err != nil {
		return ApprovalAccount{}, fmt.Errorf("approval account: %w", err)
	}
	a.LastAt, a.OpenUntil, a.SuspendedUntil = time.UnixMilli(last), time.UnixMilli(open), time.UnixMilli(suspended)
	return a, nil
}

// FailApproval counts one more failure in a row for the account (a request denied, mistyped or
// ignored) and closes its open request id; the failure that makes max suspends approvals until
// until and starts the count again. It reports whether this failure suspended them.
func (tx *Tx) FailApproval(ctx context.Context, account, id string, max int, until time.Time) (bool, error) {
	var suspended int64
	err := tx.tx.QueryRowContext(ctx, tx.s.q(`UPDATE approval_accounts SET
			failures = CASE WHEN failures + 1 >= ? THEN 0 ELSE failures + 1 END,
			suspended_until = CASE WHEN failures + 1 >= ? THEN ? ELSE suspended_until END,
			open_until = CASE WHEN open_id = ? THEN 0 ELSE open_until END
		WHERE account = ? RETURNING suspended_until`), max, max, ms(until), id, account).Scan(&suspended)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fail approval: %w", err)
	}
	return suspended == ms(until), nil
}

// SuspendApproval suspends the account's approvals until until at once ("this wasn't me") and
// closes its open request.
func (tx *Tx) SuspendApproval(ctx context.Context, account string, until time.Time) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE approval_accounts SET failures = 0, suspended_until = ?, open_until = 0 WHERE account = ?`),
		ms(until), account)
	if err != nil {
		return fmt.Errorf("suspend approval: %w", err)
	}
	return nil
}

// SucceedApproval forgets the account's failures in a row and closes its open request id.
func (tx *Tx) SucceedApproval(ctx context.Context, account, id string) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE approval_accounts SET failures = 0,
		open_until = CASE WHEN open_id = ? THEN 0 ELSE open_until END WHERE account = ?`), id, account)
	if err != nil {
		return fmt.Errorf("approval succeeded: %w", err)
	}
	return nil
}

// ResetCounter forgets every window of the counter key: the limit it keeps starts again.
func (tx *Tx) ResetCounter(ctx context.Context, key string) error {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`DELETE FROM counters WHERE key = ?`), key); err != nil {
		return fmt.Errorf("reset %s: %w", key, err)
	}
	return nil
}

// CreateApprovalRequest stores a new request inside the transaction.
func (tx *Tx) CreateApprovalRequest(ctx context.Context, r ApprovalRequest) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO approval_requests (id, account, user_id, number_hash, binding_hash, state, ip, user_agent, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, r.Account, r.UserID, r.NumberHash, r.BindingHash, r.State, r.IP, truncate(r.UserAgent, 512),
		ms(r.CreatedAt), ms(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create approval request: %w", err)
	}
	return nil
}

// ApprovalRequest returns a request by ID in whatever state; ErrNotFound when there is none.
func (s *SQL) ApprovalRequest(ctx context.Context, id string) (ApprovalRequest, error) {
	r, err := scanApproval(s.db.QueryRowContext(ctx, s.q(`SELECT `+approvalColumns+` FROM approval_requests WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("approval request: %w", err)
	}
	return r, nil
}

// MoveApproval moves request id from state from to state to, by compare-and-swap, recording when
// and by which session (by "" keeps it); a pending or approved request moves only before it
// expires, and expires, when not zero, gives it a new end. It reports whether it moved.
func (tx *Tx) MoveApproval(ctx context.Context, id, from, to, by string, now, expires time.Time) (bool, error) {
	query := `UPDATE approval_requests SET state = ?, decided_at = ?`
	args := []any{to, ms(now)}
	if by != "" {
		query, args = query+`, decided_by = ?`, append(args, by)
	}
	if !expires.IsZero() {
		query, args = query+`, expires_at = ?`, append(args, ms(expires))
	}
	query, args = query+` WHERE id = ? AND state = ?`, append(args, id, from)
	if from == ApprovalPending || from == ApprovalApproved {
		query += ` AND expires_at > ?`
		args = append(args, ms(now))
	}
	res, err := tx.tx.ExecContext(ctx, tx.s.q(query), args...)
	if err != nil {
		return false, fmt.Errorf("move approval: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ExpireApprovals marks the account's pending requests that expired by now as expired, and
// returns their IDs: each is a request the user ignored, counted once by whoever marks it.
func (tx *Tx) ExpireApprovals(ctx context.Context, account string, now time.Time) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.s.q(`UPDATE approval_requests SET state = ?, decided_at = ?
		WHERE account = ? AND state = ? AND expires_at <= ? RETURNING id`), ApprovalExpired, ms(now), account, ApprovalPending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("expire approvals: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PendingApprovals lists the user's requests waiting for approval at now, newest first.
func (s *SQL) PendingApprovals(ctx context.Context, userID string, now time.Time) ([]ApprovalRequest, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+approvalColumns+` FROM approval_requests
		WHERE user_id = ? AND state = ? AND expires_at > ? ORDER BY created_at DESC`), userID, ApprovalPending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	defer rows.Close()
	var out []ApprovalRequest
	for rows.Next() {
		r, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddApprover enrolls the session as an approver of its user; enrolling it again changes nothing.
func (tx *Tx) AddApprover(ctx context.Context, sessionID, userID string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO approvers (session_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (session_id) DO NOTHING`), sessionID, userID, ms(now))
	if err != nil {
		return false, fmt.Errorf("add approver: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RemoveApprover stops the user's session from approving, with its push subscriptions; false
// when it was no approver.
func (tx *Tx) RemoveApprover(ctx context.Context, userID, sessionID string) (bool, error) {
	if _, err := tx.tx.ExecContext(ctx, tx.s.q(`DELETE FROM push_subscriptions WHERE session_id = ? AND user_id = ?`), sessionID, userID); err != nil {
		return false, fmt.Errorf("remove approver: %w", err)
	}
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`DELETE FROM approvers WHERE session_id = ? AND user_id = ?`), sessionID, userID)
	if err != nil {
		return false, fmt.Errorf("remove approver: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Approvers returns the IDs of the user's sessions that may approve, live or not.
func (s *SQL) Approvers(ctx context.Context, userID string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT session_id FROM approvers WHERE user_id = ?`), userID)
	if err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// IsApprover reports whether the session is enrolled as an approver of userID.
func (s *SQL) IsApprover(ctx context.Context, userID, sessionID string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM approvers WHERE session_id = ? AND user_id = ?`), sessionID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("is approver: %w", err)
	}
	return true, nil
}

// PushSubscription is a Web Push subscription of an approver session: where the push service
// takes messages for the browser, and the browser's keys that encrypt them (RFC 8291).
type PushSubscription struct {
	ID        string // SHA-256 of the endpoint
	SessionID string
	UserID    string
	Endpoint  string
	P256dh    string
	Auth      string
	CreatedAt time.Time
}

// SavePushSubscription stores the subscription for its approver session, replacing one with the
// same endpoint.
func (s *SQL) SavePushSubscription(ctx context.Context, p PushSubscription) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO push_subscriptions (id, session_id, user_id, endpoint, p256dh, auth, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, user_id = excluded.user_id, p256dh = excluded.p256dh,
			auth = excluded.auth, created_at = excluded.created_at`), p.ID, p.SessionID, p.UserID, p.Endpoint, p.P256dh, p.Auth, ms(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("save push subscription: %w", err)
	}
	return nil
}

// PushSubscriptions lists the subscriptions of the user's approvers whose session is live at now.
func (s *SQL) PushSubscriptions(ctx context.Context, userID string, now time.Time) ([]PushSubscription, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT p.id, p.session_id, p.user_id, p.endpoint, p.p256dh, p.auth, p.created_at
		FROM push_subscriptions p JOIN sessions s ON s.id = p.session_id
		WHERE p.user_id = ? AND s.ended_at IS NULL AND s.expires_at > ?`), userID, ms(now))
	if err != nil {
		return nil, fmt.Errorf("push subscriptions: %w", err)
	}
	defer rows.Close()
	var out []PushSubscription
	for rows.Next() {
		var p PushSubscription
		var created int64
		if err := rows.Scan(&p.ID, &p.SessionID, &p.UserID, &p.Endpoint, &p.P256dh, &p.Auth, &created); err != nil {
			return nil, err
		}
		p.CreatedAt = time.UnixMilli(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PushSubscribed reports whether the session has a push subscription.
func (s *SQL) PushSubscribed(ctx context.Context, sessionID string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM push_subscriptions WHERE session_id = ? LIMIT 1`), sessionID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("push subscribed: %w", err)
	}
	return true, nil
}

// DeletePushSubscription deletes a subscription: the push service said it is gone (404, 410),
// or the user turned notifications off (sessionID then names whose; "" for any).
func (s *SQL) DeletePushSubscription(ctx context.Context, id, sessionID string) error {
	query, args := `DELETE FROM push_subscriptions WHERE id = ?`, []any{id}
	if sessionID != "" {
		query, args = query+` AND session_id = ?`, append(args, sessionID)
	}
	if _, err := s.db.ExecContext(ctx, s.q(query), args...); err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	return nil
}

// DeletePushSubscriptionsOf deletes every subscription of the session (notifications off).
func (s *SQL) DeletePushSubscriptionsOf(ctx context.Context, sessionID string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM push_subscriptions WHERE session_id = ?`), sessionID); err != nil {
		return fmt.Errorf("delete push subscriptions: %w", err)
	}
	return nil
}

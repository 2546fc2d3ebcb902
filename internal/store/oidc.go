package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuthRequest is an OpenID Connect authorization request of one of the operator's services
// (internal/provider), from the browser's arrival to the exchange of its code. Browser is the
// hash of the token in the browser's provider cookie: only that browser may sign in for it and
// collect the code. Subject, AuthTime, AMR and ACR are set when the user signed in for it.
type AuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scopes        string // space-separated
	State         string
	Nonce         string
	ResponseMode  string
	CodeChallenge string // S256 only
	Prompt        string // space-separated
	MaxAge        *int64 // seconds; nil when not asked
	LoginHint     string
	ACRValues     string // space-separated
	UILocales     string // space-separated
	Browser       string
	CreatedAt     time.Time
	ExpiresAt     time.Time // the sign-in must be done by then
	Subject       string
	AuthTime      time.Time
	AMR           string // space-separated
	ACR           string
	DoneAt        time.Time
	CodeExpiresAt time.Time
	ExchangedAt   time.Time
	ClosedAt      time.Time
}

const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, response_mode, code_challenge, prompt, max_age,
	login_hint, acr_values, ui_locales, browser, created_at, expires_at, subject, auth_time, amr, acr, done_at, code_expires_at,
	exchanged_at, closed_at`

func scanAuthRequest(row interface{ Scan(...any) error }) (AuthRequest, error) {
	var a AuthRequest
	var maxAge, authTime, done, codeExp, exchanged, closed sql.NullInt64
	var subject sql.NullString
	var created, expires int64
	err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &a.Scopes, &a.State, &a.Nonce, &a.ResponseMode, &a.CodeChallenge, &a.Prompt,
		&maxAge, &a.LoginHint, &a.ACRValues, &a.UILocales, &a.Browser, &created, &expires, &subject, &authTime, &a.AMR, &a.ACR, &done,
		&codeExp, &exchanged, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if maxAge.Valid {
		v := maxAge.Int64
		a.MaxAge = &v
	}
	a.Subject = subject.String
	a.CreatedAt, a.ExpiresAt = time.UnixMilli(created), time.UnixMilli(expires)
	a.AuthTime, a.DoneAt, a.CodeExpiresAt, a.ExchangedAt, a.ClosedAt = fromMS(authTime), fromMS(done), fromMS(codeExp), fromMS(exchanged), fromMS(closed)
	return a, nil
}

// CreateAuthRequest stores a new authorization request.
func (s *SQL) CreateAuthRequest(ctx context.Context, a AuthRequest) error {
	var maxAge sql.NullInt64
	if a.MaxAge != nil {
		maxAge = sql.NullInt64{Int64: *a.MaxAge, Valid: true}
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce, response_mode,
		code_challenge, prompt, max_age, login_hint, acr_values, ui_locales, browser, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.ClientID, a.RedirectURI, a.Scopes, a.State, a.Nonce, a.ResponseMode, a.CodeChallenge, a.Prompt, maxAge, a.LoginHint,
		a.ACRValues, a.UILocales, a.Browser, ms(a.CreatedAt), ms(a.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create auth request: %w", err)
	}
	return nil
}

// AuthRequest returns an authorization request by ID, in whatever state; ErrNotFound when there
// is none.
func (s *SQL) AuthRequest(ctx context.Context, id string) (AuthRequest, error) {
	a, err := scanAuthRequest(s.db.QueryRowContext(ctx, s.q(`SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = ?`), id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("auth request: %w", err)
	}
	return a, err
}

// AuthRequestByCode returns the authorization request whose code has the hash codeHash, in
// whatever state; ErrNotFound when there is none.
func (s *SQL) AuthRequestByCode(ctx context.Context, codeHash string) (AuthRequest, error) {
	a, err := scanAuthRequest(s.db.QueryRowContext(ctx, s.q(`SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE code_hash = ?`), codeHash))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return a, fmt.Errorf("auth request by code: %w", err)
	}
	return a, err
}

// CompleteAuthRequest records inside the transaction that subject signed in for the request at
// authTime with the methods amr, reaching acr. It reports false when the request was done
// already, closed or expired at now: the check and the change are one statement.
func (tx *Tx) CompleteAuthRequest(ctx context.Context, id, subject string, authTime time.Time, amr, acr string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE oidc_auth_requests SET subject = ?, auth_time = ?, amr = ?, acr = ?, done_at = ?
		WHERE id = ? AND done_at IS NULL AND closed_at IS NULL AND expires_at > ?`), subject, ms(authTime), amr, acr, ms(now), id, ms(now))
	if err != nil {
		return false, fmt.Errorf("complete auth request: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SaveAuthCode gives a completed request its one code, stored as codeHash and valid until
// expires. It reports false when the request has a code already (a reloaded callback), is not
// completed or was closed: a request yields one code at most.
func (s *SQL) SaveAuthCode(ctx context.Context, id, codeHash string, expires time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE oidc_auth_requests SET code_hash = ?, code_expires_at = ?
		WHERE id = ? AND done_at IS NOT NULL AND code_hash IS NULL AND closed_at IS NULL`), codeHash, ms(expires), id)
	if err != nil {
		return false, fmt.Errorf("save auth code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ExchangeCode uses up the request's code inside the transaction: it reports false when the code
// was exchanged already or has expired at now. The check and the change are one statement, so
// of racing exchanges exactly one wins.
func (tx *Tx) ExchangeCode(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE oidc_auth_requests SET exchanged_at = ?
		WHERE id = ? AND exchanged_at IS NULL AND closed_at IS NULL AND code_expires_at > ?`), ms(now), id, ms(now))
	if err != nil {
		return false, fmt.Errorf("exchange code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CloseAuthRequest marks the request finished (its tokens were issued, or it was refused), so it
// can neither complete nor yield a code any more. The row stays until it expires, so that a
// replayed code is recognised.
func (s *SQL) CloseAuthRequest(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE oidc_auth_requests SET closed_at = ? WHERE id = ? AND closed_at IS NULL`), ms(now), id)
	if err != nil {
		return fmt.Errorf("close auth request: %w", err)
	}
	return nil
}

// DeleteAuthRequestsBefore removes the requests, with their tokens, that expired before t.
func (s *SQL) DeleteAuthRequestsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM oidc_auth_requests WHERE expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM oidc_tokens WHERE oidc_tokens.auth_request_id = oidc_auth_requests.id AND oidc_tokens.expires_at >= ?)`),
		ms(t), ms(t))
	if err != nil {
		return 0, fmt.Errorf("delete auth requests: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// AccessToken is an access token issued to a service for a user; the token itself is sealed by
// the provider and names this row by ID.
type AccessToken struct {
	ID            string
	AuthRequestID string
	ClientID      string
	Subject       string
	Scopes        string // space-separated
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     time.Time
}

// CreateAccessToken stores an access token inside the transaction.
func (tx *Tx) CreateAccessToken(ctx context.Context, t AccessToken) error {
	_, err := tx.tx.ExecContext(ctx, tx.s.q(`INSERT INTO oidc_tokens (id, auth_request_id, client_id, subject, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), t.ID, t.AuthRequestID, t.ClientID, t.Subject, t.Scopes, ms(t.CreatedAt), ms(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create access token: %w", err)
	}
	return nil
}

// AccessTokenByID returns an access token, revoked or expired too; ErrNotFound when there is none.
func (s *SQL) AccessTokenByID(ctx context.Context, id string) (AccessToken, error) {
	var t AccessToken
	var created, expires int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, auth_request_id, client_id, subject, scopes, created_at, expires_at, revoked_at
		FROM oidc_tokens WHERE id = ?`), id).Scan(&t.ID, &t.AuthRequestID, &t.ClientID, &t.Subject, &t.Scopes, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("access token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = time.UnixMilli(created), time.UnixMilli(expires), fromMS(revoked)
	return t, nil
}

// RevokeAccessTokens revokes every live token that the authorization request led to, inside the
// transaction, and says how many.
func (tx *Tx) RevokeAccessTokens(ctx context.Context, authRequestID string, now time.Time) (int, error) {
	res, err := tx.tx.ExecContext(ctx, tx.s.q(`UPDATE oidc_tokens SET revoked_at = ? WHERE auth_request_id = ? AND revoked_at IS NULL`),
		ms(now), authRequestID)
	if err != nil {
		return 0, fmt.Errorf("revoke access tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RevokeAccessToken revokes one token of a client; false when it was not live.
func (s *SQL) RevokeAccessToken(ctx context.Context, id, clientID string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE oidc_tokens SET revoked_at = ? WHERE id = ? AND client_id = ? AND revoked_at IS NULL`),
		ms(now), id, clientID)
	if err != nil {
		return false, fmt.Errorf("revoke access token: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RevokeSubjectTokens revokes the live tokens of subject at a client (sign-out from the service),
// and says how many.
func (s *SQL) RevokeSubjectTokens(ctx context.Context, subject, clientID string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE oidc_tokens SET revoked_at = ? WHERE subject = ? AND client_id = ? AND revoked_at IS NULL`),
		ms(now), subject, clientID)
	if err != nil {
		return 0, fmt.Errorf("revoke subject tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

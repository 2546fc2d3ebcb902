package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
)

// ErrNoCopy refuses a bulk load on a store without COPY: SQLite loads through UpsertUsers.
var ErrNoCopy = errors.New("bulk copy needs PostgreSQL")

// DefaultCopyChunk is how many rows CopyUsers loads per transaction when the caller does not say.
const DefaultCopyChunk = 100_000

// CopyUsers loads roster entries into the users table on PostgreSQL, streaming them with COPY
// into a temporary staging table and merging that with one INSERT … ON CONFLICT (id) DO UPDATE,
// which leaves each user's state alone and skips a user whose row is equal to what is stored
// (no update, no history), and one INSERT of a roster.added or roster.updated history event per
// user added or changed. next returns the entries one at a time, false after the last; only a
// chunk of rows is in flight, so memory stays flat however many there are. Each chunk of chunk
// rows is one transaction; when a later entry repeats a user ID, the later one wins and the
// repetition counts as an update, as UpsertUsers counts them. On an error the chunks already
// committed stay, and their counts are returned with the error.
func (s *SQL) CopyUsers(ctx context.Context, next func() (campaign.RosterEntry, bool, error), chunk int, now time.Time) (UpsertResult, error) {
	if s.dialect != Postgres {
		return UpsertResult{}, ErrNoCopy
	}
	if chunk < 1 {
		chunk = DefaultCopyChunk
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return UpsertResult{}, fmt.Errorf("copy users: %w", err)
	}
	defer conn.Close()
	var total UpsertResult
	err = conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy users: driver connection is %T, not pgx", driverConn)
		}
		for more := true; more; {
			var res UpsertResult
			var err error
			res, more, err = copyUsersChunk(ctx, sc.Conn(), next, chunk, now)
			total.Added += res.Added
			total.Updated += res.Updated
			total.Unchanged += res.Unchanged
			if err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// copyUsersChunk loads up to chunk entries in one transaction; more reports that next may hold
// further entries.
func copyUsersChunk(ctx context.Context, c *pgx.Conn, next func() (campaign.RosterEntry, bool, error), chunk int, now time.Time) (res UpsertResult, more bool, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return res, false, fmt.Errorf("copy users: %w", err)
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	// The merge sorts a chunk to find each user's latest row: in memory, not on disk.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return res, false, fmt.Errorf("copy users: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE roster_staging (
			seq bigint NOT NULL, id text NOT NULL, phone text NOT NULL, email text NOT NULL, name text NOT NULL,
			locale text NOT NULL, deadline text NOT NULL, id_last4_hash bytea, wave text NOT NULL,
			deadline_from_wave bigint NOT NULL) ON COMMIT DROP`); err != nil {
		return res, false, fmt.Errorf("copy users: staging table: %w", err)
	}
	// pgx calls the source from its own goroutine while it streams; CopyFrom returns after it.
	rows := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if rows == chunk {
			more = true
			return nil, nil
		}
		e, ok, err := next()
		if err != nil || !ok {
			return nil, err
		}
		rows++
		var hash any
		if e.IDLast4Hash != nil {
			hash = e.IDLast4Hash
		}
		return []any{int64(rows), e.ID, e.Phone, e.Email, e.Name, e.Locale, e.Deadline.String(), hash, e.Wave, int64(boolInt(e.DeadlineFromWave))}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"roster_staging"},
		[]string{"seq", "id", "phone", "email", "name", "locale", "deadline", "id_last4_hash", "wave", "deadline_from_wave"}, src); err != nil {
		return res, false, fmt.Errorf("copy users: %w", err)
	}
	if rows == 0 {
		return res, false, nil
	}
	// The latest row of each user wins; xmax = 0 marks a row this statement inserted rather than
	// updated. old is the users as they were before the statement, to tell a user coming back
	// into scope.
	var distinct, added, updated int
	err = tx.QueryRow(ctx, `WITH src AS (
			SELECT DISTINCT ON (id) id, phone, email, name, locale, deadline, id_last4_hash, wave, deadline_from_wave
			FROM roster_staging ORDER BY id, seq DESC
		), old AS (
			SELECT users.id FROM users JOIN src ON src.id = users.id WHERE users.out_of_scope_at IS NOT NULL
		), up AS (
			INSERT INTO users (id, phone, email, name, locale, deadline, id_last4_hash, wave, deadline_from_wave, state, created_at, updated_at)
			SELECT id, phone, email, name, locale, deadline, id_last4_hash, wave, deadline_from_wave, 'notified', $1, $1 FROM src
			ON CONFLICT (id) DO UPDATE SET `+rosterSet+`
			WHERE `+changedRoster+`
			RETURNING id, (xmax = 0) AS added
		), history AS (
			INSERT INTO events (user_id, type, detail, actor, created_at)
			SELECT up.id, CASE WHEN up.added THEN $2 WHEN old.id IS NOT NULL THEN $4 ELSE $3 END, '{}', 'system', $1
			FROM up LEFT JOIN old ON old.id = up.id
		)
		SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added) FROM up`,
		ms(now), string(audit.RosterAdded), string(audit.RosterUpdated), string(audit.RosterReturned)).Scan(&distinct, &added, &updated)
	if err != nil {
		return res, false, fmt.Errorf("copy users: merge: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, false, fmt.Errorf("copy users: commit: %w", err)
	}
	// Rows that repeated a user within the chunk were merged into one: each counts as an update.
	return UpsertResult{Added: added, Updated: updated + rows - distinct, Unchanged: distinct - added - updated}, more, nil
}

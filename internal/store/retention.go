package store

import (
	"context"
	"fmt"
	"time"
)

// Purged counts the rows one round of deletions removed, by table.
type Purged map[string]int

// Total is the number of rows removed from every table.
func (p Purged) Total() int {
	n := 0
	for _, v := range p {
		n += v
	}
	return n
}

// purge is one kind of row that ages out: the table, its key column and the condition on its age
// (one ? placeholder, the cut-off in Unix milliseconds). Fixed strings, never input.
type purge struct {
	table, key, old string
}

// deleteOld deletes the rows of p older than cutoff, batch rows per statement, each statement its
// own short transaction, until none is left. Instances that run it at once delete disjoint or
// already deleted rows: it is idempotent.
func (s *SQL) deleteOld(ctx context.Context, p purge, cutoff time.Time, batch int) (int, error) {
	query := s.q(`DELETE FROM ` + p.table + ` WHERE ` + p.key + ` IN (SELECT ` + p.key + ` FROM ` + p.table +
		` WHERE ` + p.old + ` LIMIT ?)`)
	total := 0
	for {
		res, err := s.db.ExecContext(ctx, query, ms(cutoff), batch)
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", p.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", p.table, err)
		}
		total += int(n)
		if int(n) < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// PurgeHistory deletes history entries written before cutoff (--history-retention).
func (s *SQL) PurgeHistory(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	return s.deleteOld(ctx, purge{"events", "id", "created_at < ?"}, cutoff, batch)
}

// PurgeOutbox deletes messages and events written before cutoff that were sent or given up
// (--outbox-retention); pending ones stay, such as a check-up reminder due weeks later.
func (s *SQL) PurgeOutbox(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	return s.deleteOld(ctx, purge{"outbox", "id", "status <> 'pending' AND created_at < ?"}, cutoff, batch)
}

// PurgeDevices deletes the devices a user has not used since cutoff, whose cookies have expired.
func (s *SQL) PurgeDevices(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	return s.deleteOld(ctx, purge{"devices", "id", "last_seen_at < ?"}, cutoff, batch)
}

// PurgeSpent deletes what has no use once its time is over: sessions and verification grants past
// their absolute end (ended ones included), passkey ceremonies, "this wasn't me" links, partners'
// launch nonces, one-time codes and QR code sign-ins a day after they expired (kept that long so
// the portal can still say "expired" rather than "no code"), requests for approval on the phone
// likewise and their accounts' rows after two days, and the limits' counters, answer rows and holds.
func (s *SQL) PurgeSpent(ctx context.Context, now time.Time, batch int) (Purged, error) {
	out := Purged{}
	for _, p := range []struct {
		purge
		cutoff time.Time
	}{
		{purge{"sessions", "id", "expires_at <= ?"}, now},
		{purge{"grants", "id", "expires_at <= ?"}, now},
		{purge{"ceremonies", "id", "expires_at <= ?"}, now},
		{purge{"disavowals", "id", "expires_at <= ?"}, now},
		{purge{"launch_nonces", "id", "expires_at <= ?"}, now},
		{purge{"codes", "id", "expires_at <= ?"}, now.Add(-24 * time.Hour)},
		{purge{"qr_signins", "binding", "ends_at <= ?"}, now.Add(-24 * time.Hour)},
		// Approval on the phone: requests a day after they ended (the computer may still ask for
		// the state), and an account's row two days after its last request (no suspension lasts so long).
		{purge{"approval_requests", "id", "expires_at <= ?"}, now.Add(-24 * time.Hour)},
		{purge{"approval_accounts", "account", "last_at <= ?"}, now.Add(-48 * time.Hour)},
	} {
		n, err := s.deleteOld(ctx, p.purge, p.cutoff, batch)
		out[p.table] += n
		if err != nil {
			return out, err
		}
	}
	// The limits' rows are few (each lives an hour or a lockout) and a counter's key is not
	// unique, so they go in one statement each.
	limits, err := s.PurgeExpired(ctx, now)
	for k, v := range limits {
		out[k] += v
	}
	return out, err
}

// ClaimJob lets one instance run the job name now: it moves the job's next run to next when it
// is due at now (or has never run) and reports whether this call moved it. Of instances racing for
// one run, one gets it.
func (s *SQL) ClaimJob(ctx context.Context, name, owner string, now, next time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO jobs (name, next_run_at, claimed_by) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET next_run_at = excluded.next_run_at, claimed_by = excluded.claimed_by
		WHERE jobs.next_run_at <= ?`), name, ms(next), owner, ms(now))
	if err != nil {
		return false, fmt.Errorf("claim job %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

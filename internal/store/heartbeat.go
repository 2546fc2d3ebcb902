package store

import (
	"context"
	"fmt"
	"time"
)

// ProbeWrite checks that the database accepts a write, not only that it answers: it upserts one
// tiny row of the heartbeat table, keyed by name. A full disk, a read-only database or a lost
// primary makes it fail while a ping would still succeed.
func (s *SQL) ProbeWrite(ctx context.Context, name string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO heartbeat (name, at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET at = excluded.at`), name, ms(now))
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	return nil
}

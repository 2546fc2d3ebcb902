package store

import (
	"context"
	"fmt"
	"time"
)

// TakeLaunchNonce records the nonce of a partner's launch token (id: its hash with the partner's
// ID) until expires, and reports whether this call took it: the insert is the check, so of any
// number of requests racing with one token on any number of instances exactly one gets true.
func (s *SQL) TakeLaunchNonce(ctx context.Context, id string, expires time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO launch_nonces (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`),
		id, ms(expires))
	if err != nil {
		return false, fmt.Errorf("take launch nonce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("take launch nonce: %w", err)
	}
	return n == 1, nil
}

package identity

import (
	"context"

	"github.com/smsretire/smsretire/internal/audit"
)

// NoticeOpened records in the user's history that their personal notice was opened: the first
// step of a verification about them.
func (s *Service) NoticeOpened(ctx context.Context, userID string, c Client) error {
	return s.st.AppendEventGrouped(ctx, audit.NoticeOpened.Event(userID, c, s.clock.Now(), nil))
}

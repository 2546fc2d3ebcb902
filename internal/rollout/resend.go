package rollout

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// ErrNoChannel refuses to resend a notice to a user with no channel it may go by: no email, and
// SMS closed or no phone number.
var ErrNoChannel = errors.New("no channel to send the notice by")

// ResendNotice writes u's notice to the outbox again inside tx, on the channels the campaign
// would use now, whatever it sent before (support, for a user whose notice went missing), and
// records it in the history as actor's. It returns the channels (email, sms).
func (s *Service) ResendNotice(ctx context.Context, tx *store.Tx, u campaign.User, actor string, c audit.Client, now time.Time) ([]string, error) {
	items, channels := s.messages(u, touch{name: kindNotice, kind: kindNotice, due: now}, now)
	if len(items) == 0 {
		return nil, ErrNoChannel
	}
	for _, it := range items {
		if _, err := tx.EnqueueOutbox(ctx, it); err != nil {
			return nil, err
		}
	}
	ev := audit.SupportNoticeResent.Event(u.ID, c, now, map[string]string{"channels": strings.Join(channels, ",")})
	ev.Actor = actor
	return channels, tx.AppendEvent(ctx, ev)
}

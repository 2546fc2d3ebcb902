package identity

import (
	"context"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// CodeMessage builds the outbox item that carries a code to the user with outbox.CodeMessage,
// as an SMS or an email by the message's channel: the MessageFunc a Service uses unless given
// another.
func CodeMessage(u campaign.User, m Message) (store.OutboxItem, error) {
	kind := store.OutboxSMS
	if m.Channel == MethodEmail {
		kind = store.OutboxEmail
	}
	return outbox.CodeMessage(u, kind, m.To, m.Template, m.Code, m.TTL, m.Now), nil
}

// CodeDelivery tells how the newest verification code message to the user on the channel (phone
// or email) is doing, so the code page can say at once that it is delayed or could not be sent,
// and offer another method.
func (s *Service) CodeDelivery(ctx context.Context, userID string, ch Method) (outbox.Delivery, error) {
	kind := store.OutboxSMS
	if ch == MethodEmail {
		kind = store.OutboxEmail
	}
	return outbox.LatestDelivery(ctx, s.st, userID, kind, outbox.TemplateVerifyCode)
}

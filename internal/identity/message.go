package identity

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// CodeMessage builds the outbox item that carries a verification code: an SMS to the registered
// phone or an email to the registered address, rendered by the delivery worker from the
// template in the user's language. The code travels in "secret", which the worker
// erases once the message is delivered or given up.
func CodeMessage(u campaign.User, m Message) (store.OutboxItem, error) {
	kind := store.OutboxSMS
	if m.Channel == MethodEmail {
		kind = store.OutboxEmail
	}
	locale := u.Locale
	if locale == "" {
		locale = "zh-Hans"
	}
	payload, err := json.Marshal(map[string]any{
		"to":       m.To,
		"locale":   locale,
		"template": m.Template,
		"data":     map[string]string{"minutes": strconv.Itoa(int(m.TTL.Minutes())), "name": u.Name},
		"secret":   m.Code,
	})
	if err != nil {
		return store.OutboxItem{}, err
	}
	return store.OutboxItem{Kind: kind, Topic: m.Template, UserID: u.ID, Payload: payload, CreatedAt: m.Now}, nil
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

package identity

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// CodeMessage builds the outbox item that carries a verification code: an SMS to the registered
// phone or an email to the registered address, rendered by the delivery worker from the
// "verify.code" template in the user's language. The code travels in "secret", which the worker
// erases once the message is delivered or given up.
func CodeMessage(u campaign.User, ch Method, code string, ttl time.Duration, now time.Time) (store.OutboxItem, error) {
	kind, to := store.OutboxSMS, u.Phone
	if ch == MethodEmail {
		kind, to = store.OutboxEmail, u.Email
	}
	locale := u.Locale
	if locale == "" {
		locale = "zh-Hans"
	}
	payload, err := json.Marshal(map[string]any{
		"to":       to,
		"locale":   locale,
		"template": "verify.code",
		"data":     map[string]string{"minutes": strconv.Itoa(int(ttl.Minutes())), "name": u.Name},
		"secret":   code,
	})
	if err != nil {
		return store.OutboxItem{}, err
	}
	return store.OutboxItem{Kind: kind, Topic: "verify.code", UserID: u.ID, Payload: payload, CreatedAt: now}, nil
}

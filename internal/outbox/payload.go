// Package outbox delivers what the transactional outbox holds: text messages, email and (later)
// webhook events. A change and its message are written in one transaction (store.Tx.EnqueueOutbox
// with an item built here); the Worker claims due items, renders them in the user's language,
// sends them, retries with backoff and marks them sent or failed. The one-time code of a message
// is sealed by the store and never written to the database in plaintext.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
)

// The templates messages are rendered from; a message's topic is its template.
const (
	TemplateVerifyCode          = "verify.code"          // data: minutes, name (optional); secret: the code
	TemplateEnrollEmailCode     = "enroll.email_code"    // data: minutes, name (optional); secret: the code
	TemplateSigninEmailCode     = "signin.email_code"    // data: minutes, name (optional); secret: the code
	TemplateRetiredConfirmation = "retired.confirmation" // data: factors (totp,passkey,email), date (RFC 3339 or YYYY-MM-DD), name (optional)
	TemplateSecurityNotice      = "security.notice"      // data: change (factor.added, factor.removed, recovery.used, recovery.regenerated), kind (optional), date, device, ip, name (optional)
	TemplateCheckup             = "checkup.reminder"     // data: date of the retirement, name (optional)
)

// Message is the payload of an "sms" or "email" item:
//
//	{"to": "+8613800000001", "locale": "zh-Hans", "template": "verify.code",
//	 "data": {"minutes": "10"}, "secret": "493817"}
//
// The secret is the plaintext one-time code. It exists only in memory: the store seals it
// before the row is written (store.SQL.SealSecretsWith) and opens it for the worker that claims
// the item, and drops the sealed copy when the item is sent or given up.
type Message struct {
	To       string            `json:"to"`     // E.164 phone number or email address
	Locale   string            `json:"locale"` // zh-Hans or en
	Template string            `json:"template"`
	Data     map[string]string `json:"data,omitempty"`
	Secret   string            `json:"secret,omitempty"`
}

// Event is the payload of an "event" item, in the shape webhooks will receive:
//
//	{"id": "evt_…", "type": "user.migrated", "time": "2026-11-24T08:00:00Z", "data": {…}}
type Event struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Time time.Time      `json:"time"`
	Data map[string]any `json:"data,omitempty"`
}

// SMS builds the item for a text message to the E.164 number to, rendered from template in
// locale (an unsupported or empty locale becomes Chinese). Enqueue it in the transaction that
// stores the code.
func SMS(userID, to, locale, template string, data map[string]string, secret string, now time.Time) store.OutboxItem {
	return message(store.OutboxSMS, userID, to, locale, template, data, secret, now)
}

// Email builds the item for an email to the address to, rendered from template in locale.
func Email(userID, to, locale, template string, data map[string]string, secret string, now time.Time) store.OutboxItem {
	return message(store.OutboxEmail, userID, to, locale, template, data, secret, now)
}

func message(kind, userID, to, locale, template string, data map[string]string, secret string, now time.Time) store.OutboxItem {
	if l := i18n.Supported(locale); l != "" {
		locale = l
	} else {
		locale = i18n.Chinese
	}
	payload, _ := json.Marshal(Message{To: to, Locale: locale, Template: template, Data: data, Secret: secret}) // strings only: cannot fail
	return store.OutboxItem{Kind: kind, Topic: template, UserID: userID, Payload: payload, CreatedAt: now}
}

// NewEvent builds the item for an operator event of type typ ("user.migrated"), with a fresh
// random ID that receivers use to drop duplicates.
func NewEvent(userID, typ string, data map[string]any, now time.Time) (store.OutboxItem, error) {
	id := make([]byte, 16)
	rand.Read(id)
	payload, err := json.Marshal(Event{ID: "evt_" + hex.EncodeToString(id), Type: typ, Time: now.UTC(), Data: data})
	if err != nil {
		return store.OutboxItem{}, fmt.Errorf("event payload: %w", err)
	}
	return store.OutboxItem{Kind: store.OutboxEvent, Topic: typ, UserID: userID, Payload: payload, CreatedAt: now}, nil
}

// CodeData is the data of a code message: how many minutes the code lives.
func CodeData(ttl time.Duration) map[string]string {
	return map[string]string{"minutes": strconv.Itoa(int(ttl.Round(time.Minute).Minutes()))}
}

// DecodeMessage reads the payload of an sms or email item.
func DecodeMessage(payload []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(payload, &m); err != nil {
		return m, fmt.Errorf("message payload: %w", err)
	}
	if m.To == "" || m.Template == "" {
		return m, fmt.Errorf("message payload: no recipient or template")
	}
	return m, nil
}

// DecodeEvent reads the payload of an event item.
func DecodeEvent(payload []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return e, fmt.Errorf("event payload: %w", err)
	}
	if e.ID == "" || e.Type == "" {
		return e, fmt.Errorf("event payload: no id or type")
	}
	return e, nil
}

// Delivery is what became of a message so far, as the verification page tells the user.
type Delivery int

// The states of a message's delivery.
const (
	DeliveryNone    Delivery = iota // there is no such message
	DeliveryPending                 // waiting for, or in, its first attempt
	DeliveryDelayed                 // an attempt failed; it is being tried again
	DeliveryFailed                  // given up: it will not be sent
	DeliverySent                    // handed to the SMS gateway or the mail server
)

// LatestDelivery tells how the newest message of kind ("sms" or "email") on topic to a user is
// doing, so the portal can say at once, from the first failed attempt, that a code is delayed
// and offer another method, and later that it could not be sent.
func LatestDelivery(ctx context.Context, st *store.SQL, userID, kind, topic string) (Delivery, error) {
	it, err := st.LatestOutboxForUser(ctx, userID, kind, topic)
	if errors.Is(err, store.ErrNotFound) {
		return DeliveryNone, nil
	}
	if err != nil {
		return DeliveryNone, err
	}
	switch {
	case it.Status == store.OutboxSent:
		return DeliverySent, nil
	case it.Status == store.OutboxFailed:
		return DeliveryFailed, nil
	case it.LastError != "":
		return DeliveryDelayed, nil
	}
	return DeliveryPending, nil
}

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
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/useragent"
)

// The templates messages are rendered from; a message's topic is its template.
const (
	TemplateVerifyCode          = "verify.code"          // data: minutes, name (optional); secret: the code
	TemplateEnrollEmailCode     = "enroll.email_code"    // data: minutes, name (optional); secret: the code
	TemplateSigninEmailCode     = "signin.email_code"    // data: minutes, name (optional); secret: the code
	TemplateRetiredConfirmation = "retired.confirmation" // data: factors (totp,passkey,email), date (RFC 3339 or YYYY-MM-DD), name (optional); secret: the "this wasn't me" token of an email
	TemplateSecurityNotice      = "security.notice"      // data: change (factor.added, factor.removed, recovery.used, recovery.regenerated, signin.new_device, contact.changed), kind (optional), field and to (contact.changed), date, browser and system (useragent IDs; device, in English, from earlier versions), ip, name (optional); secret: the "this wasn't me" token of an email
	TemplateCheckup             = "checkup.reminder"     // data: date of the retirement, name (optional); secret: the "this wasn't me" token of an email
	TemplateContactCode         = "contact.code"         // data: minutes, name (optional); secret: the code that confirms a new email or phone
	// The campaign's notice and reminders (internal/rollout). data: deadline (YYYY-MM-DD), days
	// (left, 0 on the deadline day), phase (open, grace, closed), grace_end (YYYY-MM-DD), name
	// (optional); secret: the user's signed notice link, sealed at rest like a code.
	TemplateCampaignNotice   = "campaign.notice"
	TemplateCampaignReminder = "campaign.reminder"
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

// The operator events, delivered to --webhook-urls; their data members are stable (README).
const (
	EventUserVerified   = "user.verified"   // data: user_id, method
	EventFactorEnrolled = "factor.enrolled" // data: user_id, factor_id, kind
	EventUserMigrated   = "user.migrated"   // data: user_id, factors (kinds), retired_at
	EventFactorRemoved  = "factor.removed"  // data: user_id, factor_id, kind
	EventContactChanged = "contact.changed" // data: user_id, field (email or phone), the field with its new value, changed_at, reverted
)

// One builder per kind of message follows: the domain builds every outbox item with one of them
// and enqueues it in the transaction of the change it reports.

// CodeMessage is a one-time code on its way to u: kind (store.OutboxSMS or store.OutboxEmail) to
// the address to, from template (TemplateVerifyCode, TemplateEnrollEmailCode,
// TemplateSigninEmailCode), saying how many minutes the code lives.
func CodeMessage(u campaign.User, kind, to, template, code string, ttl time.Duration, now time.Time) store.OutboxItem {
	data := CodeData(ttl)
	data["name"] = u.Name
	return message(kind, u.ID, to, u.Locale, template, data, code, now)
}

// Recipient is where a message goes: an email address (Kind store.OutboxEmail) or an E.164 phone
// number for a text message (Kind store.OutboxSMS).
type Recipient struct {
	Kind string
	To   string
}

// message builds the item of a message to r.
func (r Recipient) message(u campaign.User, template string, data map[string]string, secret string, now time.Time) store.OutboxItem {
	return message(r.Kind, u.ID, r.To, u.Locale, template, data, secret, now)
}

// RetiredConfirmation is the message that confirms SMS verification was retired for u, naming the
// factors (kinds) that replace it: to r, an email address with its "this wasn't me" token (link),
// or by SMS without one.
func RetiredConfirmation(u campaign.User, r Recipient, kinds []string, now time.Time, link string) store.OutboxItem {
	return r.message(u, TemplateRetiredConfirmation,
		map[string]string{"factors": strings.Join(kinds, ","), "date": now.UTC().Format(time.RFC3339), "name": u.Name}, link, now)
}

// CheckupReminder is the message, held back until due, that asks u to sign in once with the factor
// that retired SMS at retiredAt: to r, an email address with its "this wasn't me" token (link), or
// by SMS.
func CheckupReminder(u campaign.User, r Recipient, retiredAt, due time.Time, link string) store.OutboxItem {
	it := r.message(u, TemplateCheckup, map[string]string{"date": retiredAt.UTC().Format(time.RFC3339), "name": u.Name}, link, retiredAt)
	it.NextAttemptAt = due
	return it
}

// SecurityNotice is the message that tells u of a change to their account — change is its history
// event type (factor.added, factor.removed, recovery.used, recovery.regenerated,
// signin.new_device, contact.changed, support.factors_reset) or contact.registered (to the new
// address of a contact change), kind the factor kind or "" — with when, the device (its browser and
// system by useragent ID, which the message names in the recipient's language) and the IP the
// change came from (none for a change support or the system made), and more (a contact change's
// field and to): to
// r, an email address with its "this wasn't me" token (link), or by SMS.
func SecurityNotice(u campaign.User, r Recipient, change, kind string, c audit.Client, now time.Time, more map[string]string, link string) store.OutboxItem {
	d := useragent.Parse(c.UserAgent)
	data := map[string]string{
		"change": change, "kind": kind, "date": now.UTC().Format(time.RFC3339),
		"browser": d.Browser, "system": d.System, "ip": c.IP, "name": u.Name,
	}
	for k, v := range more {
		data[k] = v
	}
	return r.message(u, TemplateSecurityNotice, data, link, now)
}

// CampaignMessage is the campaign's notice or reminder (template TemplateCampaignNotice or
// TemplateCampaignReminder) to u by kind (store.OutboxSMS to the phone, store.OutboxEmail to the
// registered address), saying the deadline, the days left, the deadline rule in force (phase)
// and when the grace ends, with the user's signed notice link, sealed at rest like a code.
func CampaignMessage(u campaign.User, kind, template string, phase campaign.Phase, graceEnd campaign.Date, days int, link string, now time.Time) store.OutboxItem {
	to := u.Email
	if kind == store.OutboxSMS {
		to = u.Phone
	}
	data := map[string]string{"name": u.Name, "deadline": u.Deadline.String(), "days": strconv.Itoa(days),
		"phase": string(phase), "grace_end": graceEnd.String()}
	return message(kind, u.ID, to, u.Locale, template, data, link, now)
}

// UserVerified is the operator event of a user who proved their identity with method.
func UserVerified(userID, method string, now time.Time) store.OutboxItem {
	return newEvent(userID, EventUserVerified, map[string]any{"user_id": userID, "method": method}, now)
}

// FactorEnrolled is the operator event of a factor added to a user's account.
func FactorEnrolled(userID string, factorID int64, kind string, now time.Time) store.OutboxItem {
	return newEvent(userID, EventFactorEnrolled, map[string]any{"user_id": userID, "factor_id": factorID, "kind": kind}, now)
}

// UserMigrated is the operator event of the first factor that retired SMS verification; kinds are
// the kinds of all the user's factors then.
func UserMigrated(userID string, kinds []string, now time.Time) store.OutboxItem {
	return newEvent(userID, EventUserMigrated, map[string]any{"user_id": userID, "factors": kinds, "retired_at": now.UTC().Format(time.RFC3339)}, now)
}

// ContactChanged is the operator event of a user's email address or phone number (field) changed
// to value, in My security or put back by a "this wasn't me" (reverted): the new value goes to the
// operators' systems so they keep their records current, as roster imports no longer override it.
func ContactChanged(userID, field, value string, at time.Time, reverted bool) store.OutboxItem {
	return newEvent(userID, EventContactChanged, map[string]any{"user_id": userID, "field": field, field: value,
		"changed_at": at.UTC().Format(time.RFC3339), "reverted": reverted}, at)
}

// FactorRemoved is the operator event of a factor removed from a user's account.
func FactorRemoved(userID string, factorID int64, kind string, now time.Time) store.OutboxItem {
	return newEvent(userID, EventFactorRemoved, map[string]any{"user_id": userID, "factor_id": factorID, "kind": kind}, now)
}

// SMS builds the item for a text message to the E.164 number to, rendered from template in
// locale (an unsupported or empty locale becomes Chinese). The builders above use it.
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
// random ID that receivers use to drop duplicates. The event builders above use it.
func NewEvent(userID, typ string, data map[string]any, now time.Time) (store.OutboxItem, error) {
	id := make([]byte, 16)
	rand.Read(id)
	payload, err := json.Marshal(Event{ID: "evt_" + hex.EncodeToString(id), Type: typ, Time: now.UTC(), Data: data})
	if err != nil {
		return store.OutboxItem{}, fmt.Errorf("event payload: %w", err)
	}
	return store.OutboxItem{Kind: store.OutboxEvent, Topic: typ, UserID: userID, Payload: payload, CreatedAt: now}, nil
}

// newEvent is NewEvent for data of strings, numbers and string lists, which JSON always writes.
func newEvent(userID, typ string, data map[string]any, now time.Time) store.OutboxItem {
	it, err := NewEvent(userID, typ, data, now)
	if err != nil {
		panic(err) // a builder above put into data what JSON cannot write
	}
	return it
}

// CodeData is the data of a code message: how many whole minutes the code lives, as the code
// page says.
func CodeData(ttl time.Duration) map[string]string {
	return map[string]string{"minutes": strconv.Itoa(int(ttl.Minutes()))}
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

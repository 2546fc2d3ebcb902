// Package push sends Web Push notifications (the Push API, RFC 8030, with the payload encrypted
// for the browser by RFC 8291 and the server identified by VAPID, RFC 8292) to the approver
// devices where a user turned notifications on: a sign-in waiting for approval. The protocol is
// github.com/SherClockHolmes/webpush-go's; this package maps it onto the store's subscriptions and
// deletes those a push service says are gone (404, 410).
//
// The payload carries the request's ID and what is asking — the browser and system, the IP
// address, the time — and the words of the notification in the user's language, never the number:
// the phone must read that on the computer.
package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/store"
)

// Payload is what a notification carries to the service worker (static/sw.js).
type Payload struct {
	ID        string `json:"id"`      // the request, which the notification's page opens
	Title     string `json:"title"`   // in the user's language
	Body      string `json:"body"`    // what is asking, in the user's language
	URL       string `json:"url"`     // the page that answers it, on this portal
	Browser   string `json:"browser"` // useragent IDs of the asking browser
	System    string `json:"system"`
	IP        string `json:"ip"`
	CreatedAt int64  `json:"at"` // Unix milliseconds
}

// Words builds a notification's title, body and page for a request to userID.
type Words func(ctx context.Context, userID string, r approval.Request) Payload

// Sender delivers notifications of new requests to a user's subscriptions.
type Sender struct {
	St      *store.SQL
	Keys    keyring.VAPID
	Subject string // mailto: or https: contact of the VAPID token
	Words   Words
	Client  *http.Client
	Clock   clock.Clock
	Log     *slog.Logger
	// Wait, when set, runs each delivery in the caller's goroutine (tests); otherwise Notify
	// returns at once and delivers in the background.
	Wait bool
}

// Notify sends the request to every live subscription of the user, in the background, deleting
// those the push service says are gone. It implements approval.Notifier.
func (s *Sender) Notify(ctx context.Context, userID string, r approval.Request) {
	run := func() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.notify(ctx, userID, r); err != nil {
			s.Log.Warn("push: notify", "user", userID, "err", err)
		}
	}
	if s.Wait {
		run()
		return
	}
	go run()
}

func (s *Sender) notify(ctx context.Context, userID string, r approval.Request) error {
	subs, err := s.St.PushSubscriptions(ctx, userID, s.Clock.Now())
	if err != nil || len(subs) == 0 {
		return err
	}
	p := s.Words(ctx, userID, r)
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ttl := max(int(r.ExpiresAt.Sub(s.Clock.Now()).Seconds()), 0)
	for _, sub := range subs {
		gone, err := s.Send(ctx, sub, body, ttl, r.ID)
		if gone {
			if err := s.St.DeletePushSubscription(ctx, sub.ID, ""); err != nil {
				return err
			}
			s.Log.Info("push: subscription gone, deleted", "user", userID)
			continue
		}
		if err != nil {
			s.Log.Warn("push: send", "user", userID, "err", err)
		}
	}
	return nil
}

// Send delivers one encrypted message to a subscription with a TTL in seconds, high urgency and a
// topic (so a newer message replaces one not yet delivered). gone reports a subscription the push
// service no longer knows (404 or 410), which the caller deletes.
func (s *Sender) Send(ctx context.Context, sub store.PushSubscription, body []byte, ttl int, topic string) (gone bool, err error) {
	if !s.Keys.On() {
		return false, fmt.Errorf("push: no VAPID key")
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := webpush.SendNotificationWithContext(ctx, body, &webpush.Subscription{
		Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &webpush.Options{
		HTTPClient:      client,
		Subscriber:      strings.TrimPrefix(s.Subject, "mailto:"), // the library adds mailto: to all but https:
		Topic:           topicOf(topic),
		TTL:             ttl,
		Urgency:         webpush.UrgencyHigh,
		VAPIDPublicKey:  s.Keys.Public,
		VAPIDPrivateKey: s.Keys.Private,
	})
	if err != nil {
		return false, fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return true, nil
	case resp.StatusCode >= 300:
		return false, fmt.Errorf("push: the push service answered %s", resp.Status)
	}
	return false, nil
}

// SubscriptionID is the stored ID of a subscription: the SHA-256 of its endpoint.
func SubscriptionID(endpoint string) string {
	sum := sha256.Sum256([]byte(endpoint))
	return hex.EncodeToString(sum[:])
}

// topicOf makes a Topic header (at most 32 characters of the URL-safe base64 alphabet, RFC 8030)
// from a request ID, which is such characters already.
func topicOf(id string) string {
	if len(id) > 32 {
		return id[:32]
	}
	return id
}

package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
)

// Rendered is a message ready to send: the subject (email only), the plain text and the HTML
// (email only).
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Renderer turns a template, its data and the secret into the words the recipient reads, in
// their language. kind is "sms" or "email". cmd/ injects the implementation from views/message, since
// internal packages do not import views.
type Renderer interface {
	Render(ctx context.Context, kind, template, locale string, data map[string]string, secret string) (Rendered, error)
}

// EventSender delivers operator events (webhooks, in a later version).
type EventSender interface {
	Send(ctx context.Context, e Event) error
}

// Defaults for the Worker's zero fields.
const (
	DefaultMaxAttempts = 8
	DefaultLease       = 5 * time.Minute
	DefaultPoll        = time.Second
	DefaultBatch       = 10
	// SendTimeout bounds one delivery attempt; with DefaultBatch items in hand it stays within
	// DefaultLease, so no other worker claims an item this one is still sending.
	SendTimeout = 30 * time.Second
)

// Worker delivers due outbox items. Several workers, in one process or on many instances, may
// run against one database: each item is leased to one of them at a time.
type Worker struct {
	Store       *store.SQL
	SMS         sms.Gateway
	Mail        mail.Sender
	Events      EventSender // nil: events are marked sent without being delivered anywhere
	Render      Renderer
	Clock       clock.Clock
	Log         *slog.Logger
	MaxAttempts int            // attempts before an item is given up as failed (DefaultMaxAttempts)
	Lease       time.Duration  // how long a claimed item is reserved for this worker (DefaultLease)
	Poll        time.Duration  // wait between looks when nothing is due (DefaultPoll)
	Batch       int            // items claimed at once (DefaultBatch)
	Devbox      *devbox.Box    // nil unless --demo: delivered messages are recorded for the dev page
	Jitter      func() float64 // uniform in [0,1) for backoff jitter; math/rand/v2 when nil
}

// Backoff is the wait after a failed attempt, the attempt-th (1 for the first): 5 s doubled for
// each further attempt, at most 10 minutes, then spread by ±20 % with r uniform in [0,1), so that
// messages failing together do not come back together.
func Backoff(attempt int, r float64) time.Duration {
	const base, ceiling = 5 * time.Second, 10 * time.Minute
	d := ceiling
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 8 { // 5 s · 2^7 already passes the ceiling
		d = min(base<<(attempt-1), ceiling)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}

// Run delivers due items until ctx ends, looking again every Poll when nothing is due. When ctx
// ends it finishes the item in hand, hands the rest of its batch back and returns. Errors are
// logged; none stops the loop.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	w.Log.Info("outbox worker started", "poll", w.Poll.String(), "max_attempts", w.MaxAttempts)
	defer w.Log.Info("outbox worker stopped")
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		_, full, err := w.deliverBatch(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("outbox", "err", err)
		}
		if full && err == nil {
			timer.Reset(0)
		} else {
			timer.Reset(w.Poll)
		}
	}
}

// DeliverDue delivers every item due now, batch after batch, and reports how many were sent.
// Items that fail are scheduled again or given up; only a database error is returned.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	w.defaults()
	total := 0
	for {
		n, full, err := w.deliverBatch(ctx)
		total += n
		if err != nil || !full || ctx.Err() != nil {
			return total, err
		}
	}
}

func (w *Worker) defaults() {
	if w.MaxAttempts < 1 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	if w.Lease <= 0 {
		w.Lease = DefaultLease
	}
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	if w.Batch < 1 {
		w.Batch = DefaultBatch
	}
	if w.Clock == nil {
		w.Clock = clock.System{}
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	if w.Jitter == nil {
		w.Jitter = rand.Float64
	}
}

// deliverBatch claims one batch and handles it; full reports a whole batch, so more may be due.
func (w *Worker) deliverBatch(ctx context.Context) (sent int, full bool, err error) {
	now := w.Clock.Now()
	items, err := w.Store.ClaimOutbox(ctx, now, w.Batch, w.Lease)
	if err != nil {
		return 0, false, err
	}
	leaseEnd := now.Add(w.Lease)
	// The item in hand is finished even when ctx ends; the rest are handed back.
	finish := context.WithoutCancel(ctx)
	var errs []error
	for i, it := range items {
		if ctx.Err() != nil || !w.Clock.Now().Before(leaseEnd) {
			for _, rest := range items[i:] {
				if err := w.Store.ReleaseOutbox(finish, rest.ID); err != nil {
					errs = append(errs, err)
				}
			}
			break
		}
		ok, err := w.handle(finish, it)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, len(items) == w.Batch, errors.Join(errs...)
}

// handle makes one attempt at an item and records the outcome; the error is a database error.
func (w *Worker) handle(ctx context.Context, it store.OutboxItem) (bool, error) {
	sendCtx, cancel := context.WithTimeout(ctx, SendTimeout)
	rec, secret, derr := w.deliver(sendCtx, it)
	cancel()
	now := w.Clock.Now()
	log := w.Log.With("outbox_id", it.ID, "kind", it.Kind, "topic", it.Topic, "user_id", it.UserID, "attempt", it.Attempts)
	if derr == nil {
		if err := w.Store.MarkOutboxSent(ctx, it.ID, now); err != nil {
			return false, err
		}
		if w.Devbox != nil && it.Kind != store.OutboxEvent {
			rec.ID, rec.Time, rec.Kind, rec.Topic, rec.UserID = it.ID, now, it.Kind, it.Topic, it.UserID
			w.Devbox.Add(rec)
		}
		log.Info("outbox delivered")
		return true, nil
	}
	msg := scrub(derr.Error(), secret)
	if IsPermanent(derr) || it.Attempts >= w.MaxAttempts {
		log.Warn("outbox gave up", "err", msg, "permanent", IsPermanent(derr))
		return false, w.Store.MarkOutboxFailed(ctx, it.ID, now, msg)
	}
	next := now.Add(Backoff(it.Attempts, w.Jitter()))
	log.Warn("outbox attempt failed; will retry", "err", msg, "next_attempt_at", next)
	return false, w.Store.MarkOutboxRetry(ctx, it.ID, next, msg)
}

// deliver sends one item; it returns what the recipient got, for the development outbox, and
// the secret, so that no error message stores it.
func (w *Worker) deliver(ctx context.Context, it store.OutboxItem) (devbox.Message, string, error) {
	switch it.Kind {
	case store.OutboxSMS, store.OutboxEmail:
		m, err := DecodeMessage(it.Payload)
		if err != nil {
			return devbox.Message{}, "", Permanent(err)
		}
		r, err := w.Render.Render(ctx, it.Kind, m.Template, m.Locale, m.Data, m.Secret)
		if err != nil {
			return devbox.Message{}, m.Secret, Permanent(fmt.Errorf("render %s %s: %w", it.Kind, m.Template, err))
		}
		rec := devbox.Message{To: m.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML}
		if it.Kind == store.OutboxSMS {
			if w.SMS == nil {
				return rec, m.Secret, errors.New("no SMS gateway configured")
			}
			return rec, m.Secret, w.SMS.Send(ctx, sms.Message{ID: "outbox-" + strconv.FormatInt(it.ID, 10), To: m.To, Text: r.Text, Locale: m.Locale})
		}
		if w.Mail == nil {
			return rec, m.Secret, errors.New("no mail sender configured")
		}
		return rec, m.Secret, w.Mail.Send(ctx, mail.Message{To: m.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML})
	case store.OutboxEvent:
		e, err := DecodeEvent(it.Payload)
		if err != nil {
			return devbox.Message{}, "", Permanent(err)
		}
		if w.Events == nil {
			return devbox.Message{}, "", nil // no receiver configured: nothing is owed
		}
		return devbox.Message{}, "", w.Events.Send(ctx, e)
	}
	return devbox.Message{}, "", Permanent(fmt.Errorf("unknown outbox kind %q", it.Kind))
}

// scrub keeps a one-time code out of an error that may quote the message (a gateway echoing it).
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[secret]")
}

// Permanent marks err as one that retrying cannot cure: the item is given up at once.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err, or an error it wraps, says of itself that retrying cannot
// help: a Permanent method that returns true, as sms and mail errors have.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

type permanent struct{ error }

func (p permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error   { return p.error }

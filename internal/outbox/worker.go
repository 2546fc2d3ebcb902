package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// EventSender delivers operator events (webhooks).
type EventSender interface {
	Send(ctx context.Context, e Event) error
}

// DeliveryObserver hears what became of each delivery attempt: internal/metrics counts them.
type DeliveryObserver interface {
	Delivered(kind string)
	DeliveryFailed(kind string, gaveUp bool)
}

// Defaults for the Worker's zero fields.
const (
	DefaultMaxAttempts = 8
	// DefaultLease is how long a claimed item stays reserved without a heartbeat: when a worker
	// dies, another delivers its items this long after its last heartbeat.
	DefaultLease = 20 * time.Second
	DefaultPoll  = time.Second
	// DefaultConcurrency is how many deliveries run at once on each channel (sms, email, event).
	DefaultConcurrency = 8
	// DefaultBatch is the most items one claim takes; events are claimed and recorded this many
	// at a time.
	DefaultBatch = 100
	// SendTimeout bounds one delivery attempt. It may exceed the lease: the heartbeat extends
	// the lease of every item whose delivery is in progress.
	SendTimeout = 30 * time.Second
)

// Worker delivers due outbox items. Several workers, in one process or on many instances, may
// run against one database: each item is leased to one of them at a time.
//
// Each channel — text messages, email, events — has its own claims and its own bounded set of
// deliveries in progress, so a channel that hangs delays no other, and a slow message delays
// the next one of its channel by no more than its timeout. Run starts on an item as soon as the
// transaction that wrote it commits (in this process through the store, on other instances
// through PostgreSQL notifications), and looks every Poll as well, for retries that come due and
// for items whose worker died.
type Worker struct {
	Store       *store.SQL
	SMS         sms.Gateway
	Mail        mail.Sender
	Events      EventSender // nil: events are marked sent without being delivered anywhere
	Render      Renderer
	Clock       clock.Clock
	Log         *slog.Logger
	MaxAttempts int            // attempts before an item is given up as failed (DefaultMaxAttempts)
	Lease       time.Duration  // how long a claim reserves an item without a heartbeat (DefaultLease)
	Heartbeat   time.Duration  // how often leases in progress are extended (a quarter of Lease)
	Poll        time.Duration  // wait between looks when nothing wakes the worker (DefaultPoll)
	Concurrency int            // deliveries at once per channel (DefaultConcurrency)
	Batch       int            // most items one claim takes (DefaultBatch)
	Devbox      *devbox.Box    // nil unless --demo: delivered messages are recorded for the dev page
	Jitter      func() float64 // uniform in [0,1) for backoff jitter; math/rand/v2 when nil
	ID          string         // names this worker's leases; random when empty
	// Observer is told of each delivery and failed attempt (the metrics); nil: nobody.
	Observer DeliveryObserver

	once     sync.Once
	mu       sync.Mutex
	inflight map[int64]struct{} // claimed items whose delivery is in progress
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

// Run delivers items until ctx ends. When ctx ends it claims nothing more, finishes the
// deliveries in progress (each within SendTimeout, its lease kept alive meanwhile) and returns.
// Errors are logged; none stops it.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	w.Log.Info("outbox worker started", "worker", w.ID, "poll", w.Poll.String(), "lease", w.Lease.String(),
		"concurrency", w.Concurrency, "max_attempts", w.MaxAttempts)
	defer w.Log.Info("outbox worker stopped", "worker", w.ID)
	if n, err := w.Store.SealLegacyOutboxSecrets(ctx); err != nil {
		w.Log.Error("outbox: sealing codes written before codes were sealed", "err", err)
	} else if n > 0 {
		w.Log.Info("outbox: sealed codes written before codes were sealed", "items", n)
	}

	wake := map[string]chan struct{}{}
	for _, kind := range store.OutboxKinds {
		wake[kind] = make(chan struct{}, 1)
	}
	poke := func(kind string) {
		if ch, ok := wake[kind]; ok {
			select {
			case ch <- struct{}{}:
			default: // already woken
			}
		}
	}
	defer w.Store.WatchOutbox(poke)()
	listenCtx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	go w.Store.ListenOutbox(listenCtx, poke, func(err error) {
		w.Log.Warn("outbox: lost the notifications of other instances; polling meanwhile", "err", err)
	})
	// The heartbeat outlives ctx: deliveries in progress when ctx ends keep their leases until
	// they finish.
	beatCtx, stopBeating := context.WithCancel(context.WithoutCancel(ctx))
	beatDone := make(chan struct{})
	go func() { w.beat(beatCtx); close(beatDone) }()

	var wg sync.WaitGroup
	for _, kind := range store.OutboxKinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if kind == store.OutboxEvent {
				w.runRounds(ctx, kind, wake[kind])
			} else {
				w.runChannel(ctx, kind, wake[kind], func() { poke(kind) })
			}
		}()
	}
	wg.Wait()
	stopBeating()
	<-beatDone
}

// DeliverDue delivers every item due now on every channel, round after round, and reports how
// many were sent. Items that fail are scheduled again or given up; only a database error is
// returned. Nothing runs after it returns.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	w.defaults()
	var mu sync.Mutex
	total := 0
	var errs []error
	var wg sync.WaitGroup
	for _, kind := range store.OutboxKinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, full, err := w.deliverRound(ctx, kind)
				mu.Lock()
				total += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
				if err != nil || !full || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

func (w *Worker) defaults() {
	w.once.Do(func() {
		if w.MaxAttempts < 1 {
			w.MaxAttempts = DefaultMaxAttempts
		}
		if w.Lease <= 0 {
			w.Lease = DefaultLease
		}
		if w.Heartbeat <= 0 {
			w.Heartbeat = w.Lease / 4
		}
		if w.Poll <= 0 {
			w.Poll = DefaultPoll
		}
		if w.Concurrency < 1 {
			w.Concurrency = DefaultConcurrency
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
			w.Jitter = mrand.Float64
		}
		if w.ID == "" {
			b := make([]byte, 8)
			rand.Read(b)
			w.ID = hex.EncodeToString(b)
		}
		w.inflight = map[int64]struct{}{}
	})
}

// runChannel keeps up to Concurrency deliveries of one kind in progress: whenever a slot is
// free and the worker is woken (an item was committed, or Poll passed), it claims as many due
// items as there are free slots and starts each at once. A finished delivery wakes it only when
// more may be due (the last claim filled every free slot, or an item came while none was free),
// so an idle channel does not ask the database after every delivery.
func (w *Worker) runChannel(ctx context.Context, kind string, wake <-chan struct{}, poke func()) {
	slots := make(chan struct{}, w.Concurrency)
	var backlog atomic.Bool // more items may be due than the last claim took
	var wg sync.WaitGroup
	defer wg.Wait()
	finish := context.WithoutCancel(ctx) // a delivery in progress outlives ctx
	poll := time.NewTimer(w.Poll)
	defer poll.Stop()
	for {
		if free := cap(slots) - len(slots); free == 0 {
			backlog.Store(true) // woken with every slot taken: look again when one is free
			if cap(slots)-len(slots) > 0 {
				continue // one came free meanwhile, maybe before its delivery saw the backlog
			}
		} else {
			limit := min(free, w.Batch)
			items, err := w.claim(ctx, kind, limit)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("outbox claim", "kind", kind, "err", err)
			}
			backlog.Store(err == nil && len(items) == limit)
			for _, it := range items {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() {
						w.untrack(it.ID)
						<-slots
						if backlog.Load() {
							poke()
						}
						wg.Done()
					}()
					if _, err := w.handle(finish, it, true); err != nil {
						w.Log.Error("outbox", "kind", kind, "outbox_id", it.ID, "err", err)
					}
				}()
			}
		}
		poll.Reset(w.Poll)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// runRounds delivers one kind in rounds of up to Batch items, recorded together: the cheap way
// for events, which are many and small.
func (w *Worker) runRounds(ctx context.Context, kind string, wake <-chan struct{}) {
	poll := time.NewTimer(w.Poll)
	defer poll.Stop()
	for {
		_, full, err := w.deliverRound(ctx, kind)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("outbox", "kind", kind, "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		if full && err == nil {
			continue
		}
		poll.Reset(w.Poll)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// deliverRound claims up to a round of one kind's due items, delivers them with at most
// Concurrency at once, and records them; full reports a whole round, so more may be due.
// Events delivered in the round are recorded as sent in one statement. An item that has not
// started when ctx ends is handed back.
func (w *Worker) deliverRound(ctx context.Context, kind string) (sent int, full bool, err error) {
	limit := w.Batch
	if kind != store.OutboxEvent {
		limit = min(w.Batch, w.Concurrency)
	}
	items, err := w.claim(ctx, kind, limit)
	if err != nil {
		return 0, false, err
	}
	finish := context.WithoutCancel(ctx)
	bulk := kind == store.OutboxEvent
	var mu sync.Mutex
	var delivered []int64
	var errs []error
	slots := make(chan struct{}, w.Concurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		slots <- struct{}{}
		if ctx.Err() != nil {
			<-slots
			if err := w.Store.ReleaseOutbox(finish, it.ID, w.ID); err != nil {
				errs = append(errs, err)
			}
			w.untrack(it.ID)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			ok, err := w.handle(finish, it, !bulk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				delivered = append(delivered, it.ID)
			}
			if !ok || !bulk {
				w.untrack(it.ID)
			}
		}()
	}
	wg.Wait()
	if bulk && len(delivered) > 0 {
		if err := w.Store.MarkOutboxSent(finish, w.Clock.Now(), delivered...); err != nil {
			errs = append(errs, err)
		}
		for _, id := range delivered {
			w.untrack(id)
		}
	}
	return len(delivered), len(items) == limit, errors.Join(errs...)
}

// claim leases due items of one kind to this worker and tracks them for the heartbeat.
func (w *Worker) claim(ctx context.Context, kind string, limit int) ([]store.OutboxItem, error) {
	items, err := w.Store.ClaimOutbox(ctx, store.OutboxClaim{Now: w.Clock.Now(), Kind: kind, Limit: limit, Lease: w.Lease, Owner: w.ID})
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	for _, it := range items {
		w.inflight[it.ID] = struct{}{}
	}
	w.mu.Unlock()
	return items, nil
}

func (w *Worker) untrack(id int64) {
	w.mu.Lock()
	delete(w.inflight, id)
	w.mu.Unlock()
}

// beat extends the leases of the deliveries in progress every Heartbeat until ctx ends, so
// that a long delivery keeps its item while a dead worker's items come free within a lease.
func (w *Worker) beat(ctx context.Context) {
	t := time.NewTicker(w.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.ExtendLeases(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("outbox heartbeat", "err", err)
		}
	}
}

// ExtendLeases extends, once, the lease of every item whose delivery this worker has in
// progress to a full Lease from now: what the heartbeat does every Heartbeat while Run runs.
func (w *Worker) ExtendLeases(ctx context.Context) error {
	w.defaults()
	w.mu.Lock()
	ids := make([]int64, 0, len(w.inflight))
	for id := range w.inflight {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	n, err := w.Store.ExtendOutboxLeases(ctx, w.ID, ids, w.Clock.Now().Add(w.Lease))
	if err != nil {
		return err
	}
	if n < len(ids) {
		// Finished meanwhile, or taken over after the lease ran out (the database was away):
		// the other worker may send a duplicate, with the same idempotency key.
		w.Log.Debug("outbox heartbeat: some leases were not extended", "held", len(ids), "extended", n)
	}
	return nil
}

// handle makes one attempt at an item and records the outcome; with markSent false a delivered
// item is left for the caller to record. The error is a database error.
func (w *Worker) handle(ctx context.Context, it store.OutboxItem, markSent bool) (bool, error) {
	sendCtx, cancel := context.WithTimeout(ctx, SendTimeout)
	rec, secret, derr := w.deliver(sendCtx, it)
	cancel()
	now := w.Clock.Now()
	log := w.Log.With("outbox_id", it.ID, "kind", it.Kind, "topic", it.Topic, "user_id", it.UserID, "attempt", it.Attempts)
	if derr == nil {
		if markSent {
			if err := w.Store.MarkOutboxSent(ctx, now, it.ID); err != nil {
				return false, err
			}
		}
		if w.Devbox != nil && it.Kind != store.OutboxEvent {
			rec.ID, rec.Time, rec.Kind, rec.Topic, rec.UserID = it.ID, now, it.Kind, it.Topic, it.UserID
			w.Devbox.Add(rec)
		}
		if it.Kind == store.OutboxEvent {
			log.Debug("outbox delivered")
		} else {
			log.Info("outbox delivered")
		}
		if w.Observer != nil {
			w.Observer.Delivered(it.Kind)
		}
		return true, nil
	}
	msg := scrub(derr.Error(), secret, rec.To)
	gaveUp := IsPermanent(derr) || it.Attempts >= w.MaxAttempts
	if w.Observer != nil {
		w.Observer.DeliveryFailed(it.Kind, gaveUp)
	}
	if gaveUp {
		log.Warn("outbox gave up", "err", msg, "permanent", IsPermanent(derr))
		return false, w.Store.MarkOutboxFailed(ctx, it.ID, w.ID, now, msg)
	}
	next := now.Add(Backoff(it.Attempts, w.Jitter()))
	log.Warn("outbox attempt failed; will retry", "err", msg, "next_attempt_at", next)
	return false, w.Store.MarkOutboxRetry(ctx, it.ID, w.ID, next, msg)
}

// MessageKey is the key that stays the same on every attempt at one message, so that a
// duplicate (sent, but not recorded before the lease ran out) is recognisable: the SMS
// gateway's Idempotency-Key and the local part of the email's Message-ID.
func MessageKey(it store.OutboxItem) string { return "outbox-" + strconv.FormatInt(it.ID, 10) }

// deliver sends one item; it returns what the recipient got, for the development outbox, and
// the secret, so that no error message stores it.
func (w *Worker) deliver(ctx context.Context, it store.OutboxItem) (devbox.Message, string, error) {
	switch it.Kind {
	case store.OutboxSMS, store.OutboxEmail:
		m, err := DecodeMessage(it.Payload)
		if err != nil {
			return devbox.Message{}, "", Permanent(err)
		}
		if it.SecretErr != nil {
			return devbox.Message{}, "", Permanent(it.SecretErr)
		}
		secret := it.Secret
		if secret == "" {
			secret = m.Secret // written before codes were sealed
		}
		r, err := w.Render.Render(ctx, it.Kind, m.Template, m.Locale, m.Data, secret)
		if err != nil {
			return devbox.Message{}, secret, Permanent(fmt.Errorf("render %s %s: %w", it.Kind, m.Template, err))
		}
		rec := devbox.Message{To: m.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML}
		if it.Kind == store.OutboxSMS {
			if w.SMS == nil {
				return rec, secret, errors.New("no SMS gateway configured")
			}
			return rec, secret, w.SMS.Send(ctx, sms.Message{ID: MessageKey(it), To: m.To, Text: r.Text, Locale: m.Locale})
		}
		if w.Mail == nil {
			return rec, secret, errors.New("no mail sender configured")
		}
		return rec, secret, w.Mail.Send(ctx, mail.Message{ID: MessageKey(it) + "." + strconv.FormatInt(it.CreatedAt.UnixMilli(), 10),
			To: m.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML})
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

// scrub keeps a one-time code (or a notice link) and the recipient's number or address out of an
// error that may quote the message (a gateway echoing it, a mail server naming the recipient), as
// errors are logged and stored.
func scrub(s, secret, to string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[secret]")
	}
	if to != "" {
		s = strings.ReplaceAll(s, to, "[recipient]")
	}
	return s
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

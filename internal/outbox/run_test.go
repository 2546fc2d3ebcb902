package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// hanging is an SMS gateway that accepts connections and never answers until released, like a
// gateway behind a dead load balancer. It counts the sends in progress.
type hanging struct {
	mu       sync.Mutex
	started  chan string // the idempotency key of each send as it starts
	release  chan struct{}
	once     sync.Once
	inFlight int
	most     int
	sent     []sms.Message
}

func newHanging() *hanging {
	return &hanging{started: make(chan string, 100), release: make(chan struct{})}
}

func (h *hanging) Send(ctx context.Context, m sms.Message) error {
	h.mu.Lock()
	h.inFlight++
	h.most = max(h.most, h.inFlight)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()
	h.started <- m.ID
	select {
	case <-h.release:
		h.mu.Lock()
		h.sent = append(h.sent, m)
		h.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hanging) unblock() { h.once.Do(func() { close(h.release) }) }

func (h *hanging) counts() (inFlight, most, sent int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inFlight, h.most, len(h.sent)
}

// eventually waits, polling, until cond holds; the bound is generous, since only a defect makes
// it run out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts w.Run and returns a function that stops it and waits for it.
func run(w *outbox.Worker) (stop func()) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	return func() { cancel(); <-done }
}

func lockedUntil(t *testing.T, s *store.SQL, id int64) time.Time {
	t.Helper()
	var ms int64
	if err := s.DB().QueryRow(`SELECT locked_until FROM outbox WHERE id = $1`, id).Scan(&ms); err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(ms)
}

// Two instances on PostgreSQL. The first claims a text message and hangs in the gateway; while
// it lives, its heartbeat keeps the message from the second beyond the first lease. Then it dies
// mid-delivery — its context ends and it writes nothing more, its lease not released — and the
// second delivers the message one lease later, with the same idempotency key.
func TestRun_AnotherInstanceTakesOverWithinTheLeaseWhenOneDies(t *testing.T) {
	a, b := testsupport.PostgresPair(t)
	clk := clock.NewFake(t0)
	const lease = 20 * time.Second
	hang := newHanging()
	t.Cleanup(hang.unblock)
	first := &outbox.Worker{Store: a, SMS: hang, Render: renderer(t), Clock: clk, Log: quietLog(),
		Lease: lease, Heartbeat: 5 * time.Millisecond, Poll: time.Hour, ID: "first"}
	ids := enqueue(t, a, outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
	firstCtx, kill := context.WithCancel(ctx)
	go first.Run(firstCtx)
	var key string
	select {
	case key = <-hang.started:
	case <-time.After(15 * time.Second):
		t.Fatal("the first instance never started the delivery")
	}

	g := &gateway{}
	second := &outbox.Worker{Store: b, SMS: g, Render: renderer(t), Clock: clk, Log: quietLog(), Lease: lease, ID: "second"}
	deliver := func() int {
		t.Helper()
		n, err := second.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := deliver(); n != 0 {
		t.Fatalf("the second instance took a message whose delivery is in progress (%d)", n)
	}
	clk.Advance(lease / 2)
	eventually(t, "a heartbeat extends the lease", func() bool { return !lockedUntil(t, b, ids[0]).Before(clk.Now().Add(lease)) })
	clk.Advance(lease/2 + time.Second) // past the lease of the claim
	if n := deliver(); n != 0 {
		t.Fatalf("taken over from a live instance (%d)", n)
	}

	kill()
	a.Close()
	if it := item(t, b, ids[0]); it.Status != store.OutboxPending || it.Attempts != 1 {
		t.Fatalf("after the first instance died: %+v", it)
	}
	clk.Advance(lease)
	// A heartbeat of the first that was under way when it died may still hold the row for a
	// moment, and a claim skips a locked row: look again until it is free (no clock moves).
	delivered := 0
	eventually(t, "the second delivers a lease after the first died", func() bool { delivered += deliver(); return delivered > 0 })
	if delivered != 1 {
		t.Fatalf("a lease after the first instance died, the second delivered %d", delivered)
	}
	if len(g.sent) != 1 || g.sent[0].ID != key || key != fmt.Sprint("outbox-", ids[0]) {
		t.Errorf("the second sent %+v; the first's key was %q", g.sent, key)
	}
	if it := item(t, b, ids[0]); it.Status != store.OutboxSent || it.Attempts != 2 {
		t.Errorf("after the takeover: %+v", it)
	}
}

// A gateway that hangs holds at most Concurrency text messages, and email flows past it at once:
// the email is woken by its commit, not by a poll (an hour here), and goes out while every text
// message still hangs. When the gateway recovers, the waiting messages go out too.
func TestRun_AHangingSMSGatewayDelaysNoEmail(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
		hang := newHanging()
		t.Cleanup(hang.unblock)
		w := &outbox.Worker{Store: s, SMS: hang, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clock.NewFake(t0),
			Log: quietLog(), Poll: time.Hour, Concurrency: 4}
		stop := run(w)
		defer stop()
		defer hang.unblock()

		var texts []store.OutboxItem
		for i := range 20 {
			texts = append(texts, outbox.SMS(fmt.Sprint("u", i), fmt.Sprintf("+86138000000%02d", i), "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
		}
		enqueue(t, s, texts...)
		eventually(t, "4 text messages hang in the gateway", func() bool { n, _, _ := hang.counts(); return n == 4 })
		enqueue(t, s, outbox.Email("u99", "li.na@example.com", "en", "verify.code", outbox.CodeData(10*time.Minute), "111111", t0))
		eventually(t, "the email arrives while the gateway hangs", func() bool { return len(srv.Messages()) == 1 })
		if n, most, sent := hang.counts(); n != 4 || most != 4 || sent != 0 {
			t.Fatalf("gateway: %d in flight, at most %d, %d sent; want 4, 4, 0", n, most, sent)
		}
		hang.unblock()
		eventually(t, "every text message goes out once the gateway answers", func() bool { _, _, sent := hang.counts(); return sent == 20 })
		if _, most, _ := hang.counts(); most > 4 {
			t.Errorf("%d text messages were in flight at once, want at most 4", most)
		}
	})
}

// refuseSent makes the database refuse to record a delivery, as during an outage that begins
// between the send and its record.
func refuseSent(t *testing.T, s *store.SQL) (restore func()) {
	t.Helper()
	create := []string{`CREATE TRIGGER refuse_sent BEFORE UPDATE OF status ON outbox WHEN NEW.status = 'sent'
		BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`}
	drop := []string{`DROP TRIGGER refuse_sent`}
	if s.Dialect() == store.Postgres {
		create = []string{
			`CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not write to file'; END $$`,
			`CREATE TRIGGER refuse_sent BEFORE UPDATE ON outbox FOR EACH ROW WHEN (NEW.status = 'sent') EXECUTE FUNCTION refuse_sent()`,
		}
		drop = []string{`DROP TRIGGER refuse_sent ON outbox`, `DROP FUNCTION refuse_sent()`}
	}
	for _, q := range create {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for _, q := range drop {
			if _, err := s.DB().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Messages sent while the database could not record them go out again once the lease ends —
// seconds, not minutes — with the same SMS idempotency key and the same email Message-ID, so
// the gateway and mail clients recognise the duplicate.
func TestDeliverDue_ADuplicateAfterAnOutageCarriesTheSameKeys(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		srv := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
		g := &gateway{}
		clk := clock.NewFake(t0)
		worker := func(id string) *outbox.Worker {
			return &outbox.Worker{Store: s, SMS: g, Mail: smtpSender(t, srv), Render: renderer(t), Clock: clk, Log: quietLog(), ID: id}
		}
		ids := enqueue(t, s,
			outbox.SMS("u1", "+8613800000001", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0),
			outbox.Email("u1", "li.na@example.com", "en", "verify.code", outbox.CodeData(10*time.Minute), "493817", t0))
		restore := refuseSent(t, s)
		if _, err := worker("first").DeliverDue(ctx); err == nil {
			t.Fatal("recording the deliveries did not fail")
		}
		restore()
		if len(g.sent) != 1 || len(srv.Messages()) != 1 {
			t.Fatalf("sent %d SMS and %d emails during the outage", len(g.sent), len(srv.Messages()))
		}
		second := worker("second")
		if n, _ := second.DeliverDue(ctx); n != 0 {
			t.Fatalf("sent again within the lease: %d", n)
		}
		clk.Advance(outbox.DefaultLease)
		if n, err := second.DeliverDue(ctx); n != 2 || err != nil {
			t.Fatalf("a lease later: %d, %v", n, err)
		}
		if len(g.sent) != 2 || g.sent[0].ID != g.sent[1].ID || g.sent[0].ID != fmt.Sprint("outbox-", ids[0]) {
			t.Errorf("SMS keys: %+v", g.sent)
		}
		mails := srv.Messages()
		if len(mails) != 2 || mails[0].Header("Message-Id") == "" || mails[0].Header("Message-Id") != mails[1].Header("Message-Id") {
			t.Errorf("Message-IDs: %d messages, %q", len(mails), []string{mails[0].Header("Message-Id"), mails[len(mails)-1].Header("Message-Id")})
		}
		if want := fmt.Sprintf("<outbox-%d.%d@example.com>", ids[1], t0.UnixMilli()); mails[0].Header("Message-Id") != want {
			t.Errorf("Message-ID %q, want %q", mails[0].Header("Message-Id"), want)
		}
		for _, id := range ids {
			if it := item(t, s, id); it.Status != store.OutboxSent {
				t.Errorf("item %d: %+v", id, it)
			}
		}
	})
}

// Events are claimed and recorded a round at a time; every one is delivered once.
func TestDeliverDue_EventsInRounds(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		var items []store.OutboxItem
		for i := range 250 {
			ev, err := outbox.NewEvent(fmt.Sprint("u", i), "user.migrated", map[string]any{"n": i}, t0)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, ev)
		}
		enqueue(t, s, items...)
		rec := &countingEvents{seen: map[string]int{}}
		w := &outbox.Worker{Store: s, Events: rec, Render: renderer(t), Clock: clock.NewFake(t0), Log: quietLog()}
		if n, err := w.DeliverDue(ctx); n != 250 || err != nil {
			t.Fatalf("DeliverDue = %d, %v", n, err)
		}
		if len(rec.seen) != 250 {
			t.Errorf("receiver saw %d events", len(rec.seen))
		}
		for id, n := range rec.seen {
			if n != 1 {
				t.Errorf("event %s delivered %d times", id, n)
			}
		}
		recent, err := s.RecentOutbox(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range recent {
			if it.Status != store.OutboxSent {
				t.Fatalf("not sent: %+v", it)
			}
		}
	})
}

type countingEvents struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *countingEvents) Send(_ context.Context, e outbox.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[e.ID]++
	return nil
}

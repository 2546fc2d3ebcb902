package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// kindSet is a set of outbox kinds.
type kindSet uint8

func kindBit(kind string) kindSet {
	switch kind {
	case OutboxSMS:
		return 1
	case OutboxEmail:
		return 2
	case OutboxEvent:
		return 4
	}
	return 0
}

func (k kindSet) with(kind string) kindSet { return k | kindBit(kind) }

// outboxWake calls the watchers of a store handle when items it wrote are committed.
type outboxWake struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(kind string)
}

func (w *outboxWake) notify(kinds kindSet) {
	w.mu.Lock()
	fns := make([]func(string), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, kind := range OutboxKinds {
		if kinds&kindBit(kind) == 0 {
			continue
		}
		for _, fn := range fns {
			fn(kind)
		}
	}
}

// WatchOutbox calls fn with the kind of each outbox item written through this store handle,
// right after the transaction that wrote it commits, so a worker in the same process starts on
// it at once instead of at its next look. fn runs on the committing goroutine and must not
// block. stop ends the calls.
func (s *SQL) WatchOutbox(fn func(kind string)) (stop func()) {
	s.wake.mu.Lock()
	defer s.wake.mu.Unlock()
	if s.wake.fns == nil {
		s.wake.fns = map[int]func(string){}
	}
	id := s.wake.next
	s.wake.next++
	s.wake.fns[id] = fn
	return func() {
		s.wake.mu.Lock()
		defer s.wake.mu.Unlock()
		delete(s.wake.fns, id)
	}
}

// notifyChannelPrefix names the PostgreSQL notification channel of committed outbox items;
// the schema follows it, so deployments sharing a database do not wake each other.
const notifyChannelPrefix = "smsretire_outbox:"

// notifyInstances tells the workers of other instances, on PostgreSQL, that items of kinds were
// committed. It runs after the commit, on the transaction's connection (under load, asking the pool
// for another one waits in its queue), in a statement of its own that does not wait for the disk:
// a NOTIFY inside the writing transaction takes PostgreSQL's one lock for notifications of the
// whole server at commit and holds it while the commit is flushed to disk, so every transaction
// that enqueues waited for the flush of the one before it (BenchmarkEnqueueParallel, 16 clients:
// 240–1,360 transactions/s with the NOTIFY inside, 1,390–3,220/s with it after). An item committed
// while the notification fails is found at the other instances' next look (--outbox-poll).
func (s *SQL) notifyInstances(ctx context.Context, conn *sql.Conn, kinds kindSet) {
	if s.dialect != Postgres {
		return
	}
	query := `SELECT set_config('synchronous_commit', 'off', true)`
	var args []any
	for _, kind := range OutboxKinds {
		if kinds&kindBit(kind) != 0 {
			query += `, pg_notify('` + notifyChannelPrefix + `' || current_schema(), ?)`
			args = append(args, kind)
		}
	}
	_, _ = conn.ExecContext(context.WithoutCancel(ctx), s.q(query), args...) // the items are committed; a failure is the poll's
}

// ListenOutbox wakes this process for outbox items that other instances commit: on PostgreSQL it
// holds a connection that LISTENs to the notifications InTx sends after a commit that enqueued
// items, and calls fn with the
// kind of each until ctx ends. After a lost connection it reconnects (waiting 1 s, doubling to at
// most 30 s) and calls fn once for every kind, since notifications sent meanwhile are lost;
// onErr hears why it had to. On SQLite, where one process holds the database, it returns at once.
func (s *SQL) ListenOutbox(ctx context.Context, fn func(kind string), onErr func(error)) {
	if s.dialect != Postgres {
		return
	}
	wait := time.Second
	for {
		connected, err := s.listen(ctx, fn)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = time.Second
		}
		onErr(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// listen serves one LISTEN connection until it fails or ctx ends; connected reports whether it
// got as far as listening.
func (s *SQL) listen(ctx context.Context, fn func(kind string)) (connected bool, err error) {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return false, fmt.Errorf("outbox listen: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return false, fmt.Errorf("outbox listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notifyChannelPrefix + schema}.Sanitize()); err != nil {
		return false, fmt.Errorf("outbox listen: %w", err)
	}
	for _, kind := range OutboxKinds {
		fn(kind) // whatever was committed while nobody listened
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("outbox listen: %w", err)
		}
		fn(n.Payload)
	}
}

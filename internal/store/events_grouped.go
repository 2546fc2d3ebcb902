package store

import (
	"context"
	"sync"

	"github.com/smsretire/smsretire/internal/audit"
)

// eventGroup lets events that callers append at the same moment share one transaction (group
// commit). The first caller writes; whoever arrives while a transaction is under way waits, and
// the first of them writes everything that waited, in one transaction, when it ends. Each caller
// returns once its own event is committed, as with AppendEvent, so the history stays complete:
// only the commits are shared, which on PostgreSQL are a disk flush each and on SQLite the one
// writer's turn.
type eventGroup struct {
	mu      sync.Mutex
	writing bool
	waiting []*groupedEvent
}

type groupedEvent struct {
	ev   audit.Event
	done chan groupedResult
}

// groupedResult ends a wait: the event's outcome, or lead: write the events waiting now.
type groupedResult struct {
	err  error
	lead bool
}

// AppendEventGrouped adds one entry to a user's history like AppendEvent, in a transaction shared
// with the entries other requests append at the same moment; it returns once the entry is
// committed. For events written on their own at high rates, such as a notice opened.
func (s *SQL) AppendEventGrouped(ctx context.Context, ev audit.Event) error {
	g := &s.grouped
	me := &groupedEvent{ev: ev, done: make(chan groupedResult, 1)}
	g.mu.Lock()
	if g.writing {
		g.waiting = append(g.waiting, me)
		g.mu.Unlock()
		r := <-me.done
		if !r.lead {
			return r.err
		}
		// Lead: the previous writer handed over with me first among those waiting.
		g.mu.Lock()
	} else {
		g.writing = true
		g.waiting = append(g.waiting, me)
	}
	batch := g.waiting
	g.waiting = nil
	g.mu.Unlock()

	s.writeGroup(context.WithoutCancel(ctx), batch)

	g.mu.Lock()
	if len(g.waiting) == 0 {
		g.writing = false
	} else {
		g.waiting[0].done <- groupedResult{lead: true} // it takes everything waiting then
	}
	g.mu.Unlock()
	r := <-me.done
	return r.err
}

// writeGroup appends the batch's events in one transaction and tells each caller; when the
// transaction fails, each event is tried on its own, so that one bad event fails only its caller.
func (s *SQL) writeGroup(ctx context.Context, batch []*groupedEvent) {
	err := s.InTx(ctx, func(tx *Tx) error {
		for _, g := range batch {
			if err := tx.AppendEvent(ctx, g.ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, g := range batch {
			g.done <- groupedResult{err: err}
		}
		return
	}
	for _, g := range batch {
		g.done <- groupedResult{err: s.AppendEvent(ctx, g.ev)}
	}
}

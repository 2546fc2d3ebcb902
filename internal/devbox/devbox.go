// Package devbox keeps the last messages the portal delivered, in memory, for the development
// outbox page that --demo shows: there a developer reads the codes the log gateways "sent".
// Never used outside --demo.
package devbox

import (
	"sync"
	"time"
)

// DefaultCapacity is how many messages a Box keeps when New is given no size.
const DefaultCapacity = 200

// Message is one delivered message as the recipient would see it.
type Message struct {
	ID      int64 // the outbox item
	Time    time.Time
	Kind    string // sms or email
	Topic   string // the template, such as verify.code
	UserID  string
	To      string
	Subject string // email only
	Text    string
	HTML    string // email only
}

// Box is a bounded, concurrency-safe record of the newest messages; the oldest drop out.
type Box struct {
	mu   sync.Mutex
	ring []Message
	next int // where the next message goes
	full bool
}

// New returns a box keeping the last capacity messages (DefaultCapacity when capacity < 1).
func New(capacity int) *Box {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	return &Box{ring: make([]Message, capacity)}
}

// Add records a message, dropping the oldest when the box is full.
func (b *Box) Add(m Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ring[b.next] = m
	b.next = (b.next + 1) % len(b.ring)
	if b.next == 0 {
		b.full = true
	}
}

// List returns the messages, newest first.
func (b *Box) List() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.next
	if b.full {
		n = len(b.ring)
	}
	out := make([]Message, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, b.ring[(b.next-i+len(b.ring))%len(b.ring)])
	}
	return out
}

// For returns the messages sent to one address or number, newest first.
func (b *Box) For(to string) []Message {
	var out []Message
	for _, m := range b.List() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

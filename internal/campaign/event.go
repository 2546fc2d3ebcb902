package campaign

import "time"

// EventType names something that happened to a user's account.
type EventType string

// The event types of a user's history.
const (
	EventRosterAdded   EventType = "roster.added"
	EventRosterUpdated EventType = "roster.updated"
	EventNoticeOpened  EventType = "notice.opened"
	EventStateChanged  EventType = "state.changed"
)

// Event is one entry in a user's history.
type Event struct {
	ID        int64
	UserID    string
	Type      EventType
	Detail    map[string]string
	Actor     string // "user", "system" or "staff:NAME"
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// RosterEntry is one user as the operator's roster gives it; the ID digits arrive already hashed.
type RosterEntry struct {
	ID          string
	Phone       string
	Email       string
	Name        string
	Locale      string
	Deadline    Date
	IDLast4Hash []byte
}

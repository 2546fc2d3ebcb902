package campaign

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

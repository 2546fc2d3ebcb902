package campaign

// RosterEntry is one user as the operator's roster gives it; the ID digits arrive already hashed.
type RosterEntry struct {
	ID          string
	Phone       string
	Email       string
	Name        string
	Locale      string
	Deadline    Date // the row's, or the wave's when DeadlineFromWave
	IDLast4Hash []byte
	Wave        string // "" for none
	// DeadlineFromWave: the row named no deadline, so Deadline is its wave's and follows it.
	DeadlineFromWave bool
}

// Package campaign holds the users who must leave SMS verification, their state and deadlines,
// and the signed links that lead them to their personal notice.
package campaign

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is where a user stands in the retirement of SMS verification.
type State string

// A user's state moves notified → verified → enrolled → retired.
const (
	StateNotified State = "notified"
	StateVerified State = "verified"
	StateEnrolled State = "enrolled"
	StateRetired  State = "retired"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateNotified, StateVerified, StateEnrolled, StateRetired:
		return true
	}
	return false
}

// ErrUserNotFound reports an account that is not in the roster.
var ErrUserNotFound = errors.New("user not found")

// User is one account that must move off SMS verification.
type User struct {
	ID           string
	Phone        string // E.164
	Email        string
	Name         string
	Locale       string // "zh-Hans", "en" or empty for the browser's choice
	Deadline     Date   // the roster row's, else the wave's
	HasIDLast4   bool
	State        State
	SMSRetiredAt time.Time // zero while SMS is still in use
	CreatedAt    time.Time
	UpdatedAt    time.Time

	Wave             string    // the campaign wave the roster puts the user in; "" for none
	DeadlineFromWave bool      // the roster row gave no deadline: Deadline is the wave's
	ExemptReason     string    // not empty: exempt from the campaign, and why
	OutOfScopeAt     time.Time // a full roster no longer named the user; zero while in scope
	Snoozes          int       // how often the user asked to be reminded later
	SnoozedUntil     time.Time // no reminder before this; zero when not snoozed
	// ChangesLockedAt is when a "this wasn't me" locked changes to the account; zero when they are
	// not locked. Verifying the identity again unlocks them.
	ChangesLockedAt time.Time
	// CheckupDueAt is when the user should sign in once to show the new factor works; zero when
	// no check-up is pending.
	CheckupDueAt time.Time
}

// Exempt reports whether the user is left out of the campaign: no notice, no reminder, and
// SMS stays open for them.
func (u User) Exempt() bool { return u.ExemptReason != "" }

// InScope reports whether the campaign concerns the user: named by the roster and not exempt.
func (u User) InScope() bool { return u.OutOfScopeAt.IsZero() && !u.Exempt() }

// ErrChangesLocked refuses a change to an account whose changes a "this wasn't me" locked: the
// user must verify their identity again first.
var ErrChangesLocked = errors.New("changes locked until the identity is verified again")

// ChangesLocked reports whether changes to the account wait for a new verification.
func (u User) ChangesLocked() bool { return !u.ChangesLockedAt.IsZero() }

// CheckupDue reports whether the check-up of the new factor has fallen due at now.
func (u User) CheckupDue(now time.Time) bool {
	return !u.CheckupDueAt.IsZero() && !now.Before(u.CheckupDueAt)
}

// Date is a calendar date without a time zone, such as a deadline.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a date written as YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateOf returns the calendar date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// String writes the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// Time returns midnight at the start of the date in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// DaysLeft counts the whole days from now's date in loc until the deadline: 0 on the deadline
// itself, negative once it has passed. The deadline day still counts as a day to act.
func (u User) DaysLeft(now time.Time, loc *time.Location) int {
	today := DateOf(now, loc).Time(time.UTC)
	due := u.Deadline.Time(time.UTC)
	return int(due.Sub(today).Hours() / 24)
}

// PastDeadline reports whether the user's deadline has passed, in loc.
func (u User) PastDeadline(now time.Time, loc *time.Location) bool {
	return u.DaysLeft(now, loc) < 0
}

// MaskEmail hides most of an address's local part: zhang.wei@example.com becomes z***@example.com.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return ""
	}
	local := []rune(email[:at])
	return string(local[0]) + "***" + email[at:]
}

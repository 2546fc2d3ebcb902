package views

import (
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
)

// The support console's pages (web/console_*.go). Each view model embeds ConsoleContext: the
// page context and what the staff member's role lets the navigation and the forms show.

// ConsoleContext is what every console page shares.
type ConsoleContext struct {
	Page
	Section  string // dashboard, search or audit: the navigation marks it
	StaffWho string // the signed-in staff member, as the navigation names them
	CanAudit bool   // the audit log (supervisors and admins)
}

// ConsolePerson is a user as the console lists them: contact details and name masked.
type ConsolePerson struct {
	ID         string
	Name       string
	Phone      string
	Email      string
	State      string
	Deadline   campaign.Date
	Exempt     bool
	OutOfScope bool
	Locked     bool
}

// ConsoleSearchPage is the search form and, after a search, its results.
type ConsoleSearchPage struct {
	ConsoleContext
	Query    string
	Searched bool
	By       string // id, phone or email: how the query was read
	Results  []ConsolePerson
	Errors   Errors
}

// ConsoleFactor is one of a user's methods: never its secret.
type ConsoleFactor struct {
	Kind       string
	Name       string
	Email      string // an email factor's address, masked
	CreatedAt  time.Time
	LastUsedAt time.Time
	Flagged    bool
}

// ConsoleLock is one of a user's methods paused by wrong answers.
type ConsoleLock struct {
	Method string
	Until  time.Time
}

// ConsoleMessage is a message or event to the user: never its content.
type ConsoleMessage struct {
	ID        int64
	Channel   string
	Topic     string
	Status    string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
	Retryable bool
}

// ConsoleEvent is one line of a user's history, described in the page language.
type ConsoleEvent struct {
	At    time.Time
	Text  string
	Actor string // user, system, staff:EMAIL, cli
	IP    string
}

// ConsoleUserPage is everything the console shows of one user, with the actions the staff
// member's role allows.
type ConsoleUserPage struct {
	ConsoleContext
	Person          ConsolePerson
	SMSRetiredAt    time.Time
	ChangesLockedAt time.Time
	ExemptReason    string
	Factors         []ConsoleFactor
	Locks           []ConsoleLock
	Attempts        []ConsoleEvent
	Messages        []ConsoleMessage
	History         []ConsoleEvent
	Self            bool // the staff member's own account: no action
	Notice          string
	// The actions the role allows.
	CanResend, CanAssist, CanRetry, CanUnlock, CanReset, CanExtend bool
	// A refused form: which one (notice, assist, unlock-METHOD, deadline, retry-ID), its errors
	// and what was typed.
	Form     string
	Errors   Errors
	Reason   string
	Deadline string
	MinDate  string // the date field's bounds, YYYY-MM-DD
	MaxDate  string
}

// ConsoleResetPage asks a supervisor to confirm resetting a user's methods, with a reason.
type ConsoleResetPage struct {
	ConsoleContext
	Person  ConsolePerson
	Factors []ConsoleFactor
	Reason  string
	Errors  Errors
}

// ConsoleAssistPage shows an assist code once, to read to the caller.
type ConsoleAssistPage struct {
	ConsoleContext
	Person  ConsolePerson
	Code    string // 8 digits, shown as 1234-5678
	Expires time.Time
}

// ConsoleCount is one figure of the dashboard, with its label in the page language.
type ConsoleCount struct {
	Key   string
	Label string
	N     int
}

// ConsoleDashboardPage is the campaign at a glance.
type ConsoleDashboardPage struct {
	ConsoleContext
	At           time.Time
	Users        int
	ByState      []ConsoleCount
	ByFactor     []ConsoleCount
	Failed       []ConsoleCount
	PastDeadline int
	Locked       int
	PerDay       []ConsoleCount // Key: the date (YYYY-MM-DD); Label: the date in the page language
	Chart        BarChart
}

// ConsoleAuditEntry is one record of the staff audit log, described in the page language.
type ConsoleAuditEntry struct {
	At     time.Time
	Actor  string
	Role   string
	Action string
	UserID string
	Reason string
	IP     string
	Detail string
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// ConsoleAuditPage is the staff audit log with its filters.
type ConsoleAuditPage struct {
	ConsoleContext
	Staff, User, Action, From, To string // the filters as given
	StaffOptions, ActionOptions   []Option
	Entries                       []ConsoleAuditEntry
	Query                         string // the filters as a query string, for paging and the export
	Offset, Prev, Next            int    // Next is -1 on the last page, Prev -1 on the first
	CanExport                     bool
	Errors                        Errors
}

// BarChart is a bar chart drawn as SVG by the server: each bar's box, in the chart's units.
type BarChart struct {
	Width, Height int
	Max           int
	Bars          []Bar
	Ticks         []Tick // lines across the chart with their value
}

// Bar is one bar of a chart.
type Bar struct {
	X, Y, W, H int
	Label      string // what a tooltip says: the day and the figure
}

// Tick is a horizontal line of a chart at the height of Value.
type Tick struct {
	Y     int
	Value string
}

// The chart's drawing area: a left margin for the scale and a bottom margin for the dates.
const (
	chartLeft   = 40
	chartBottom = 20
	chartTop    = 8
)

// NewBarChart lays out one bar per figure in a chart of width × height, scaled to the largest
// figure, with a tick at that and at half of it; label says what a bar's tooltip reads.
func NewBarChart(figures []ConsoleCount, width, height int, label func(ConsoleCount) string) BarChart {
	c := BarChart{Width: width, Height: height}
	for _, f := range figures {
		c.Max = max(c.Max, f.N)
	}
	scale := max(c.Max, 1)
	plotH := height - chartBottom - chartTop
	n := max(len(figures), 1)
	step := (width - chartLeft) / n
	for i, f := range figures {
		h := f.N * plotH / scale
		if f.N > 0 && h == 0 {
			h = 1
		}
		c.Bars = append(c.Bars, Bar{X: chartLeft + i*step + 1, Y: chartTop + plotH - h, W: max(step-2, 1), H: h,
			Label: label(f)})
	}
	for _, v := range []int{scale, scale / 2, 0} {
		c.Ticks = append(c.Ticks, Tick{Y: chartTop + plotH - v*plotH/scale, Value: strconv.Itoa(v)})
	}
	return c
}

// Digits4 writes an 8-digit code as two groups: 1234-5678.
func Digits4(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

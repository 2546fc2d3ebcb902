package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
)

// CampaignFile is the [campaign] section as written; the file's loader turns it, with the
// [[wave]] sections, into a Campaign.
type CampaignFile struct {
	Start        *fileTime `toml:"start"`
	ReminderDays *[]int    `toml:"reminder_days"`
	QuietHours   *string   `toml:"quiet_hours"`
	GraceDays    *int      `toml:"grace_days"`
	SnoozeLimit  *int      `toml:"snooze_limit"`
	SnoozeDays   *int      `toml:"snooze_days"`
	NoticeSMS    *bool     `toml:"notice_sms"`
}

// WaveFile is one [[wave]] as written.
type WaveFile struct {
	Name     string    `toml:"name"`
	Start    *fileTime `toml:"start"`
	Deadline *fileTime `toml:"deadline"`
}

// Campaign is how the retirement campaign runs: when users hear of it, when they are reminded,
// when they may be disturbed, how long they may put it off and what they may still do after
// their deadline. Times of day and dates are in the campaign's time zone, --time-zone.
type Campaign struct {
	// Start is when users without a wave get their notice; zero: never, they hear of the
	// campaign only from links the operator sends.
	Start time.Time
	// ReminderDays are the days before the deadline a reminder goes out, besides the one on the
	// deadline day itself; largest first.
	ReminderDays []int
	// QuietFrom and QuietUntil bound the quiet hours (minutes after midnight): no notice or
	// reminder is sent from QuietFrom until QuietUntil; they wait. Equal: no quiet hours.
	QuietFrom, QuietUntil int
	// GraceDays follow the deadline day: the SMS code is closed, other ways still verify.
	GraceDays int
	// SnoozeLimit is how often a user may ask to be reminded later, each time SnoozeDays on.
	SnoozeLimit, SnoozeDays int
	// NoticeSMS: the notice also goes by SMS, with the signed link, while SMS is still open.
	NoticeSMS bool
	// Waves are the groups of users the campaign reaches in turn, each with its own start and
	// deadline; a roster row names its user's wave.
	Waves []Wave
}

// Wave is one group of the campaign: its users get their notice at Start and, unless their
// roster row says otherwise, have Deadline as their deadline.
type Wave struct {
	Name     string
	Start    time.Time
	Deadline campaign.Date
}

// DefaultCampaign returns the campaign's rules without a configuration file: reminders 30, 7
// and 1 days before the deadline and on it, quiet from 22:00 to 08:00, 14 days of grace, three
// snoozes of 3 days, the notice by SMS too, and no waves.
func DefaultCampaign() Campaign {
	return Campaign{ReminderDays: []int{30, 7, 1}, QuietFrom: 22 * 60, QuietUntil: 8 * 60, GraceDays: 14,
		SnoozeLimit: 3, SnoozeDays: 3, NoticeSMS: true}
}

// Wave returns the wave called name.
func (c Campaign) Wave(name string) (Wave, bool) {
	for _, w := range c.Waves {
		if w.Name == name {
			return w, true
		}
	}
	return Wave{}, false
}

// WaveDeadlines returns each wave's deadline by name, as the roster import checks wave names.
func (c Campaign) WaveDeadlines() map[string]campaign.Date {
	out := make(map[string]campaign.Date, len(c.Waves))
	for _, w := range c.Waves {
		out[w.Name] = w.Deadline
	}
	return out
}

// Quiet reports whether t, in loc, falls in the quiet hours, and if so when they end.
func (c Campaign) Quiet(t time.Time, loc *time.Location) (bool, time.Time) {
	if c.QuietFrom == c.QuietUntil {
		return false, time.Time{}
	}
	t = t.In(loc)
	y, m, d := t.Date()
	minute := t.Hour()*60 + t.Minute()
	at := func(day, minutes int) time.Time { return time.Date(y, m, d+day, 0, minutes, 0, 0, loc) }
	if c.QuietFrom < c.QuietUntil { // within one day, such as 12:00–14:00
		if minute >= c.QuietFrom && minute < c.QuietUntil {
			return true, at(0, c.QuietUntil)
		}
		return false, time.Time{}
	}
	switch { // across midnight, such as 22:00–08:00
	case minute >= c.QuietFrom:
		return true, at(1, c.QuietUntil)
	case minute < c.QuietUntil:
		return true, at(0, c.QuietUntil)
	}
	return false, time.Time{}
}

var waveName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// campaign checks the [campaign] and [[wave]] sections and fills the defaults.
func (f File) campaign(loc *time.Location) (Campaign, error) {
	c := DefaultCampaign()
	s := f.Campaign
	if s.Start != nil {
		c.Start = s.Start.in(loc)
	}
	if s.ReminderDays != nil {
		days := slices.Clone(*s.ReminderDays)
		for _, d := range days {
			if d < 1 || d > 366 {
				return c, fmt.Errorf("campaign.reminder_days: %d: want days before the deadline, 1 to 366 (the deadline day always has its reminder)", d)
			}
		}
		slices.Sort(days)
		days = slices.Compact(days)
		slices.Reverse(days)
		c.ReminderDays = days
	}
	if s.QuietHours != nil {
		from, until, err := parseQuietHours(*s.QuietHours)
		if err != nil {
			return c, err
		}
		c.QuietFrom, c.QuietUntil = from, until
	}
	if s.GraceDays != nil {
		if *s.GraceDays < 0 || *s.GraceDays > 366 {
			return c, fmt.Errorf("campaign.grace_days: %d: want 0 to 366", *s.GraceDays)
		}
		c.GraceDays = *s.GraceDays
	}
	if s.SnoozeLimit != nil {
		if *s.SnoozeLimit < 0 || *s.SnoozeLimit > 20 {
			return c, fmt.Errorf("campaign.snooze_limit: %d: want 0 (no snoozing) to 20", *s.SnoozeLimit)
		}
		c.SnoozeLimit = *s.SnoozeLimit
	}
	if s.SnoozeDays != nil {
		if *s.SnoozeDays < 1 || *s.SnoozeDays > 60 {
			return c, fmt.Errorf("campaign.snooze_days: %d: want 1 to 60", *s.SnoozeDays)
		}
		c.SnoozeDays = *s.SnoozeDays
	}
	if s.NoticeSMS != nil {
		c.NoticeSMS = *s.NoticeSMS
	}
	seen := map[string]bool{}
	for i, w := range f.Waves {
		where := fmt.Sprintf("wave %d", i+1)
		if w.Name != "" {
			where = fmt.Sprintf("wave %q", w.Name)
		}
		if !waveName.MatchString(w.Name) {
			return c, fmt.Errorf("%s: name: want 1 to 32 lower-case letters, digits, - or _, starting with a letter or digit", where)
		}
		if seen[w.Name] {
			return c, fmt.Errorf("%s: named twice", where)
		}
		seen[w.Name] = true
		if w.Start == nil || w.Deadline == nil {
			return c, fmt.Errorf("%s: needs start and deadline", where)
		}
		if w.Deadline.hasClock {
			return c, fmt.Errorf("%s: deadline: want a date (YYYY-MM-DD); the deadline day is the last day SMS works", where)
		}
		wave := Wave{Name: w.Name, Start: w.Start.in(loc), Deadline: w.Deadline.date()}
		if !wave.Start.Before(wave.Deadline.Time(loc)) {
			return c, fmt.Errorf("%s: start %s is not before the deadline %s", where, wave.Start.Format("2006-01-02 15:04"), wave.Deadline)
		}
		c.Waves = append(c.Waves, wave)
	}
	return c, nil
}

// parseQuietHours reads "22:00-08:00"; "" or "off" means none.
func parseQuietHours(s string) (from, until int, err error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	bad := fmt.Errorf("campaign.quiet_hours %q: want HH:MM-HH:MM such as \"22:00-08:00\", or \"off\"", s)
	if !ok {
		return 0, 0, bad
	}
	minutes := func(v string) (int, bool) {
		t, err := time.Parse("15:04", strings.TrimSpace(v))
		if err != nil {
			return 0, false
		}
		return t.Hour()*60 + t.Minute(), true
	}
	from, ok1 := minutes(a)
	until, ok2 := minutes(b)
	if !ok1 || !ok2 || from == until {
		return 0, 0, bad
	}
	return from, until, nil
}

// fileTime is a date (2026-12-01) or a date and time of day (2026-12-01T09:00), written as a TOML
// date or as a string, in the campaign's time zone.
type fileTime struct {
	t        time.Time // its fields, read in UTC
	hasClock bool
}

// UnmarshalTOML reads a TOML local date or local date-time, or a string of either form.
func (f *fileTime) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case time.Time:
		// The TOML decoder names the zone of a value written without an offset.
		zone := x.Location().String()
		if zone != "date-local" && zone != "datetime-local" {
			return errors.New("want a date or a local date and time, without an offset: times are in --time-zone")
		}
		f.hasClock = zone == "datetime-local"
		f.t = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), 0, 0, time.UTC)
		return nil
	case string:
		for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02 15:04"} {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				f.t, f.hasClock = t, layout != time.DateOnly
				return nil
			}
		}
		return fmt.Errorf("%q: want YYYY-MM-DD or YYYY-MM-DDTHH:MM", x)
	}
	return fmt.Errorf("%v: want a date such as 2026-12-01", v)
}

func (f fileTime) in(loc *time.Location) time.Time {
	return time.Date(f.t.Year(), f.t.Month(), f.t.Day(), f.t.Hour(), f.t.Minute(), 0, 0, loc)
}

func (f fileTime) date() campaign.Date {
	return campaign.Date{Year: f.t.Year(), Month: f.t.Month(), Day: f.t.Day()}
}

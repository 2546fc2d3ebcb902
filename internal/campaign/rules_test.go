package campaign

import (
	"testing"
	"time"
)

// Every deadline rule, one row each: the ways that verify on each day around the deadline, with
// and without --knowledge-suffices, and for an exempt user.
func TestRules_AfterTheDeadline(t *testing.T) {
	r := Rules{GraceDays: 14, Location: shanghai}
	u := User{Deadline: Date{2026, time.December, 31}}
	exempt := u
	exempt.ExemptReason = "service account"
	day := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, shanghai) }
	all := []Way{WayPhone, WayEmail, WayKnowledge, WayAssist, WayPartner}
	cases := []struct {
		name      string
		user      User
		now       time.Time
		knowledge bool // --knowledge-suffices
		phase     Phase
		open      []Way
	}{
		{"a month before", u, day(2026, 12, 1, 10), false, PhaseOpen, []Way{WayPhone, WayEmail, WayAssist, WayPartner}},
		{"a month before, knowledge suffices", u, day(2026, 12, 1, 10), true, PhaseOpen, all},
		{"the deadline day, last minute", u, day(2026, 12, 31, 23).Add(59 * time.Minute), true, PhaseOpen, all},
		{"the day after: grace, SMS closed", u, day(2027, 1, 1, 0), false, PhaseGrace, []Way{WayEmail, WayAssist, WayPartner}},
		{"grace: knowledge alone never suffices", u, day(2027, 1, 1, 0), true, PhaseGrace, []Way{WayEmail, WayAssist, WayPartner}},
		{"the last day of grace", u, day(2027, 1, 14, 23), true, PhaseGrace, []Way{WayEmail, WayAssist, WayPartner}},
		{"after grace: assist or partner only", u, day(2027, 1, 15, 0), true, PhaseClosed, []Way{WayAssist, WayPartner}},
		{"a year after", u, day(2028, 1, 1, 0), false, PhaseClosed, []Way{WayAssist, WayPartner}},
		{"exempt: open after the deadline", exempt, day(2027, 6, 1, 0), false, PhaseOpen, []Way{WayPhone, WayEmail, WayAssist, WayPartner}},
		{"no grace: closed the day after", u, day(2027, 1, 1, 0), false, PhaseClosed, []Way{WayAssist, WayPartner}},
	}
	for _, c := range cases {
		rules := r
		if c.name == "no grace: closed the day after" {
			rules.GraceDays = 0
		}
		if got := rules.Phase(c.user, c.now); got != c.phase {
			t.Errorf("%s: phase %s, want %s", c.name, got, c.phase)
		}
		got := rules.Open(c.user, c.now, c.knowledge)
		if len(got) != len(c.open) {
			t.Errorf("%s: open %v, want %v", c.name, got, c.open)
			continue
		}
		for i := range got {
			if got[i] != c.open[i] {
				t.Errorf("%s: open %v, want %v", c.name, got, c.open)
			}
		}
	}
	if g := r.GraceEnds(u); g.String() != "2027-01-14" {
		t.Errorf("grace ends %s", g)
	}
}

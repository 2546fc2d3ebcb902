package campaign

import "time"

// Phase is where a user stands against their deadline.
type Phase string

// The phases, in order. The deadline day itself is still open: it is the last day SMS works.
const (
	PhaseOpen   Phase = "open"   // up to and including the deadline day: every way verifies
	PhaseGrace  Phase = "grace"  // the grace days after it: SMS closed, other ways still open
	PhaseClosed Phase = "closed" // after the grace: only support's assist code or a partner launch
)

// Way is a way to prove identity before enrollment, as the deadline rules know them.
type Way string

// The ways to verify. WayKnowledge is the knowledge check on its own (--knowledge-suffices);
// followed by an email code it is WayEmail's business.
const (
	WayPhone     Way = "phone"     // a code by SMS
	WayEmail     Way = "email"     // a code by email
	WayKnowledge Way = "knowledge" // registered phone number and ID digits
	WayAssist    Way = "assist"    // an assist code from support
	WayPartner   Way = "partner"   // a signed launch from a partner site
)

// Ways lists every way, in the order pages offer them.
var Ways = []Way{WayPhone, WayEmail, WayKnowledge, WayAssist, WayPartner}

// Rules are the deadline rules of the campaign: after the deadline day the SMS code closes;
// during GraceDays after it the user may still verify by email code, the knowledge check followed
// by an email code, an assist code or a partner launch; after them only by an assist code or a
// partner launch. Exempt users are left alone: for them it stays open.
type Rules struct {
	GraceDays int
	Location  *time.Location // where the deadline's days begin and end
}

func (r Rules) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// Phase tells where u stands at now.
func (r Rules) Phase(u User, now time.Time) Phase {
	if u.Exempt() || u.Deadline.IsZero() {
		return PhaseOpen
	}
	switch left := u.DaysLeft(now, r.loc()); {
	case left >= 0:
		return PhaseOpen
	case left >= -r.GraceDays:
		return PhaseGrace
	}
	return PhaseClosed
}

// GraceEnds returns the last day of u's grace.
func (r Rules) GraceEnds(u User) Date {
	return DateOf(u.Deadline.Time(time.UTC).AddDate(0, 0, r.GraceDays), time.UTC)
}

// Allows reports whether u may verify by way w at now. knowledgeSuffices is the operator's
// choice that the knowledge check alone verifies; it holds only while the phase is open.
func (r Rules) Allows(u User, w Way, now time.Time, knowledgeSuffices bool) bool {
	switch r.Phase(u, now) {
	case PhaseOpen:
		return w != WayKnowledge || knowledgeSuffices
	case PhaseGrace:
		return w == WayEmail || w == WayAssist || w == WayPartner
	}
	return w == WayAssist || w == WayPartner
}

// Open returns the ways u may verify by at now, in the order of Ways.
func (r Rules) Open(u User, now time.Time, knowledgeSuffices bool) []Way {
	var out []Way
	for _, w := range Ways {
		if r.Allows(u, w, now, knowledgeSuffices) {
			out = append(out, w)
		}
	}
	return out
}

// Count is how many users of a wave ("" for none) stand somewhere: in a State, or exempt
// (CountExempt) or out of scope (CountOutOfScope), which count before the state.
type Count struct {
	Wave  string
	State string
	Users int
}

// The places a Count counts besides the states.
const (
	CountExempt     = "exempt"
	CountOutOfScope = "out_of_scope"
)

package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// The deadline rules hold in the verification service: on each side of the deadline and of the
// grace, each way is refused or verifies as campaign.Rules says, for an identified account; an
// unidentified look-up is told nothing, and no code goes out by a closed way.
func TestDeadlineRules_VerificationByPhase(t *testing.T) {
	ctx := context.Background()
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st, func(s *identity.Settings) {
			s.KnowledgeSuffices = true
			s.Rules = campaign.Rules{GraceDays: 14}
		})
		alice := identity.ForUser("alice", true) // deadline 31 December 2026
		looked := identity.ForUser("alice", false)
		day := func(m time.Month, d int) time.Time {
			y := 2026
			if m < time.November {
				y = 2027
			}
			return time.Date(y, m, d, 10, 0, 0, 0, shanghai)
		}
		cases := []struct {
			name              string
			now               time.Time
			phone, email      bool // a code is sent and verifies
			knowledgeVerifies bool
		}{
			{"before the deadline", day(time.December, 1), true, true, true},
			{"on the deadline day", day(time.December, 31), true, true, true},
			{"in the grace days", day(time.January, 5), false, true, false},
			{"after the grace", day(time.January, 20), false, false, false},
		}
		for _, c := range cases {
			f.clk.Set(c.now)
			for _, ch := range []struct {
				m    identity.Method
				open bool
			}{{identity.MethodPhone, c.phone}, {identity.MethodEmail, c.email}} {
				f.clk.Advance(2 * time.Minute) // past the resend wait
				before := f.code("alice", ch.m)
				_, err := f.svc.SendCode(ctx, alice, ch.m, client)
				sent := f.code("alice", ch.m) != before
				if ch.open != (err == nil) || ch.open != sent || (!ch.open && !errors.Is(err, identity.ErrMethodClosed)) {
					t.Errorf("%s: send %s: err %v, sent %v; want open=%v", c.name, ch.m, err, sent, ch.open)
				}
				if !ch.open {
					// A stranger's look-up is told the same as when a code went out, and none does.
					f.clk.Advance(2 * time.Minute)
					if _, err := f.svc.SendCode(ctx, looked, ch.m, client); err != nil || f.code("alice", ch.m) != before {
						t.Errorf("%s: look-up send %s: %v", c.name, ch.m, err)
					}
					continue
				}
				if _, err := f.svc.CheckCode(ctx, alice, ch.m, f.code("alice", ch.m), client); err != nil {
					t.Errorf("%s: check %s: %v", c.name, ch.m, err)
				}
			}
			f.clk.Advance(time.Minute)
			res, err := f.svc.CheckKnowledge(ctx, looked, "13800000001", "123x", client)
			if err != nil || res.Verified != c.knowledgeVerifies {
				t.Errorf("%s: knowledge: verified %v, %v; want %v", c.name, res.Verified, err, c.knowledgeVerifies)
			}
			code, _, err := f.svc.IssueAssistCode(ctx, "alice", "cli", client)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.CheckAssist(ctx, alice, code, client); err != nil {
				t.Errorf("%s: assist code refused: %v", c.name, err)
			}
			if c.name != "on the deadline day" {
				continue
			}
			// A code sent on the deadline day is refused the day after: SMS closed.
			f.clk.Set(day(time.December, 31).Add(13*time.Hour + 55*time.Minute)) // 23:55
			if _, err := f.svc.SendCode(ctx, alice, identity.MethodPhone, client); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(6 * time.Minute) // 00:01, the code still live
			if _, err := f.svc.CheckCode(ctx, alice, identity.MethodPhone, f.code("alice", identity.MethodPhone), client); !errors.Is(err, identity.ErrMethodClosed) {
				t.Errorf("SMS code after the deadline: %v", err)
			}
		}
	})
}

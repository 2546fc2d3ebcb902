package rollout_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// simUser is one user of the simulation and what happens to them.
type simUser struct {
	entry    campaign.RosterEntry
	start    time.Time // their notice is due
	deadline time.Time // the start of their deadline day
	exempt   bool
	retireAt time.Time // they retire SMS then; zero: never
	snoozeAt time.Time // they snooze then; zero: never
}

// recorder is the outbox's channels in the simulation: it keeps what went out and when.
type recorder struct {
	mu   sync.Mutex
	now  func() time.Time
	sent []string // "to template at"
}

func (r *recorder) add(to, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, to+" "+text+" "+r.now().In(shanghai).Format("2006-01-02 15:04"))
}

func (r *recorder) Send(_ context.Context, m sms.Message) error { r.add(m.To, m.Text); return nil }

type recordMail struct{ *recorder }

func (r recordMail) Send(_ context.Context, m mail.Message) error { r.add(m.To, m.Subject); return nil }

// templateName renders a message as its template and days, which is all the simulation reads.
type templateName struct{}

func (templateName) Render(_ context.Context, kind, template, locale string, data map[string]string, secret string) (outbox.Rendered, error) {
	if !strings.HasPrefix(secret, "https://portal.example/notice/") {
		return outbox.Rendered{}, fmt.Errorf("no link in %s", template)
	}
	s := template + " " + data["days"]
	return outbox.Rendered{Subject: s, Text: s}, nil
}

// 1,000 users in 3 waves (and a few without one, who start with the campaign), from before the
// first notice to after the last grace period, with the clock moving an hour at a time and the
// scheduler and the outbox worker running at each step. Some have no email, some their own
// deadline, some are exempt, some retire SMS midway, some snooze. Every notice and reminder goes
// exactly once, to the right users, at the right time, and nothing is sent in the quiet hours.
func TestSimulation_ThousandUsersThreeWavesFromNoticeToPastGrace(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		pilot := config.Wave{Name: "pilot", Start: at(2026, 11, 2, 9), Deadline: date("2026-11-30")}
		early := config.Wave{Name: "early", Start: at(2026, 11, 9, 14), Deadline: date("2026-12-31")}
		all := config.Wave{Name: "all", Start: at(2026, 12, 1, 9), Deadline: date("2027-01-31")}
		c := waveCampaign(pilot, early, all)
		c.Start = at(2026, 11, 16, 9)
		f := newFixture(t, st, c, at(2026, 11, 1, 0))
		wd := c.WaveDeadlines()

		users := make([]*simUser, 0, 1000)
		var entries []campaign.RosterEntry
		for i := range 1000 {
			w := all
			switch {
			case i%10 == 0:
				w = pilot
			case i%10 <= 3:
				w = early
			}
			u := &simUser{start: w.Start, deadline: w.Deadline.Time(shanghai)}
			e := user(fmt.Sprintf("u%04d", i), w.Name, "", wd, i%7 == 0)
			e.Phone = fmt.Sprintf("+86138%08d", i)
			if i%100 == 99 { // no wave: the campaign's start, their own deadline
				e.Wave, e.Deadline, e.DeadlineFromWave = "", date("2027-01-15"), false
				u.start = c.Start
			}
			if i%13 == 2 { // their own deadline, ten days after the wave's
				e.Deadline, e.DeadlineFromWave = campaign.DateOf(w.Deadline.Time(shanghai).AddDate(0, 0, 10), shanghai), false
			}
			u.deadline = e.Deadline.Time(shanghai)
			u.exempt = i%50 == 1
			if i%11 == 3 {
				u.retireAt = u.start.AddDate(0, 0, 5).Add(3 * time.Hour)
			}
			if i%17 == 4 && !u.exempt {
				u.snoozeAt = u.start.AddDate(0, 0, 2).Add(time.Hour)
			}
			u.entry = e
			users = append(users, u)
			entries = append(entries, e)
		}
		f.add(t, entries...)
		for _, u := range users {
			if u.exempt {
				if err := f.svc.Exempt(ctx, u.entry.ID, "on leave", "cli", audit.Client{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		rec := &recorder{now: f.clk.Now}
		worker := &outbox.Worker{Store: st, SMS: rec, Mail: recordMail{rec}, Render: templateName{}, Clock: f.clk}

		end := at(2027, 2, 26, 0) // the last deadline's grace ended on 24 February
		for f.clk.Now().Before(end) {
			f.clk.Advance(time.Hour)
			now := f.clk.Now()
			for _, u := range users {
				if u.retireAt.Equal(now) {
					err := st.InTx(ctx, func(tx *store.Tx) error {
						return tx.SetState(ctx, u.entry.ID, campaign.StateRetired, audit.StateChanged.Event(u.entry.ID, audit.Client{}, now, nil))
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				if u.snoozeAt.Equal(now) {
					if _, err := f.svc.Snooze(ctx, u.entry.ID, audit.Client{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			res := f.run(t)
			if res.Notices+res.Reminders > 0 {
				if _, err := worker.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}

		// What each user should have had: the notice at the start (at 08:00 if it falls in the
		// quiet hours), each reminder after the start that comes before they retire, outside a
		// snooze, and one reminder when the snooze ends; by email, and by SMS for the notice and
		// for users without email.
		sendTime := func(due time.Time) time.Time {
			if quiet, until := c.Quiet(due, shanghai); quiet {
				return until
			}
			return due
		}
		var want []string
		days := func(u *simUser, at time.Time) int {
			return campaign.User{Deadline: u.entry.Deadline}.DaysLeft(at, shanghai)
		}
		for _, u := range users {
			if u.exempt {
				continue
			}
			live := func(at time.Time) bool { return u.retireAt.IsZero() || at.Before(u.retireAt) }
			msg := func(kind, template string, at time.Time) {
				to := u.entry.Email
				if kind == "sms" {
					to = u.entry.Phone
				}
				want = append(want, fmt.Sprintf("%s %s %d %s", to, template, days(u, at), at.Format("2006-01-02 15:04")))
			}
			notice := sendTime(u.start)
			if u.entry.Email != "" {
				msg("email", "campaign.notice", notice)
			}
			msg("sms", "campaign.notice", notice)
			var snoozeEnd time.Time
			if !u.snoozeAt.IsZero() && live(u.snoozeAt) {
				snoozeEnd = u.snoozeAt.AddDate(0, 0, 3)
			}
			for _, d := range []int{30, 7, 1, 0} {
				due := u.deadline.AddDate(0, 0, -d)
				if due.Before(u.start) || !live(sendTime(due)) ||
					(!snoozeEnd.IsZero() && !due.Before(u.snoozeAt) && due.Before(snoozeEnd)) {
					continue
				}
				kind := "email"
				if u.entry.Email == "" {
					kind = "sms"
				}
				msg(kind, "campaign.reminder", sendTime(due))
			}
			if !snoozeEnd.IsZero() && live(snoozeEnd) {
				kind := "email"
				if u.entry.Email == "" {
					kind = "sms"
				}
				msg(kind, "campaign.reminder", sendTime(snoozeEnd))
			}
		}
		got := rec.sent
		sort.Strings(got)
		sort.Strings(want)
		if len(want) < 4000 {
			t.Fatalf("the simulation expects only %d messages", len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			missing, extra := diff(want, got)
			t.Errorf("%d messages sent, want %d\nmissing (%d): %s\nextra (%d): %s", len(got), len(want),
				len(missing), head(missing), len(extra), head(extra))
		}
		for _, s := range f.sent(t) {
			if quiet, _ := c.Quiet(s.at, shanghai); quiet {
				t.Errorf("sent in the quiet hours: %s", s)
			}
		}
		// Everything was claimed once: nothing is due any more.
		if res := f.run(t); res.Users != 0 {
			t.Errorf("after the campaign, a run looked at %d users", res.Users)
		}
	})
}

// diff returns what is in want but not got, and in got but not want (multisets).
func diff(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k)
		}
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func head(s []string) string {
	if len(s) > 10 {
		s = s[:10]
	}
	return strings.Join(s, "\n")
}

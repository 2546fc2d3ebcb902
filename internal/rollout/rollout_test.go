package rollout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var ctx = context.Background()

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a time of day in Shanghai, the campaign's zone in these tests.
func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, shanghai) }

func date(s string) campaign.Date {
	d, err := campaign.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture is a campaign over one store with a fake clock.
type fixture struct {
	st  *store.SQL
	clk *clock.Fake
	svc *rollout.Service
	cfg config.Campaign
}

func newFixture(t testing.TB, st *store.SQL, cfg config.Campaign, now time.Time) *fixture {
	t.Helper()
	clk := clock.NewFake(now)
	svc := rollout.New(st, clk, cfg, shanghai, func(id string) string { return "https://portal.example/notice/tok-" + id }, nil)
	return &fixture{st: st, clk: clk, svc: svc, cfg: cfg}
}

func (f *fixture) add(t testing.TB, entries ...campaign.RosterEntry) {
	t.Helper()
	if _, err := f.st.UpsertUsers(ctx, entries, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
}

// user is a roster row: in wave (its deadline) unless deadline is given, with an email address
// unless noEmail.
func user(id, wave, deadline string, waves map[string]campaign.Date, noEmail bool) campaign.RosterEntry {
	e := campaign.RosterEntry{ID: id, Phone: "+8613800000000", Email: id + "@example.com", Locale: "zh-Hans", Wave: wave}
	if noEmail {
		e.Email = ""
	}
	if deadline != "" {
		e.Deadline = date(deadline)
	} else {
		e.Deadline, e.DeadlineFromWave = waves[wave], true
	}
	return e
}

func (f *fixture) run(t testing.TB) rollout.Result {
	t.Helper()
	res, err := f.svc.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// walk moves the clock by step until end, running the scheduler at each step.
func (f *fixture) walk(t testing.TB, end time.Time, step time.Duration) {
	t.Helper()
	for f.clk.Now().Before(end) {
		f.clk.Advance(step)
		f.run(t)
	}
}

// sent is one message the campaign wrote to the outbox.
type sent struct {
	user, kind, template string
	at                   time.Time
	data                 map[string]string
}

func (f *fixture) sent(t testing.TB) []sent {
	t.Helper()
	items, err := f.st.RecentOutbox(ctx, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	for _, it := range items {
		if it.Kind == store.OutboxEvent {
			continue
		}
		m, err := outbox.DecodeMessage(it.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sent{user: it.UserID, kind: it.Kind, template: m.Template, at: it.CreatedAt, data: m.Data})
	}
	slices.Reverse(out) // oldest first
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// line writes a message as "user kind template days at".
func (s sent) String() string {
	return fmt.Sprintf("%s %s %s days=%s at %s", s.user, s.kind, s.template, s.data["days"], s.at.In(shanghai).Format("2006-01-02 15:04"))
}

func lines(ss []sent) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

func waveCampaign(waves ...config.Wave) config.Campaign {
	c := config.DefaultCampaign()
	c.Waves = waves
	return c
}

// The notice goes when the wave starts, the reminders 30, 7 and 1 days before the deadline and on
// it, each once, each at 08:00 when the quiet hours (22:00–08:00) end, by email, and the notice by
// SMS too while SMS is open.
func TestScheduler_NoticeAtStartRemindersAtOffsetsAfterQuietHours(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		staff := config.Wave{Name: "staff", Start: at(2026, 12, 1, 0), Deadline: date("2027-01-31")}
		f := newFixture(t, st, waveCampaign(staff), at(2026, 11, 30, 12))
		f.add(t, user("u1", "staff", "", f.cfg.WaveDeadlines(), false))
		f.walk(t, at(2027, 2, 3, 0), time.Hour)
		want := []string{
			"u1 email campaign.notice days=61 at 2026-12-01 08:00",
			"u1 sms campaign.notice days=61 at 2026-12-01 08:00",
			"u1 email campaign.reminder days=30 at 2027-01-01 08:00",
			"u1 email campaign.reminder days=7 at 2027-01-24 08:00",
			"u1 email campaign.reminder days=1 at 2027-01-30 08:00",
			"u1 email campaign.reminder days=0 at 2027-01-31 08:00",
		}
		if got := lines(f.sent(t)); !slices.Equal(got, want) {
			t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		touches, err := st.CampaignTouchesSent(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(touches) != 5 {
			t.Errorf("touches: %+v", touches)
		}
		// The history says so, in the transaction of each send.
		events, _ := st.Events(ctx, "u1", 100)
		var kinds []string
		for _, e := range events {
			if e.Type == audit.CampaignNotice || e.Type == audit.CampaignReminder {
				kinds = append(kinds, string(e.Type)+" "+e.Detail["days"]+" "+e.Detail["channels"])
			}
		}
		slices.Reverse(kinds)
		wantKinds := []string{"campaign.notice_sent  email,sms", "campaign.reminder_sent 30 email", "campaign.reminder_sent 7 email",
			"campaign.reminder_sent 1 email", "campaign.reminder_sent 0 email"}
		if !slices.Equal(kinds, wantKinds) {
			t.Errorf("history: %q, want %q", kinds, wantKinds)
		}
	})
}

// A run in the quiet hours sends nothing; what is due waits for 08:00. Quiet hours across
// midnight and within a day both hold.
func TestScheduler_QuietHoursHoldMessages(t *testing.T) {
	c := config.DefaultCampaign()
	cases := []struct {
		at    time.Time
		quiet bool
		until string
	}{
		{at(2026, 12, 1, 21), false, ""},
		{at(2026, 12, 1, 22), true, "2026-12-02 08:00"},
		{at(2026, 12, 2, 3), true, "2026-12-02 08:00"},
		{at(2026, 12, 2, 7).Add(59 * time.Minute), true, "2026-12-02 08:00"},
		{at(2026, 12, 2, 8), false, ""},
	}
	for _, tc := range cases {
		quiet, until := c.Quiet(tc.at, shanghai)
		if quiet != tc.quiet || (quiet && until.In(shanghai).Format("2006-01-02 15:04") != tc.until) {
			t.Errorf("Quiet(%s) = %v, %s", tc.at, quiet, until)
		}
	}
	lunch := config.DefaultCampaign()
	lunch.QuietFrom, lunch.QuietUntil = 12*60, 14*60
	if q, _ := lunch.Quiet(at(2026, 12, 1, 13), shanghai); !q {
		t.Error("13:00 not quiet in 12:00–14:00")
	}
	if q, _ := lunch.Quiet(at(2026, 12, 1, 23), shanghai); q {
		t.Error("23:00 quiet in 12:00–14:00")
	}

	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		w := config.Wave{Name: "all", Start: at(2026, 12, 1, 22), Deadline: date("2027-03-01")}
		f := newFixture(t, st, waveCampaign(w), at(2026, 12, 1, 23))
		f.add(t, user("u1", "all", "", f.cfg.WaveDeadlines(), false))
		for _, h := range []int{23, 24, 27, 31} { // 23:00 … 07:00
			f.clk.Set(at(2026, 12, 1, h))
			if res := f.run(t); res.Notices != 0 {
				t.Fatalf("sent at %s in the quiet hours", f.clk.Now())
			}
		}
		f.clk.Set(at(2026, 12, 2, 8))
		if res := f.run(t); res.Notices != 1 {
			t.Fatalf("at 08:00: %+v", res)
		}
	})
}

// Each wave starts on its own day; users without a wave hear from the campaign's start, or not at
// all; a row's own deadline beats its wave's; exempt, out-of-scope and retired users get nothing.
func TestScheduler_WavesExemptAndRetiredUsers(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		staff := config.Wave{Name: "staff", Start: at(2026, 12, 1, 9), Deadline: date("2027-01-15")}
		rest := config.Wave{Name: "rest", Start: at(2026, 12, 10, 9), Deadline: date("2027-02-28")}
		c := waveCampaign(staff, rest)
		c.ReminderDays = []int{7}
		f := newFixture(t, st, c, at(2026, 11, 30, 12))
		wd := c.WaveDeadlines()
		f.add(t,
			user("staff1", "staff", "", wd, false),
			user("rest1", "rest", "", wd, false),
			user("own", "rest", "2027-01-20", wd, true), // no email: SMS, its own deadline
			user("nowave", "", "2027-01-20", wd, false), // no campaign start: nothing
			user("exempt", "staff", "", wd, false),
			user("retired", "staff", "", wd, false),
			user("gone", "staff", "", wd, false),
		)
		if err := f.svc.Exempt(ctx, "exempt", "shared service account", "cli", audit.Client{IP: "cli"}); err != nil {
			t.Fatal(err)
		}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetState(ctx, "retired", campaign.StateRetired, audit.StateChanged.Event("retired", audit.Client{}, f.clk.Now(), nil))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.TakeOutOfScope(ctx, []string{"gone"}, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		f.walk(t, at(2027, 3, 2, 0), time.Hour)
		want := []string{
			"staff1 email campaign.notice days=45 at 2026-12-01 09:00",
			"staff1 sms campaign.notice days=45 at 2026-12-01 09:00",
			"own sms campaign.notice days=41 at 2026-12-10 09:00",
			"rest1 email campaign.notice days=80 at 2026-12-10 09:00",
			"rest1 sms campaign.notice days=80 at 2026-12-10 09:00",
			"staff1 email campaign.reminder days=7 at 2027-01-08 08:00",
			"own sms campaign.reminder days=7 at 2027-01-13 08:00",
			"staff1 email campaign.reminder days=0 at 2027-01-15 08:00",
			"own sms campaign.reminder days=0 at 2027-01-20 08:00",
			"rest1 email campaign.reminder days=7 at 2027-02-21 08:00",
			"rest1 email campaign.reminder days=0 at 2027-02-28 08:00",
		}
		got := lines(f.sent(t))
		// By time, and users sent to at one time by name.
		key := func(l string) string { return l[strings.Index(l, " at ")+4:] + l }
		sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
		if !slices.Equal(got, want) {
			t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// Counts by wave and where users stand.
		counts, err := f.svc.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]int{}
		for _, c := range counts {
			byKey[c.Wave+"/"+c.State] = c.Users
		}
		wantCounts := map[string]int{"staff/notified": 1, "staff/exempt": 1, "staff/retired": 1, "staff/out_of_scope": 1,
			"rest/notified": 2, "/notified": 1}
		if fmt.Sprint(byKey) != fmt.Sprint(wantCounts) {
			t.Errorf("counts %v, want %v", byKey, wantCounts)
		}
	})
}

// A wave that starts after some reminder days sends the notice alone: the reminders already due
// are skipped, not sent in a burst. A scheduler that was stopped sends only the latest reminder
// due when it comes back.
func TestScheduler_LateStartAndCatchUpSendOneMessage(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		late := config.Wave{Name: "late", Start: at(2027, 1, 26, 9), Deadline: date("2027-01-31")} // after the 30 and 7 days
		f := newFixture(t, st, waveCampaign(late), at(2027, 1, 26, 10))
		f.add(t, user("u1", "late", "", f.cfg.WaveDeadlines(), false), user("u2", "", "2027-01-31", nil, false))
		res := f.run(t)
		if res.Notices != 1 || res.Skipped != 2 || res.Reminders != 0 {
			t.Fatalf("first run: %+v", res)
		}
		// Stopped from the 26th until the deadline day at noon: the 1-day reminder is skipped, the
		// deadline day's goes.
		f.clk.Set(at(2027, 1, 31, 12))
		res = f.run(t)
		if res.Reminders != 1 || res.Skipped != 1 {
			t.Fatalf("after the stop: %+v", res)
		}
		f.walk(t, at(2027, 2, 20, 0), 6*time.Hour)
		got := lines(f.sent(t))
		want := []string{
			"u1 email campaign.notice days=5 at 2027-01-26 10:00",
			"u1 sms campaign.notice days=5 at 2027-01-26 10:00",
			"u1 email campaign.reminder days=0 at 2027-01-31 12:00",
		}
		if !slices.Equal(got, want) {
			t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A changed configuration plans every user again: a wave moved later sends its notice at the new
// start, and users whose deadline is the wave's get the new deadline.
func TestScheduler_ChangedConfigurationPlansAgain(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		w := config.Wave{Name: "w", Start: at(2026, 12, 5, 9), Deadline: date("2027-01-31")}
		f := newFixture(t, st, waveCampaign(w), at(2026, 12, 1, 9))
		f.add(t, user("u1", "w", "", f.cfg.WaveDeadlines(), false), user("u2", "w", "2027-03-01", f.cfg.WaveDeadlines(), false))
		f.run(t)
		moved := config.Wave{Name: "w", Start: at(2026, 12, 8, 9), Deadline: date("2027-02-28")}
		f2 := newFixture(t, st, waveCampaign(moved), at(2026, 12, 6, 9))
		f2.walk(t, at(2026, 12, 9, 0), time.Hour)
		u1, _ := st.UserByID(ctx, "u1")
		u2, _ := st.UserByID(ctx, "u2")
		if u1.Deadline.String() != "2027-02-28" || u2.Deadline.String() != "2027-03-01" {
			t.Errorf("deadlines %s, %s", u1.Deadline, u2.Deadline)
		}
		got := lines(f2.sent(t))
		if len(got) != 4 || !strings.HasSuffix(got[0], "at 2026-12-08 09:00") {
			t.Errorf("sent:\n%s", strings.Join(got, "\n"))
		}
	})
}

func TestScheduler_PayloadCarriesTheSignedLinkSealed(t *testing.T) {
	st := testsupport.SQLite(t)
	w := config.Wave{Name: "w", Start: at(2026, 12, 5, 9), Deadline: date("2027-01-31")}
	f := newFixture(t, st, waveCampaign(w), at(2026, 12, 5, 10))
	f.add(t, user("u1", "w", "", f.cfg.WaveDeadlines(), false))
	f.run(t)
	var payload string
	var sealed []byte
	if err := st.DB().QueryRow(`SELECT payload, secret FROM outbox WHERE kind = 'sms'`).Scan(&payload, &sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(payload, "tok-u1") || len(sealed) == 0 {
		t.Errorf("link stored in the clear: %s", payload)
	}
	items, err := st.ClaimOutbox(ctx, store.OutboxClaim{Now: f.clk.Now(), Kind: store.OutboxSMS, Limit: 1, Lease: time.Minute, Owner: "t"})
	if err != nil || len(items) != 1 || items[0].Secret != "https://portal.example/notice/tok-u1" {
		t.Fatalf("claimed %+v, %v", items, err)
	}
	var m outbox.Message
	json.Unmarshal(items[0].Payload, &m)
	if m.Data["deadline"] != "2027-01-31" || m.Data["phase"] != "open" || m.Locale != "zh-Hans" {
		t.Errorf("data %+v", m)
	}
}

package rollout_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// Two instances on one PostgreSQL, each with many schedulers, all running at once as the wave
// starts and at each reminder: every user gets each notice and reminder once.
func TestScheduler_AtMostOnceWithManySchedulersOnPostgres(t *testing.T) {
	a, b := testsupport.PostgresPair(t)
	w := config.Wave{Name: "w", Start: at(2026, 12, 1, 9), Deadline: date("2026-12-31")}
	c := waveCampaign(w)
	first := newFixture(t, a, c, at(2026, 12, 1, 9))
	var entries []campaign.RosterEntry
	for i := range 300 {
		entries = append(entries, user(fmt.Sprintf("u%03d", i), "w", "", c.WaveDeadlines(), i%3 == 0))
	}
	first.add(t, entries...)
	const schedulers = 60
	services := make([]*rollout.Service, schedulers)
	for i := range services {
		st := a
		if i%2 == 1 {
			st = b // the other instance
		}
		svc := rollout.New(st, first.clk, c, shanghai, func(id string) string { return "https://portal.example/n/" + id }, nil)
		svc.Batch = 7 // small batches: many transactions interleave
		services[i] = svc
	}
	race := func() {
		var wg sync.WaitGroup
		errs := make(chan error, schedulers)
		for _, svc := range services {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.RunOnce(ctx); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	for _, now := range []time.Time{at(2026, 12, 1, 9), at(2026, 12, 1, 10), at(2026, 12, 24, 8), at(2026, 12, 30, 8), at(2026, 12, 31, 8), at(2026, 12, 31, 9)} {
		first.clk.Set(now)
		race()
	}
	// Per user: one notice (email and SMS, or SMS alone), and one reminder 7 days, 1 day and 0
	// days before; the 30-day reminder fell before the start and was skipped.
	perUser := map[string]map[string]int{}
	for _, s := range first.sent(t) {
		if perUser[s.user] == nil {
			perUser[s.user] = map[string]int{}
		}
		perUser[s.user][s.kind+" "+s.template+" "+s.data["days"]]++
	}
	if len(perUser) != len(entries) {
		t.Fatalf("%d users got messages, want %d", len(perUser), len(entries))
	}
	for _, e := range entries {
		want := map[string]int{"email campaign.notice 30": 1, "sms campaign.notice 30": 1, "email campaign.reminder 7": 1,
			"email campaign.reminder 1": 1, "email campaign.reminder 0": 1}
		if e.Email == "" {
			want = map[string]int{"sms campaign.notice 30": 1, "sms campaign.reminder 7": 1, "sms campaign.reminder 1": 1, "sms campaign.reminder 0": 1}
		}
		if fmt.Sprint(perUser[e.ID]) != fmt.Sprint(want) {
			t.Errorf("%s got %v, want %v", e.ID, perUser[e.ID], want)
		}
	}
	touches, err := a.CampaignTouchesSent(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(touches) != 5*len(entries) {
		t.Errorf("%d touches claimed, want %d", len(touches), 5*len(entries))
	}
}

// The claim itself holds under 60 parallel claims of one touch, on both stores: one wins.
func TestClaimTouch_OneOfManyParallelClaimsWins(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st, config.DefaultCampaign(), at(2026, 12, 1, 9))
		f.add(t, user("u1", "", "2027-01-01", nil, false))
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, failed := 0, 0
		for range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := st.InTx(ctx, func(tx *store.Tx) error {
					ok, err := tx.ClaimTouch(ctx, "u1", "reminder:7", store.TouchSent, f.clk.Now(), f.clk.Now())
					if err == nil && ok {
						mu.Lock()
						won++
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					t.Log(err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || failed != 0 {
			t.Errorf("%d claims won, %d failed; want 1 and 0", won, failed)
		}
	})
}

// At most snooze_limit snoozes, each snooze_days long and never past the start of the deadline
// day, none on the deadline day; each in the history. Parallel requests take no more than the
// limit.
func TestSnooze_Limits(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st, config.DefaultCampaign(), at(2026, 12, 1, 10))
		f.add(t, user("u1", "", "2026-12-20", nil, false), user("u2", "", "2026-12-03", nil, false),
			user("u3", "", "2026-12-01", nil, false), user("par", "", "2027-06-01", nil, false))
		c := audit.Client{IP: "192.0.2.1", UserAgent: "test"}
		if o := f.svc.SnoozeOffer(mustUser(t, st, "u1"), f.clk.Now()); !o.Allowed || o.Left != 3 || o.Days != 3 {
			t.Fatalf("offer %+v", o)
		}
		for i := 1; i <= 3; i++ {
			s, err := f.svc.Snooze(ctx, "u1", c)
			if err != nil {
				t.Fatalf("snooze %d: %v", i, err)
			}
			if want := f.clk.Now().AddDate(0, 0, 3); !s.Until.Equal(want) || s.Count != i || s.Left != 3-i {
				t.Errorf("snooze %d: %+v, want until %s", i, s, want)
			}
			f.clk.Advance(24 * time.Hour)
		}
		if _, err := f.svc.Snooze(ctx, "u1", c); !errors.Is(err, rollout.ErrSnoozeLimit) {
			t.Errorf("fourth snooze: %v", err)
		}
		if o := f.svc.SnoozeOffer(mustUser(t, st, "u1"), f.clk.Now()); o.Allowed || o.Left != 0 || o.Until.IsZero() {
			t.Errorf("offer after the limit: %+v", o)
		}
		events, _ := st.Events(ctx, "u1", 20)
		n := 0
		for _, e := range events {
			if e.Type == audit.CampaignSnoozed {
				n++
				if e.IP != c.IP || e.Detail["until"] == "" {
					t.Errorf("history entry %+v", e)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d snoozes in the history, want 3", n)
		}
		// Never past the deadline: 2 days before it, the snooze ends when the deadline day begins.
		f.clk.Set(at(2026, 12, 1, 10))
		s, err := f.svc.Snooze(ctx, "u2", c)
		if err != nil || !s.Until.Equal(at(2026, 12, 3, 0)) {
			t.Errorf("snooze before the deadline: %+v, %v", s, err)
		}
		// On the deadline day: refused.
		if _, err := f.svc.Snooze(ctx, "u3", c); !errors.Is(err, rollout.ErrSnoozeTooLate) {
			t.Errorf("snooze on the deadline day: %v", err)
		}
		if _, err := f.svc.Snooze(ctx, "nobody", c); !errors.Is(err, campaign.ErrUserNotFound) {
			t.Errorf("snooze of an unknown user: %v", err)
		}
		// 30 at once: 3 succeed.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, limited := 0, 0
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.Snooze(ctx, "par", c)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, rollout.ErrSnoozeLimit):
					limited++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 3 || limited != 27 {
			t.Errorf("%d parallel snoozes taken, %d refused; want 3 and 27", ok, limited)
		}
	})
}

// While a snooze runs no reminder goes; when it runs out one reminder goes, and the reminders that
// fell due meanwhile are skipped.
func TestSnooze_HoldsRemindersThenRemindsOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		w := config.Wave{Name: "w", Start: at(2026, 12, 1, 9), Deadline: date("2026-12-31")}
		f := newFixture(t, st, waveCampaign(w), at(2026, 12, 1, 9))
		f.add(t, user("u1", "w", "", f.cfg.WaveDeadlines(), false))
		f.run(t) // the notice
		f.clk.Set(at(2026, 12, 22, 12))
		if _, err := f.svc.Snooze(ctx, "u1", audit.Client{}); err != nil { // until the 25th, 12:00: over the 7-day reminder
			t.Fatal(err)
		}
		f.walk(t, at(2027, 1, 2, 0), time.Hour)
		var got []string
		for _, s := range f.sent(t) {
			if s.kind == "email" {
				got = append(got, s.String())
			}
		}
		want := []string{
			"u1 email campaign.notice days=30 at 2026-12-01 09:00",
			"u1 email campaign.reminder days=6 at 2026-12-25 12:00",
			"u1 email campaign.reminder days=1 at 2026-12-30 08:00",
			"u1 email campaign.reminder days=0 at 2026-12-31 08:00",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("sent:\n%v\nwant:\n%v", got, want)
		}
		touches, _ := st.CampaignTouchesSent(ctx, "u1")
		status := map[string]string{}
		for _, tc := range touches {
			status[tc.Touch] = tc.Status
		}
		if status["reminder:7"] != store.TouchSkipped || status["snooze:1"] != store.TouchSent || status["reminder:30"] != store.TouchSkipped {
			t.Errorf("touches %v", status)
		}
	})
}

func mustUser(t testing.TB, st *store.SQL, id string) campaign.User {
	t.Helper()
	u, err := st.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// "Remind me later" on the way to a service counts in the same snoozes as the campaign's, against
// the sign-in's own limit, and is recorded as the sign-in's choice naming the service; 60 at once
// on two instances take no more than the limit.
func TestSnoozeSignIn_SharesTheCountWithItsOwnLimit(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		f := newFixture(t, stores[0], config.DefaultCampaign(), at(2026, 12, 1, 10))
		f.add(t, user("u1", "", "2027-06-01", nil, false), user("par", "", "2027-06-01", nil, false))
		c := audit.Client{IP: "192.0.2.1", UserAgent: "test"}
		if _, err := f.svc.Snooze(ctx, "u1", c); err != nil { // one from the notice page
			t.Fatal(err)
		}
		if o := f.svc.SignInOffer(mustUser(t, stores[0], "u1"), f.clk.Now(), 2); !o.Allowed || o.Left != 1 {
			t.Errorf("sign-in offer after one campaign snooze, limit 2: %+v, want 1 left", o)
		}
		s, err := f.svc.SnoozeSignIn(ctx, "u1", 2, "shop", c)
		if err != nil || s.Count != 2 || s.Left != 0 {
			t.Fatalf("sign-in snooze: %+v, %v", s, err)
		}
		if _, err := f.svc.SnoozeSignIn(ctx, "u1", 2, "shop", c); !errors.Is(err, rollout.ErrSnoozeLimit) {
			t.Errorf("a third snooze with the sign-in's limit 2: %v", err)
		}
		events, _ := stores[0].Events(ctx, "u1", 20)
		if !slices.ContainsFunc(events, func(e audit.Event) bool {
			return e.Type == audit.NudgeLater && e.Detail["client"] == "shop" && e.Detail["count"] == "2" && e.Detail["max"] == "2"
		}) {
			t.Errorf("no sign-in snooze naming the shop in the history: %+v", events)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := rollout.New(stores[i%len(stores)], f.clk, config.DefaultCampaign(), shanghai, func(string) string { return "" }, nil)
				_, err := svc.SnoozeSignIn(ctx, "par", 3, "shop", c)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if !errors.Is(err, rollout.ErrSnoozeLimit) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 3 {
			t.Errorf("%d of 60 parallel sign-in snoozes taken, want 3", ok)
		}
	})
}

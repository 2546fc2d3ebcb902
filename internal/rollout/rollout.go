// Package rollout runs the campaign over time: when a user's wave starts it sends the notice (by
// email, and by SMS with the signed link while SMS is open), then reminders before the deadline
// and on the deadline day, to users who have not retired SMS, outside the quiet hours. Users may
// put reminders off (Snooze); operators may exempt users (Exempt). Counts says how many users
// stand where, by wave.
//
// Each notice or reminder a user is due is a touch: "notice", "reminder:N" (N days before the
// deadline, 0 on the deadline day) or "snooze:K" (the K-th snooze running out). A touch is
// claimed once per user in the database (campaign_sends' primary key), in the transaction that
// writes its messages to the outbox, so it goes out at most once however many schedulers run.
// Each user carries when the scheduler looks at them next (users.campaign_due_at, indexed), so a
// run reads only the users something is due for, however large the roster.
package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/store"
)

// Defaults of a Service.
const (
	// DefaultInterval is how often Run looks for users something is due for.
	DefaultInterval = time.Minute
	// DefaultBatch is how many users one transaction of a run looks at.
	DefaultBatch = 500
	// CountsTTL is how long Counts answers from its last reading of the database.
	CountsTTL = 15 * time.Second
)

// Service runs the campaign. Build it once (internal/app); Run runs in `smsretire serve`.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	cfg      config.Campaign
	loc      *time.Location
	rules    campaign.Rules
	link     func(userID string) string
	log      *slog.Logger
	Batch    int           // users per transaction (DefaultBatch)
	Interval time.Duration // between runs (DefaultInterval)

	countsMu sync.Mutex
	counts   []campaign.Count
	countsAt time.Time
}

// New returns the campaign's service. link makes a user's signed notice URL, which the notice
// and reminders carry.
func New(st *store.SQL, clk clock.Clock, cfg config.Campaign, loc *time.Location, link func(userID string) string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, clock: clk, cfg: cfg, loc: loc, link: link, log: log,
		rules: campaign.Rules{GraceDays: cfg.GraceDays, Location: loc}, Batch: DefaultBatch, Interval: DefaultInterval}
}

// Rules returns the deadline rules the service applies.
func (s *Service) Rules() campaign.Rules { return s.rules }

// Config returns the campaign's configuration.
func (s *Service) Config() config.Campaign { return s.cfg }

// Touch kinds.
const (
	kindNotice   = "notice"
	kindReminder = "reminder"
	kindSnooze   = "snooze"
)

// touch is one notice or reminder a user is due at a time.
type touch struct {
	name string // notice, reminder:N, snooze:K
	kind string
	due  time.Time
	days int // of a reminder: days before the deadline
}

// Start returns when u's notice is due: their wave's start, else the campaign's; zero when
// neither is configured (or the wave is no longer), and then the campaign sends u nothing but
// the reminder they asked for with a snooze.
func (s *Service) Start(u campaign.User) time.Time {
	if u.Wave != "" {
		w, ok := s.cfg.Wave(u.Wave)
		if !ok {
			return time.Time{}
		}
		return w.Start
	}
	return s.cfg.Start
}

// deadlineStart is the beginning of u's deadline day; the deadline day's reminder is due then.
func (s *Service) deadlineStart(u campaign.User) time.Time { return u.Deadline.Time(s.loc) }

// deadlineEnd is the end of u's deadline day: reminders later than this are too late to help.
func (s *Service) deadlineEnd(u campaign.User) time.Time {
	return u.Deadline.Time(s.loc).AddDate(0, 0, 1)
}

// touches lists every touch u is due in the campaign, in no particular order.
func (s *Service) touches(u campaign.User) []touch {
	var out []touch
	if start := s.Start(u); !start.IsZero() {
		out = append(out, touch{name: kindNotice, kind: kindNotice, due: start})
		for _, d := range append(slices.Clone(s.cfg.ReminderDays), 0) {
			out = append(out, touch{name: kindReminder + ":" + strconv.Itoa(d), kind: kindReminder,
				due: s.deadlineStart(u).AddDate(0, 0, -d), days: d})
		}
	}
	if u.Snoozes > 0 && !u.SnoozedUntil.IsZero() {
		out = append(out, touch{name: kindSnooze + ":" + strconv.Itoa(u.Snoozes), kind: kindSnooze, due: u.SnoozedUntil})
	}
	return out
}

// eligible reports whether the campaign may write to u at all: in scope, not exempt, and SMS
// not yet retired.
func eligible(u campaign.User) bool {
	return u.InScope() && u.State != campaign.StateRetired
}

// decision is what a run does for one user: the touch it sends (none when send.name is ""),
// those it skips, and when it looks at the user next (zero: never).
type decision struct {
	send touch
	skip []touch
	next time.Time
}

// decide works out what is due for u at now, given the touches claimed already. The notice goes
// first: reminders wait for it, and those due by the time it goes are skipped. Of several
// touches due at once (the scheduler was stopped, or a snooze ran out) only the latest goes and
// the others are skipped. Reminders are too late once the deadline day has passed. While a
// snooze runs nothing goes.
func (s *Service) decide(u campaign.User, claimed map[string]bool, now time.Time) decision {
	if !eligible(u) {
		return decision{}
	}
	if u.SnoozedUntil.After(now) {
		return decision{next: u.SnoozedUntil}
	}
	var open []touch // not yet claimed
	var notice *touch
	for _, t := range s.touches(u) {
		if claimed[t.name] {
			continue
		}
		open = append(open, t)
		if t.kind == kindNotice {
			notice = &open[len(open)-1]
		}
	}
	late := !now.Before(s.deadlineEnd(u))
	var d decision
	decided := map[string]bool{}
	switch {
	case notice != nil && !notice.due.After(now):
		d.send = *notice
		for _, t := range open {
			if t.kind != kindNotice && !t.due.After(now) {
				d.skip = append(d.skip, t) // the notice says it all
			}
		}
	default:
		for _, t := range open {
			if t.due.After(now) || (t.kind == kindReminder && notice != nil) {
				continue // not yet; or waits for the notice, which is not yet due
			}
			switch {
			case late:
				d.skip = append(d.skip, t)
			case d.send.name == "" || t.due.After(d.send.due) || (t.due.Equal(d.send.due) && t.kind == kindReminder):
				if d.send.name != "" {
					d.skip = append(d.skip, d.send)
				}
				d.send = t
			default:
				d.skip = append(d.skip, t)
			}
		}
	}
	decided[d.send.name] = true
	for _, t := range d.skip {
		decided[t.name] = true
	}
	noticeWaits := notice != nil && d.send.kind != kindNotice
	for _, t := range open {
		if decided[t.name] || !t.due.After(now) {
			continue
		}
		if t.kind == kindReminder && noticeWaits {
			continue // looked at again when the notice goes
		}
		if t.kind != kindNotice && !t.due.Before(s.deadlineEnd(u)) {
			continue // would be too late
		}
		if d.next.IsZero() || t.due.Before(d.next) {
			d.next = t.due
		}
	}
	return d
}

// Result counts what a run did.
type Result struct {
	Notices   int // users sent their notice
	Reminders int // users sent a reminder (after a snooze too)
	Skipped   int // touches passed over: a later one went instead, or too late
	Users     int // users looked at
}

func (r *Result) add(o Result) {
	r.Notices += o.Notices
	r.Reminders += o.Reminders
	r.Skipped += o.Skipped
	r.Users += o.Users
}

// RunOnce sends every notice and reminder due now, a batch of users per transaction, and
// returns what it did. In the quiet hours it sends nothing: what is due waits until they end.
// Several schedulers may run at once, on one instance or many: each touch is claimed once.
func (s *Service) RunOnce(ctx context.Context) (Result, error) {
	var total Result
	if err := s.ensurePlan(ctx); err != nil {
		return total, err
	}
	for {
		now := s.clock.Now()
		if quiet, _ := s.cfg.Quiet(now, s.loc); quiet {
			return total, nil
		}
		res, err := s.runBatch(ctx, now)
		total.add(res)
		if err != nil {
			return total, err
		}
		if res.Users < s.batch() || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

func (s *Service) batch() int {
	if s.Batch < 1 {
		return DefaultBatch
	}
	return s.Batch
}

// runBatch looks at one batch of due users in one transaction.
func (s *Service) runBatch(ctx context.Context, now time.Time) (Result, error) {
	var res Result
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		res = Result{}
		users, err := tx.DueCampaignUsers(ctx, now, s.batch())
		if err != nil {
			return err
		}
		res.Users = len(users)
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		claimed, err := tx.CampaignTouches(ctx, ids)
		if err != nil {
			return err
		}
		for _, u := range users {
			d := s.decide(u, claimed[u.ID], now)
			for _, t := range d.skip {
				ok, err := tx.ClaimTouch(ctx, u.ID, t.name, store.TouchSkipped, t.due, now)
				if err != nil {
					return err
				}
				if ok {
					res.Skipped++
				}
			}
			if d.send.name != "" {
				sent, err := s.send(ctx, tx, u, d.send, now)
				if err != nil {
					return err
				}
				switch {
				case !sent:
				case d.send.kind == kindNotice:
					res.Notices++
				default:
					res.Reminders++
				}
			}
			if err := tx.SetCampaignDue(ctx, u.ID, d.next); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// send claims touch t of u and writes its messages and history entry in tx. It reports false
// when another scheduler claimed it first: then nothing is written.
func (s *Service) send(ctx context.Context, tx *store.Tx, u campaign.User, t touch, now time.Time) (bool, error) {
	items, channels := s.messages(u, t, now)
	status := store.TouchSent
	if len(items) == 0 {
		status = store.TouchSkipped // no address to write to, or SMS closed and no email
	}
	ok, err := tx.ClaimTouch(ctx, u.ID, t.name, status, t.due, now)
	if err != nil || !ok || len(items) == 0 {
		return false, err
	}
	for _, it := range items {
		if _, err := tx.EnqueueOutbox(ctx, it); err != nil {
			return false, err
		}
	}
	detail := map[string]string{"touch": t.name, "channels": strings.Join(channels, ",")}
	typ := audit.CampaignNotice
	if t.kind != kindNotice {
		typ = audit.CampaignReminder
		detail["days"] = strconv.Itoa(max(u.DaysLeft(now, s.loc), 0))
	}
	ev := typ.Event(u.ID, audit.Client{}, now, detail)
	ev.Actor = "system"
	return true, tx.AppendEvent(ctx, ev)
}

// ensurePlan plans every user again when the campaign's configuration differs from the one they
// were planned with: waves, starts, deadlines, reminder days, the time zone.
func (s *Service) ensurePlan(ctx context.Context) error {
	fp := s.fingerprint()
	stored, err := s.st.CampaignPlan(ctx)
	if err != nil {
		return err
	}
	if stored == fp {
		return nil
	}
	n, err := s.st.Replan(ctx, fp, s.cfg.WaveDeadlines(), s.clock.Now())
	if err != nil {
		return err
	}
	s.log.Info("campaign: configuration changed; every user planned again", "users", n, "waves", len(s.cfg.Waves))
	return nil
}

// fingerprint sums up what the users' planned times depend on.
func (s *Service) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "tz=%s start=%d days=%v\n", s.loc, s.cfg.Start.Unix(), s.cfg.ReminderDays)
	for _, w := range s.cfg.Waves {
		fmt.Fprintf(h, "wave=%s start=%d deadline=%s\n", w.Name, w.Start.Unix(), w.Deadline)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Run runs the scheduler until ctx ends: at once, then every Interval. Errors are logged; none
// stops it.
func (s *Service) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	s.log.Info("campaign scheduler started", "waves", len(s.cfg.Waves), "interval", interval.String())
	defer s.log.Info("campaign scheduler stopped")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("campaign scheduler", "err", err)
		}
		if res.Notices+res.Reminders+res.Skipped > 0 {
			s.log.Info("campaign: notices and reminders sent", "notices", res.Notices, "reminders", res.Reminders,
				"skipped", res.Skipped, "users", res.Users)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Counts returns how many users stand where, by wave (campaign.Count), as of at most CountsTTL
// ago: one reading of an index serves the metrics and the staff dashboard however often they ask.
func (s *Service) Counts(ctx context.Context) ([]campaign.Count, error) {
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	now := s.clock.Now()
	if s.counts != nil && now.Sub(s.countsAt) < CountsTTL && !now.Before(s.countsAt) {
		return s.counts, nil
	}
	c, err := s.st.UserCounts(ctx)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = []campaign.Count{}
	}
	s.counts, s.countsAt = c, now
	return c, nil
}

// ErrNotFound reports a user the roster does not hold.
var ErrNotFound = campaign.ErrUserNotFound

// ErrReason refuses an exemption without a reason, or with one longer than 200 characters.
var ErrReason = errors.New("exempt: give a reason of 1 to 200 characters")

// Exempt leaves a user out of the campaign, with the reason in their history: no notice, no
// reminder, and SMS stays open for them after the deadline. actor says who did it ("cli",
// "staff:NAME"). Exempting again with another reason records the new reason.
func (s *Service) Exempt(ctx context.Context, userID, reason, actor string, c audit.Client) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 200 {
		return ErrReason
	}
	return s.setExempt(ctx, userID, reason, actor, c)
}

// LiftExemption brings an exempt user back into the campaign.
func (s *Service) LiftExemption(ctx context.Context, userID, actor string, c audit.Client) error {
	return s.setExempt(ctx, userID, "", actor, c)
}

func (s *Service) setExempt(ctx context.Context, userID, reason, actor string, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByID(ctx, userID); err != nil {
			return err
		}
		changed, err := tx.SetExempt(ctx, userID, reason, now)
		if err != nil || !changed {
			return err
		}
		ev := audit.CampaignExempted.Event(userID, c, now, map[string]string{"reason": reason})
		if reason == "" {
			ev = audit.CampaignRejoined.Event(userID, c, now, nil)
		}
		ev.Actor = actor
		return tx.AppendEvent(ctx, ev)
	})
}

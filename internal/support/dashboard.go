package support

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
)

// Count is one figure of the dashboard: how many of something, named by Key.
type Count struct {
	Key string
	N   int
}

// Day is the SMS retirements of one day.
type Day struct {
	Date campaign.Date
	N    int
}

// ChartDays is how many days the chart of retirements shows, today included.
const ChartDays = 30

// Dashboard is the campaign at a glance.
type Dashboard struct {
	At           time.Time // when the figures were read
	Users        int
	ByState      []Count // notified, verified, enrolled, retired, exempt, out_of_scope
	ByFactor     []Count // users holding a factor of each kind: totp, passkey, email
	PerDay       []Day   // SMS retirements per day, the last ChartDays days, oldest first
	PastDeadline int     // in the campaign, not retired, deadline passed
	Failed       []Count // messages given up, by channel: sms, email, event
	Locked       int     // accounts with a method paused by wrong answers now
}

// States lists the dashboard's user states in the order of the journey.
var States = []string{string(campaign.StateNotified), string(campaign.StateVerified), string(campaign.StateEnrolled),
	string(campaign.StateRetired), campaign.CountExempt, campaign.CountOutOfScope}

// Dashboard returns the figures as last read: each is one indexed aggregate (the users by state
// come from the campaign's cached counts, rollout.Service.Counts). Only the first request waits
// for them; when they are older than rollout.CountsTTL a request gets them as they are and has
// them read again in the background, so no request waits on a million users' aggregates and the
// database reads them at most once per TTL however busy the console is.
func (s *Service) Dashboard(ctx context.Context, m staff.Member) (Dashboard, error) {
	if err := s.allow(ctx, m, staff.ActionDashboard, ""); err != nil {
		return Dashboard{}, err
	}
	now := s.clock.Now()
	s.dashMu.Lock()
	d, at := s.dash, s.dashAt
	stale := now.Sub(at) >= rollout.CountsTTL || now.Before(at)
	if !at.IsZero() && stale && !s.refreshing {
		s.refreshing = true
		go s.refreshDashboard()
	}
	s.dashMu.Unlock()
	if !at.IsZero() {
		return d, nil
	}
	return s.readDashboardOnce(ctx)
}

// Warm reads the dashboard's figures once, so that the first page asked for finds them (serve runs
// it at start); a request that comes meanwhile waits for this reading rather than starting another.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.readDashboardOnce(ctx)
	return err
}

// readDashboardOnce reads the figures for the first request, one request at a time: those that
// waited meanwhile get what the first read.
func (s *Service) readDashboardOnce(ctx context.Context) (Dashboard, error) {
	s.firstMu.Lock()
	defer s.firstMu.Unlock()
	s.dashMu.Lock()
	d, at := s.dash, s.dashAt
	s.dashMu.Unlock()
	if !at.IsZero() {
		return d, nil
	}
	now := s.clock.Now()
	d, err := s.readDashboard(ctx, now)
	if err != nil {
		return Dashboard{}, err
	}
	s.dashMu.Lock()
	s.dash, s.dashAt = d, now
	s.dashMu.Unlock()
	return d, nil
}

// refreshDashboard reads the figures again; on an error the old ones stay, and the next request
// tries again.
func (s *Service) refreshDashboard() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := s.clock.Now()
	d, err := s.readDashboard(ctx, now)
	s.dashMu.Lock()
	defer s.dashMu.Unlock()
	s.refreshing = false
	if err == nil {
		s.dash, s.dashAt = d, now
	}
}

func (s *Service) readDashboard(ctx context.Context, now time.Time) (Dashboard, error) {
	d := Dashboard{At: now}
	counts, err := s.rollout.Counts(ctx)
	if err != nil {
		return d, err
	}
	byState := map[string]int{}
	for _, c := range counts {
		byState[c.State] += c.Users
		d.Users += c.Users
	}
	for _, st := range States {
		d.ByState = append(d.ByState, Count{Key: st, N: byState[st]})
	}
	factors, err := s.st.FactorCounts(ctx)
	if err != nil {
		return d, err
	}
	byKind := map[string]int{}
	for _, f := range factors {
		byKind[f.Kind] = f.Users
	}
	for _, k := range []string{store.FactorTOTP, store.FactorPasskey, store.FactorEmail} {
		d.ByFactor = append(d.ByFactor, Count{Key: k, N: byKind[k]})
	}
	loc := s.set.Location
	today := campaign.DateOf(now, loc)
	first := today.Time(loc).AddDate(0, 0, -(ChartDays - 1))
	_, offset := now.In(loc).Zone()
	perDay, err := s.st.RetiredPerDay(ctx, first, offset)
	if err != nil {
		return d, err
	}
	byDay := map[string]int{}
	for _, pd := range perDay {
		day := time.Unix(pd.Day*86400, 0).UTC()
		byDay[campaign.Date{Year: day.Year(), Month: day.Month(), Day: day.Day()}.String()] = pd.Count
	}
	for i := range ChartDays {
		date := campaign.DateOf(first.AddDate(0, 0, i), loc)
		d.PerDay = append(d.PerDay, Day{Date: date, N: byDay[date.String()]})
	}
	if d.PastDeadline, err = s.st.PastDeadline(ctx, today); err != nil {
		return d, err
	}
	failed, err := s.st.FailedOutbox(ctx)
	if err != nil {
		return d, err
	}
	for _, k := range store.OutboxKinds {
		d.Failed = append(d.Failed, Count{Key: k, N: failed[k]})
	}
	if d.Locked, err = s.st.LockedAccounts(ctx, s.ident.Settings().MaxAttempts, now); err != nil {
		return d, err
	}
	return d, nil
}

// AuditFilter chooses entries of the audit log page: zero fields do not filter; the dates are
// days in the configured zone, To included.
type AuditFilter struct {
	StaffID string
	UserID  string
	Action  string
	From    campaign.Date
	To      campaign.Date
	Offset  int
}

// AuditPageSize is how many entries one page of the audit log shows; an export takes up to
// AuditExportMax.
const (
	AuditPageSize  = 50
	AuditExportMax = 1000
)

func (s *Service) storeFilter(f AuditFilter, limit int) staff.Filter {
	sf := staff.Filter{StaffID: f.StaffID, UserID: f.UserID, Action: f.Action, Limit: limit, Offset: f.Offset}
	if !f.From.IsZero() {
		sf.From = f.From.Time(s.set.Location)
	}
	if !f.To.IsZero() {
		sf.To = f.To.Time(s.set.Location).AddDate(0, 0, 1)
	}
	return sf
}

// Audit returns a page of the audit log, newest first: supervisors and admins read everyone's.
func (s *Service) Audit(ctx context.Context, m staff.Member, f AuditFilter) ([]staff.AuditRecord, error) {
	if err := s.allow(ctx, m, staff.ActionViewAudit, ""); err != nil {
		return nil, err
	}
	return s.staff.Audit(ctx, s.storeFilter(f, AuditPageSize+1))
}

// Export returns the entries f chooses for a CSV download (at most AuditExportMax, newest first)
// and records the export.
func (s *Service) Export(ctx context.Context, m staff.Member, c audit.Client, f AuditFilter) ([]staff.AuditRecord, error) {
	if err := s.allow(ctx, m, staff.ActionExport, ""); err != nil {
		return nil, err
	}
	f.Offset = 0
	recs, err := s.staff.Audit(ctx, s.storeFilter(f, AuditExportMax))
	if err != nil {
		return nil, err
	}
	detail := map[string]string{"rows": itoa(len(recs)), "staff": f.StaffID, "user": f.UserID, "action": f.Action,
		"from": dateOrEmpty(f.From), "to": dateOrEmpty(f.To)}
	if err := s.logView(ctx, m, c, staff.ActionExport, "", detail); err != nil {
		return nil, err
	}
	return recs, nil
}

// StaffMembers lists the staff, for the audit log's filter.
func (s *Service) StaffMembers(ctx context.Context) ([]staff.Member, error) {
	ms, err := s.staff.List(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Email < ms[j].Email })
	return ms, nil
}

func dateOrEmpty(d campaign.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

package support_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	ctx      = context.Background()
	shanghai = time.FixedZone("CST", 8*3600)
	t0       = time.Date(2026, 11, 24, 10, 0, 0, 0, shanghai)
	agent    = staff.Member{ID: "st_agent", Email: "agent@example.com", Role: staff.Agent, Status: staff.Active}
	boss     = staff.Member{ID: "st_boss", Email: "boss@example.com", Role: staff.Supervisor, Status: staff.Active}
	desk     = audit.Client{IP: "192.0.2.7", UserAgent: "test"}
)

type fixture struct {
	st    *store.SQL
	clk   *clock.Fake
	svc   *support.Service
	ident *identity.Service
}

func newFixture(t *testing.T, st *store.SQL) fixture {
	t.Helper()
	clk := clock.NewFake(t0)
	ident := identity.New(st, clk, bytes.Repeat([]byte{1}, 32), campaign.NewIDHasher(bytes.Repeat([]byte{2}, 32)), identity.Settings{
		CodeTTL: 10 * time.Minute, AssistTTL: time.Hour, ResendWait: time.Minute, SendsPerHour: 5, MaxAttempts: 5,
		Lockout: 15 * time.Minute, ClientAttemptsHour: 100, Location: shanghai,
	}, identity.CodeMessage)
	roll := rollout.New(st, clk, config.Campaign{}, shanghai, func(id string) string { return "https://portal.example/notice/" + id }, nil)
	notices := securitynotice.New(st, clk, bytes.Repeat([]byte{3}, 32))
	svc := support.New(st, clk, ident, roll, notices, staff.New(st, clk, staff.Factors{Limits: ident.Limits()}), support.Settings{Region: "CN", Location: shanghai})
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "u1", Phone: "+8613800138001", Email: "zhang.wei@example.com", Name: "张伟", Locale: "zh-Hans", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}},
		{ID: "u2", Phone: "+8613800138002", Name: "Li Na", Deadline: campaign.Date{Year: 2026, Month: 11, Day: 1}},
		{ID: "boss", Phone: "+8613800138003", Email: "boss@example.com", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}},
	}, t0); err != nil {
		t.Fatal(err)
	}
	return fixture{st: st, clk: clk, svc: svc, ident: ident}
}

func (f fixture) audit(t *testing.T) []staff.AuditRecord {
	t.Helper()
	recs, err := staff.New(f.st, f.clk, staff.Factors{Limits: f.ident.Limits()}).Audit(ctx, staff.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (f fixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if f.st.Dialect() == store.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
		}
	}
	if _, err := f.st.DB().ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (f fixture) history(t *testing.T, userID string) []audit.Event {
	t.Helper()
	evs, err := f.st.Events(ctx, userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func hasEvent(evs []audit.Event, typ audit.Type, actor string) bool {
	for _, e := range evs {
		if e.Type == typ && e.Actor == actor {
			return true
		}
	}
	return false
}

// Each action writes its change, the user's history entry and the staff audit record (who, role,
// what, whom, when, why, client IP) together; a refused action writes none of them.
func TestActions_RecordTheAuditWithTheChange(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		// A lock on the SMS code, a failed SMS notice, a signed-in session and a factor to reset.
		f.exec(t, `INSERT INTO answer_limits (key, pending, failed, expires_at) VALUES ('u:u1:phone', 0, 5, ?)`, t0.Add(10*time.Minute).UnixMilli())
		f.exec(t, `INSERT INTO outbox (kind, topic, user_id, payload, status, attempts, next_attempt_at, last_error, created_at)
			VALUES ('sms', 'security.notice', 'u1', '{}', 'failed', 5, 0, 'gateway said no', ?)`, t0.UnixMilli())
		f.exec(t, `INSERT INTO outbox (kind, topic, user_id, payload, status, attempts, next_attempt_at, last_error, created_at)
			VALUES ('email', 'verify.code', 'u1', '{}', 'failed', 5, 0, 'smtp said no', ?)`, t0.UnixMilli())
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertFactor(ctx, store.Factor{UserID: "u1", Kind: store.FactorEmail, Email: "zw.factor@example.com", CreatedAt: t0}); err != nil {
				return err
			}
			return tx.CreateSession(ctx, store.Session{ID: "s1", Kind: string(session.User), Subject: "u1", CreatedAt: t0, LastSeenAt: t0, AuthAt: t0, ExpiresAt: t0.Add(time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
		f.exec(t, `UPDATE users SET state = 'retired', sms_retired_at = ? WHERE id = 'u1'`, t0.UnixMilli())
		page, err := f.svc.User(ctx, boss, desk, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Locks) != 1 || page.Locks[0].Method != "phone" || len(page.Messages) != 2 || len(page.Factors) != 1 || page.Self {
			t.Fatalf("page: locks %+v messages %+v factors %+v self %v", page.Locks, page.Messages, page.Factors, page.Self)
		}
		var retryable, codeMessage int64
		for _, m := range page.Messages {
			if m.Retryable {
				retryable = m.ID
			} else {
				codeMessage = m.ID
			}
		}
		if retryable == 0 || codeMessage == 0 || page.Factors[0].Email != "z***@example.com" || page.Phone != "138****8001" || page.Name != "张*" {
			t.Fatalf("page masks or retry flags wrong: %+v", page)
		}

		steps := []struct {
			action staff.Action
			event  audit.Type
			do     func() error
		}{
			{staff.ActionUnlock, audit.SupportUnlocked, func() error { return f.svc.Unlock(ctx, boss, desk, "u1", "phone", "caller locked out") }},
			{staff.ActionRetryMessage, audit.SupportMessageRetried, func() error { return f.svc.RetryMessage(ctx, boss, desk, "u1", retryable, "gateway back") }},
			{staff.ActionResetFactors, audit.SupportFactorsReset, func() error { return f.svc.ResetFactors(ctx, boss, desk, "u1", "lost phone and email") }},
			{staff.ActionResendNotice, audit.SupportNoticeResent, func() error {
				_, err := f.svc.ResendNotice(ctx, boss, desk, "u1", "notice never arrived")
				return err
			}},
			{staff.ActionIssueAssist, audit.AssistIssued, func() error {
				code, exp, err := f.svc.IssueAssist(ctx, boss, desk, "u1", "caller checked by ID card")
				if err == nil && (len(code) != 8 || !exp.Equal(f.clk.Now().Add(time.Hour))) {
					t.Errorf("assist code %q until %v", code, exp)
				}
				return err
			}},
			{staff.ActionExtendDeadline, audit.SupportDeadline, func() error {
				return f.svc.ExtendDeadline(ctx, boss, desk, "u1", campaign.Date{Year: 2027, Month: 1, Day: 31}, "travelling abroad")
			}},
		}
		for i, s := range steps {
			f.clk.Advance(time.Second)
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.action, err)
			}
			recs := f.audit(t)
			var rec staff.AuditRecord
			for _, r := range recs {
				if r.Action == string(s.action) {
					rec = r
				}
			}
			if rec.Action == "" || rec.UserID != "u1" || rec.StaffID != boss.ID || rec.Actor != boss.Email || rec.StaffRole != "supervisor" ||
				rec.ClientIP != desk.IP || rec.Reason == "" || !rec.At.Equal(f.clk.Now()) {
				t.Errorf("step %d %s: audit record %+v", i, s.action, rec)
			}
			if !hasEvent(f.history(t, "u1"), s.event, "staff:boss@example.com") {
				t.Errorf("%s: history lacks %s by the staff member", s.action, s.event)
			}
		}

		// The changes themselves.
		u, _ := st.UserByID(ctx, "u1")
		if u.State != campaign.StateNotified || !u.SMSRetiredAt.IsZero() || u.Deadline.String() != "2027-01-31" || u.DeadlineFromWave {
			t.Errorf("user after the actions: %+v", u)
		}
		if fs, _ := st.Factors(ctx, "u1"); len(fs) != 0 {
			t.Errorf("factors left: %+v", fs)
		}
		if ss, _ := st.Session(ctx, "s1"); ss.EndedAt.IsZero() {
			t.Error("the user's session did not end")
		}
		var resetNotices, pending int
		row := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE user_id = 'u1' AND topic = 'security.notice' AND status = 'pending'`)
		if err := row.Scan(&resetNotices); err != nil {
			t.Fatal(err)
		}
		// The retried SMS notice, and the reset's notice to the email, the factor's email and the phone.
		if resetNotices != 4 {
			t.Errorf("%d pending security notices, want 4", resetNotices)
		}
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE user_id = 'u1' AND topic = 'campaign.notice'`).Scan(&pending); err != nil || pending == 0 {
			t.Errorf("no campaign notice resent: %d %v", pending, err)
		}

		// Refusals write nothing.
		before := len(f.audit(t))
		for name, err := range map[string]error{
			"not locked":       f.svc.Unlock(ctx, boss, desk, "u1", "phone", "again"),
			"code message":     f.svc.RetryMessage(ctx, boss, desk, "u1", codeMessage, "again"),
			"not failed":       f.svc.RetryMessage(ctx, boss, desk, "u1", retryable, "again"),
			"other's message":  f.svc.RetryMessage(ctx, boss, desk, "u2", retryable, "again"),
			"earlier deadline": f.svc.ExtendDeadline(ctx, boss, desk, "u1", campaign.Date{Year: 2027, Month: 1, Day: 1}, "why"),
			"too far":          f.svc.ExtendDeadline(ctx, boss, desk, "u1", campaign.Date{Year: 2028, Month: 1, Day: 1}, "why"),
			"no reason":        f.svc.ResetFactors(ctx, boss, desk, "u1", "  "),
			"long reason":      f.svc.ResetFactors(ctx, boss, desk, "u1", strings.Repeat("长", 501)),
			"nothing to reset": f.svc.ResetFactors(ctx, boss, desk, "u1", "again"),
			"agent unlocks":    f.svc.Unlock(ctx, agent, desk, "u1", "phone", "why"),
			"agent resets":     f.svc.ResetFactors(ctx, agent, desk, "u1", "why"),
			"agent extends":    f.svc.ExtendDeadline(ctx, agent, desk, "u1", campaign.Date{Year: 2027, Month: 2, Day: 1}, "why"),
			"own account":      f.svc.ExtendDeadline(ctx, boss, desk, "boss", campaign.Date{Year: 2027, Month: 2, Day: 1}, "why"),
			"no such user":     f.svc.ExtendDeadline(ctx, boss, desk, "nobody", campaign.Date{Year: 2027, Month: 2, Day: 1}, "why"),
		} {
			if err == nil {
				t.Errorf("%s: allowed", name)
			}
		}
		if _, _, err := f.svc.IssueAssist(ctx, boss, desk, "boss", "my own"); !errors.Is(err, staff.ErrSelf) {
			t.Errorf("assist code for oneself: %v", err)
		}
		if _, err := f.svc.ResendNotice(ctx, agent, desk, "u2", "no email, SMS closed"); !errors.Is(err, support.ErrNoChannel) {
			t.Errorf("notice to a user past the grace without email: %v", err)
		}
		if after := len(f.audit(t)); after != before {
			t.Errorf("refused actions wrote %d audit records", after-before)
		}
	})
}

// A search finds a user by account ID, by phone number in the formats people type it, and by
// email address in any case; results are masked, and each search is in the audit log.
func TestSearch_ByIDPhoneAndEmail(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		for q, want := range map[string]support.QueryKind{
			"u1":                    support.ByID,
			"138 0013 8001":         support.ByPhone,
			"+86 138-0013-8001":     support.ByPhone,
			"008613800138001":       support.ByPhone,
			"Zhang.Wei@Example.com": support.ByEmail,
		} {
			kind, found, err := f.svc.Search(ctx, agent, desk, q)
			if err != nil || kind != want || len(found) != 1 || found[0].ID != "u1" {
				t.Errorf("search %q: %s %+v %v", q, kind, found, err)
				continue
			}
			if p := found[0]; p.Phone != "138****8001" || p.Email != "z***@example.com" || p.Name != "张*" {
				t.Errorf("search %q: not masked: %+v", q, p)
			}
		}
		if _, found, err := f.svc.Search(ctx, agent, desk, "13900000000"); err != nil || len(found) != 0 {
			t.Errorf("unknown number: %+v %v", found, err)
		}
		if _, _, err := f.svc.Search(ctx, agent, desk, " "); !errors.Is(err, support.ErrQuery) {
			t.Errorf("empty search: %v", err)
		}
		recs := f.audit(t)
		if len(recs) != 6 || recs[0].Action != string(staff.ActionSearch) || strings.Contains(recs[0].Detail["query"], "0013") {
			t.Errorf("audit of searches: %d, %+v", len(recs), recs[0])
		}
	})
}

// The dashboard counts users by state and factor, retirements per day, users past the deadline,
// failed messages by channel and locked accounts.
func TestDashboard_Figures(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		yesterday := t0.Add(-24 * time.Hour)
		f.exec(t, `UPDATE users SET state = 'retired', sms_retired_at = ? WHERE id = 'u1'`, yesterday.UnixMilli())
		f.exec(t, `INSERT INTO factors (user_id, kind, name, created_at) VALUES ('u1', 'totp', '', ?), ('u1', 'passkey', '', ?)`, t0.UnixMilli(), t0.UnixMilli())
		f.exec(t, `INSERT INTO outbox (kind, topic, user_id, payload, status, next_attempt_at, created_at) VALUES ('sms', 'x', 'u2', '{}', 'failed', 0, 0)`)
		f.exec(t, `INSERT INTO answer_limits (key, pending, failed, expires_at) VALUES ('u:u2:phone', 0, 5, ?), ('u:u2:email', 0, 5, ?), ('u:boss:phone', 0, 2, ?)`,
			t0.Add(time.Hour).UnixMilli(), t0.Add(time.Hour).UnixMilli(), t0.Add(time.Hour).UnixMilli())
		d, err := f.svc.Dashboard(ctx, agent)
		if err != nil {
			t.Fatal(err)
		}
		get := func(cs []support.Count, k string) int {
			for _, c := range cs {
				if c.Key == k {
					return c.N
				}
			}
			return -1
		}
		if d.Users != 3 || get(d.ByState, "retired") != 1 || get(d.ByState, "notified") != 2 || get(d.ByFactor, "totp") != 1 ||
			get(d.ByFactor, "email") != 0 || d.PastDeadline != 1 || get(d.Failed, "sms") != 1 || d.Locked != 1 {
			t.Errorf("dashboard: %+v", d)
		}
		if len(d.PerDay) != support.ChartDays || d.PerDay[len(d.PerDay)-1].Date.String() != "2026-11-24" ||
			d.PerDay[len(d.PerDay)-2].N != 1 || d.PerDay[len(d.PerDay)-1].N != 0 {
			t.Errorf("per day: %+v", d.PerDay[len(d.PerDay)-3:])
		}
		// Read again only after the TTL, in the background: the request gets the old figures.
		f.exec(t, `UPDATE users SET state = 'retired', sms_retired_at = ? WHERE id = 'u2'`, t0.UnixMilli())
		if d, _ := f.svc.Dashboard(ctx, agent); get(d.ByState, "retired") != 1 {
			t.Errorf("read again within the TTL: %+v", d.ByState)
		}
		f.clk.Advance(rollout.CountsTTL)
		if d, _ := f.svc.Dashboard(ctx, agent); get(d.ByState, "retired") != 1 {
			t.Errorf("a stale request waited for the new figures: %+v", d.ByState)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			d, err := f.svc.Dashboard(ctx, agent)
			if err == nil && get(d.ByState, "retired") == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the background read never came: %+v %v", d.ByState, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// The CSV export opens in Excel as UTF-8 and runs no formula a reason smuggled in.
func TestWriteCSV_BOMAndNoFormulas(t *testing.T) {
	var b bytes.Buffer
	if err := support.WriteCSV(&b, []string{"原因", "IP"}, [][]string{{"=HYPERLINK(\"http://x\")", "+1"}, {"-2", "@SUM(A1)"}, {"普通", "a=b"}}); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff原因,IP\r\n\"'=HYPERLINK(\"\"http://x\"\")\",'+1\r\n'-2,'@SUM(A1)\r\n普通,a=b\r\n"
	if b.String() != want {
		t.Errorf("csv:\n%q\nwant\n%q", b.String(), want)
	}
}

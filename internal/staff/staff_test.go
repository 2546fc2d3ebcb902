package staff_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// totpService is the authenticator app service with the tests' one key.
func totpService(t *testing.T, st *store.SQL) *totp.Service {
	t.Helper()
	box, err := sealbox.New([]keyring.EncKey{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	tt, err := totp.New(st, box, "Portal")
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

// newService is the staff service over st, with an authenticator app service and the limits of
// five wrong answers before a 15-minute lock.
func newService(t *testing.T, st *store.SQL, clk clock.Clock) *staff.Service {
	t.Helper()
	return staff.New(st, clk, staff.Factors{TOTP: totpService(t, st),
		Limits: limit.New(st, limit.Rules{MaxAttempts: 5, Lockout: 15 * time.Minute, ClientAttemptsHour: 100})})
}

func TestCan_EachRoleMayDoWhatTheOneBeforeMayAndNoMore(t *testing.T) {
	want := map[staff.Action][]staff.Role{
		staff.ActionSearch:           {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionView:             {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionDashboard:        {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionResendNotice:     {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionIssueAssist:      {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionRetryMessage:     {staff.Agent, staff.Supervisor, staff.Admin},
		staff.ActionUnlock:           {staff.Supervisor, staff.Admin},
		staff.ActionResetFactors:     {staff.Supervisor, staff.Admin},
		staff.ActionExtendDeadline:   {staff.Supervisor, staff.Admin},
		staff.ActionExport:           {staff.Supervisor, staff.Admin},
		staff.ActionViewAudit:        {staff.Supervisor, staff.Admin},
		staff.ActionManageStaff:      {staff.Admin},
		staff.ActionEndStaffSessions: {staff.Admin},
		staff.ActionSignIn:           nil, // recorded, never a role's
		staff.ActionImport:           nil,
		staff.Action("nonsense"):     nil,
	}
	if len(staff.Actions()) != 13 {
		t.Errorf("Actions() = %v", staff.Actions())
	}
	for a, roles := range want {
		for _, r := range append(staff.Roles, staff.Role(""), staff.Role("root")) {
			allowed := false
			for _, w := range roles {
				allowed = allowed || w == r
			}
			if got := staff.Can(r, a); got != allowed {
				t.Errorf("Can(%q, %q) = %v, want %v", r, a, got, allowed)
			}
		}
	}
	m := staff.Member{Role: staff.Admin, Status: staff.Disabled}
	if m.Can(staff.ActionSearch) {
		t.Error("a disabled admin may search")
	}
	if r, ok := staff.ParseRole(" Supervisor "); !ok || r != staff.Supervisor {
		t.Errorf("ParseRole = %q %v", r, ok)
	}
	if _, ok := staff.ParseRole("owner"); ok {
		t.Error("owner parsed")
	}
}

func TestStaff_AddSetUpDisableAndAudit(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		clk := clock.NewFake(t0)
		svc := newService(t, st, clk)
		cli := staff.CLI("ops")

		m, token, err := svc.Add(ctx, cli, " Alice@Example.COM ", staff.Agent, "Alice")
		if err != nil {
			t.Fatal(err)
		}
		if m.Email != "alice@example.com" || m.Status != staff.Pending || m.CreatedBy != "cli:ops" || token == "" {
			t.Fatalf("added %+v %q", m, token)
		}
		if _, _, err := svc.Add(ctx, cli, "alice@example.com", staff.Admin, ""); !errors.Is(err, staff.ErrExists) {
			t.Errorf("second add: %v, want ErrExists", err)
		}
		if _, _, err := svc.Add(ctx, cli, "Bob <bob@example.com>", staff.Admin, ""); !errors.Is(err, staff.ErrInvalidEmail) {
			t.Errorf("add with a name: %v", err)
		}
		if _, _, err := svc.Add(ctx, cli, "bob@example.com", staff.Role("root"), ""); !errors.Is(err, staff.ErrInvalidRole) {
			t.Errorf("add root: %v", err)
		}
		if _, _, err := svc.Add(ctx, m.Actor("192.0.2.1"), "bob@example.com", staff.Agent, ""); !errors.As(err, new(staff.ErrForbidden)) {
			t.Errorf("an agent added staff: %v", err)
		}

		got, err := svc.SetupLink(ctx, token)
		if err != nil || got.ID != m.ID {
			t.Fatalf("setup link: %+v %v", got, err)
		}
		if _, err := svc.SetupLink(ctx, "nope"); !errors.Is(err, staff.ErrLinkUnknown) {
			t.Errorf("unknown link: %v", err)
		}
		// The link works once: of 50 requests at once, one takes it.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, used := 0, 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := st.InTx(ctx, func(tx *store.Tx) error {
					return staff.TakeSetupLink(ctx, tx, token, got, "totp", "192.0.2.1", clk.Now())
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, staff.ErrLinkUsed):
					used++
				default:
					t.Errorf("take: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || used != 49 {
			t.Fatalf("wins %d, used %d", wins, used)
		}
		if _, err := svc.SetupLink(ctx, token); !errors.Is(err, staff.ErrLinkUsed) {
			t.Errorf("used link: %v", err)
		}
		if m, _ = svc.Member(ctx, m.ID); m.Status != staff.Active || !m.Can(staff.ActionSearch) || m.Can(staff.ActionUnlock) {
			t.Fatalf("after setup: %+v", m)
		}

		// A new link voids the old; it expires after 24 hours.
		admin, _, err := svc.Add(ctx, cli, "root@example.com", staff.Admin, "")
		if err != nil {
			t.Fatal(err)
		}
		admin.Role, admin.Status = staff.Admin, staff.Active
		token2, err := svc.NewSetupLink(ctx, admin.Actor("192.0.2.9"), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(staff.SetupLinkTTL)
		if _, err := svc.SetupLink(ctx, token2); !errors.Is(err, staff.ErrLinkExpired) {
			t.Errorf("a day-old link: %v", err)
		}
		err = st.InTx(ctx, func(tx *store.Tx) error { return staff.TakeSetupLink(ctx, tx, token2, m, "totp", "", clk.Now()) })
		if !errors.Is(err, staff.ErrLinkExpired) {
			t.Errorf("took a day-old link: %v", err)
		}

		// Disabling ends the member's staff sessions, asks a reason, never the admin's own.
		err = st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateSession(ctx, store.Session{ID: "s1", Kind: staff.SessionKind, Subject: m.ID, CreatedAt: clk.Now(), LastSeenAt: clk.Now(),
				AuthAt: clk.Now(), ExpiresAt: clk.Now().Add(8 * time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Disable(ctx, admin.Actor(""), m.ID, " "); !errors.Is(err, staff.ErrNoReason) {
			t.Errorf("disable without a reason: %v", err)
		}
		if err := svc.Disable(ctx, admin.Actor(""), admin.ID, "bye"); !errors.Is(err, staff.ErrSelf) {
			t.Errorf("disabled themselves: %v", err)
		}
		if err := svc.Disable(ctx, admin.Actor("192.0.2.9"), m.ID, "left the team"); err != nil {
			t.Fatal(err)
		}
		if ss, _ := st.Session(ctx, "s1"); ss.EndedAt.IsZero() {
			t.Error("the disabled member's session lives on")
		}
		if m, _ = svc.Member(ctx, m.ID); m.Status != staff.Disabled || m.Can(staff.ActionSearch) {
			t.Errorf("disabled: %+v", m)
		}

		// The log, newest first, filtered by staff, action, user and time.
		all, err := svc.Audit(ctx, staff.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, e := range all {
			ops = append(ops, string(e.Action)+":"+e.Detail["op"])
		}
		want := []string{"manage_staff:disable", "manage_staff:setup_link", "manage_staff:add", "set_up:", "manage_staff:add"}
		if len(ops) != len(want) {
			t.Fatalf("log = %v, want %v", ops, want)
		}
		for i := range want {
			if ops[i] != want[i] {
				t.Fatalf("log = %v, want %v", ops, want)
			}
		}
		if e := all[0]; e.StaffID != admin.ID || e.Actor != "root@example.com" || e.StaffRole != "admin" || e.Reason != "left the team" ||
			e.ClientIP != "192.0.2.9" || e.UserID != "" || !e.At.Equal(clk.Now()) {
			t.Errorf("disable entry: %+v", e)
		}
		if e := all[4]; e.StaffID != "" || e.Actor != "cli:ops" || e.StaffRole != "" {
			t.Errorf("command line entry: %+v", e)
		}
		byAdmin, _ := svc.Audit(ctx, staff.Filter{StaffID: admin.ID})
		setUps, _ := svc.Audit(ctx, staff.Filter{Action: string(staff.ActionSetUp)})
		early, _ := svc.Audit(ctx, staff.Filter{To: t0.Add(time.Hour)})
		late, _ := svc.Audit(ctx, staff.Filter{From: t0.Add(time.Hour)})
		page, _ := svc.Audit(ctx, staff.Filter{Limit: 2, Offset: 1})
		if len(byAdmin) != 2 || len(setUps) != 1 || setUps[0].StaffID != m.ID || len(early) != 4 || len(late) != 1 ||
			len(page) != 2 || page[0].ID != all[1].ID {
			t.Errorf("filtered: admin %d, set-ups %+v, early %d, late %d, page %+v", len(byAdmin), setUps, len(early), len(late), page)
		}
	})
}

func TestStaff_RecordIsPartOfTheCallersTransaction(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		svc := newService(t, st, clock.NewFake(t0))
		if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "u1", Phone: "+8613800000001", Email: "Carol@Example.com",
			Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
			t.Fatal(err)
		}
		agent := staff.Member{ID: "st_1", Email: "carol@example.com", Role: staff.Agent, Status: staff.Active}
		by := agent.Actor("198.51.100.4")
		failed := errors.New("the change failed")
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := staff.Record(ctx, tx, staff.Entry{Actor: by, Action: staff.ActionResendNotice, UserID: "u1", Reason: "asked", At: t0}); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatal(err)
		}
		if got, _ := svc.Audit(ctx, staff.Filter{UserID: "u1"}); len(got) != 0 {
			t.Fatalf("a rolled-back change left %+v", got)
		}
		if err := svc.Log(ctx, staff.Entry{Actor: by, Action: staff.ActionView, UserID: "u1", Detail: map[string]string{"q": "1380"}}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Audit(ctx, staff.Filter{UserID: "u1"})
		if err != nil || len(got) != 1 || got[0].Action != string(staff.ActionView) || got[0].Detail["q"] != "1380" || !got[0].At.Equal(t0) {
			t.Fatalf("log = %+v, %v", got, err)
		}
		// Carol's staff account may not act on Carol's user account; anyone else's is fine.
		if err := svc.SelfCheck(ctx, agent, "u1"); !errors.Is(err, staff.ErrSelf) {
			t.Errorf("self check on own account: %v", err)
		}
		agent.Email = "dave@example.com"
		if err := svc.SelfCheck(ctx, agent, "u1"); err != nil {
			t.Errorf("self check on another's: %v", err)
		}
	})
}

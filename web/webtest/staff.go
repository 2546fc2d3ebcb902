package webtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web"
)

var staffSeq atomic.Int64

// AddStaff adds an active staff member of role with email ("" for a new ROLE-N@staff.example), as
// `smsretire staff add` and the setup link would, without the ceremony. The audit log records
// the addition by "cli:webtest".
func (s *Server) AddStaff(t testing.TB, role staff.Role, email string) staff.Member {
	t.Helper()
	ctx := context.Background()
	if email == "" {
		email = fmt.Sprintf("%s-%d@staff.example", role, staffSeq.Add(1))
	}
	m, _, err := s.App.Staff.Add(ctx, staff.CLI("webtest"), email, role, "")
	if err != nil {
		t.Fatalf("add staff %s: %v", email, err)
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SetStaffStatus(ctx, m.ID, string(staff.Active), s.Clock.Now())
		return err
	})
	if err != nil {
		t.Fatalf("activate staff %s: %v", email, err)
	}
	m.Status = staff.Active
	return m
}

// SignInStaff starts a staff session for m and puts its cookie in client's jar, as signing in at
// /staff/signin would.
func (s *Server) SignInStaff(t testing.TB, client *http.Client, m staff.Member) {
	t.Helper()
	_, token, err := s.App.Sessions.Start(context.Background(), session.Staff, m.ID, []string{"otp"},
		audit.Client{IP: "127.0.0.1", UserAgent: "webtest"}, session.Session{})
	if err != nil {
		t.Fatalf("start staff session: %v", err)
	}
	ck, err := web.SessionCookie(s.App, session.Staff, token)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.URL)
	client.Jar.SetCookies(u, []*http.Cookie{ck})
}

// StaffClient adds an active staff member of role and returns a client signed in as them (its
// own cookie jar, redirects not followed) with the member.
func (s *Server) StaffClient(t testing.TB, role staff.Role) (*http.Client, staff.Member) {
	t.Helper()
	m := s.AddStaff(t, role, "")
	c := s.Client()
	s.SignInStaff(t, c, m)
	return c, m
}

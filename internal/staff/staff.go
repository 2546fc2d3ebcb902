// Package staff is the support staff: members with a role, what each role may do, the one-time
// links that let a new member set up a sign-in factor, and the audit log that records every
// action staff (and the operator's commands) take, in the transaction of the change.
//
// The console's handlers ask Can before they act and write the audit entry with Record inside
// the transaction of the change:
//
//	err := st.InTx(ctx, func(tx *store.Tx) error {
//		// … the change …
//		return staff.Record(ctx, tx, staff.Entry{Actor: by, Action: staff.ActionUnlock, UserID: uid, Reason: why, At: now})
//	})
package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/store"
)

// Role is what a staff member may do. Each role may do everything the one before it may.
type Role string

// The roles, from the least to the most allowed.
const (
	Agent      Role = "agent"      // finds users and helps them through
	Supervisor Role = "supervisor" // also unlocks, resets factors, extends deadlines, exports
	Admin      Role = "admin"      // also manages staff and ends staff sessions
)

// Roles lists the roles from the least to the most allowed.
var Roles = []Role{Agent, Supervisor, Admin}

// ParseRole returns the role named s; false for none.
func ParseRole(s string) (Role, bool) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	return r, slices.Contains(Roles, r)
}

// rank orders the roles; 0 for an unknown one, which may do nothing.
func (r Role) rank() int { return slices.Index(Roles, r) + 1 }

// Action is something staff do in the console, or an operator command does; the audit log
// names it.
type Action string

// The actions. Those a role is allowed (Can) come first; the rest are recorded but never asked of
// a role.
const (
	ActionSearch       Action = "search"        // look users up
	ActionView         Action = "view"          // open a user's page
	ActionDashboard    Action = "dashboard"     // see the campaign's figures
	ActionResendNotice Action = "resend_notice" // send the retirement notice again
	ActionIssueAssist  Action = "issue_assist"  // give an assist code to a caller whose identity was checked
	ActionRetryMessage Action = "retry_message" // retry a message that failed

	ActionUnlock         Action = "unlock"          // lift a lock on a way to verify
	ActionResetFactors   Action = "reset_factors"   // remove a user's factors; they verify again
	ActionExtendDeadline Action = "extend_deadline" // give a user a later deadline
	ActionExport         Action = "export"          // download the audit log as CSV
	ActionViewAudit      Action = "view_audit"      // read the audit log of all staff

	ActionManageStaff      Action = "manage_staff"       // add, disable and re-link staff members
	ActionEndStaffSessions Action = "end_staff_sessions" // sign other staff out

	// Recorded, never asked of a role: a staff member's own sign-in and set-up, and the
	// operator's commands.
	ActionSignIn     Action = "sign_in"     // a staff member signed in
	ActionSignOut    Action = "sign_out"    // a staff member signed out
	ActionSetUp      Action = "set_up"      // a staff member enrolled a sign-in factor from a setup link
	ActionNoticeLink Action = "notice_link" // an operator made a user's notice link
	ActionImport     Action = "import"      // an operator imported the roster
)

// allowed is the least role that may take each action; an action not listed is allowed to none.
var allowed = map[Action]Role{
	ActionSearch:       Agent,
	ActionView:         Agent,
	ActionDashboard:    Agent,
	ActionResendNotice: Agent,
	ActionIssueAssist:  Agent,
	ActionRetryMessage: Agent,

	ActionUnlock:         Supervisor,
	ActionResetFactors:   Supervisor,
	ActionExtendDeadline: Supervisor,
	ActionExport:         Supervisor,
	ActionViewAudit:      Supervisor,

	ActionManageStaff:      Admin,
	ActionEndStaffSessions: Admin,
}

// Actions lists every action a role may be allowed, from the agent's to the admin's.
func Actions() []Action {
	out := make([]Action, 0, len(allowed))
	for _, r := range Roles {
		for _, a := range []Action{ActionSearch, ActionView, ActionDashboard, ActionResendNotice, ActionIssueAssist, ActionRetryMessage,
			ActionUnlock, ActionResetFactors, ActionExtendDeadline, ActionExport, ActionViewAudit, ActionManageStaff, ActionEndStaffSessions} {
			if allowed[a] == r {
				out = append(out, a)
			}
		}
	}
	return out
}

// Can reports whether a staff member of role r may take action a.
func Can(r Role, a Action) bool {
	least, ok := allowed[a]
	return ok && r.rank() >= least.rank() && r.rank() > 0
}

// MinRole returns the least role allowed action a; false when no role is.
func MinRole(a Action) (Role, bool) {
	r, ok := allowed[a]
	return r, ok
}

// Status is where a staff member stands.
type Status string

// The statuses.
const (
	Pending  Status = "pending"  // added; has not used the setup link yet
	Active   Status = "active"   // may sign in
	Disabled Status = "disabled" // may not sign in; the record stays for the audit log
)

// Member is a staff member.
type Member struct {
	ID          string
	Email       string
	Role        Role
	DisplayName string
	Status      Status
	Locale      string // the console's language; "" for the default
	CreatedAt   time.Time
	CreatedBy   string
}

// Name is how the console and the audit log name the member: the display name, or the email.
func (m Member) Name() string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.Email
}

// Can reports whether the member may take action a now: active, and their role allows it.
func (m Member) Can(a Action) bool { return m.Status == Active && Can(m.Role, a) }

// Actor is who takes an action: a staff member in the console, or the operator at the command
// line.
func (m Member) Actor(clientIP string) Actor {
	return Actor{StaffID: m.ID, Name: m.Email, Role: m.Role, ClientIP: clientIP}
}

func memberOf(r store.StaffMember) Member {
	return Member{ID: r.ID, Email: r.Email, Role: Role(r.Role), DisplayName: r.DisplayName, Status: Status(r.Status), Locale: r.Locale,
		CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

// Actor is who an audit entry names.
type Actor struct {
	StaffID  string // "" for the command line
	Name     string // the staff member's email, or "cli:NAME"
	Role     Role   // "" for the command line
	ClientIP string
}

// CLI is the actor of an operator command: name is --actor, or the OS user.
func CLI(name string) Actor {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "unknown"
	}
	return Actor{Name: "cli:" + name}
}

// Errors of the staff domain, which the console and the commands map to messages.
var (
	ErrInvalidEmail = errors.New("staff: not an email address")
	ErrInvalidRole  = errors.New("staff: no such role")
	ErrExists       = errors.New("staff: a member with this email exists")
	ErrNotFound     = errors.New("staff: no such member")
	ErrNoReason     = errors.New("staff: a reason is required")
	ErrSelf         = errors.New("staff: staff may not act on their own user account")
	ErrLinkUsed     = errors.New("staff: the setup link was used already")
	ErrLinkExpired  = errors.New("staff: the setup link expired")
	ErrLinkUnknown  = errors.New("staff: no such setup link")
	ErrNotActive    = errors.New("staff: the member is not active")
)

// ErrForbidden refuses an action the actor's role does not allow.
type ErrForbidden struct {
	Role   Role
	Action Action
}

func (e ErrForbidden) Error() string {
	return fmt.Sprintf("staff: a %s may not %s", e.Role, e.Action)
}

// SetupLinkTTL is how long a setup link works.
const SetupLinkTTL = 24 * time.Hour

// Service keeps the staff members, their setup links, their sign-in and the audit log.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	totp     *totp.Service
	passkeys *passkey.Service
	limits   *limit.Limiter
}

// Factors are the users' factor services that staff members' own sign-in factors reuse.
type Factors struct {
	TOTP     *totp.Service    // authenticator apps
	Passkeys *passkey.Service // passkeys; the staff's are kept apart (ForHolder)
	Limits   *limit.Limiter   // counts sign-in answers, as users' are counted
}

// New returns the staff service.
func New(st *store.SQL, clk clock.Clock, f Factors) *Service {
	s := &Service{st: st, clock: clk, totp: f.TOTP, limits: f.Limits}
	if f.Passkeys != nil {
		s.passkeys = f.Passkeys.ForHolder(passkeyHolder(st))
	}
	return s
}

// Member returns the staff member with id; ErrNotFound when there is none.
func (s *Service) Member(ctx context.Context, id string) (Member, error) {
	r, err := s.st.StaffByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, err
	}
	return memberOf(r), nil
}

// ByEmail returns the staff member with email (in any case); ErrNotFound when there is none.
func (s *Service) ByEmail(ctx context.Context, email string) (Member, error) {
	r, err := s.st.StaffByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, store.ErrNotFound) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, err
	}
	return memberOf(r), nil
}

// List returns every staff member, by email.
func (s *Service) List(ctx context.Context) ([]Member, error) {
	rows, err := s.st.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(rows))
	for _, r := range rows {
		out = append(out, memberOf(r))
	}
	return out, nil
}

// NormalizeEmail returns a staff email address lower-cased; ErrInvalidEmail for anything but a
// bare address.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// Add creates a pending staff member and a setup link for them (SetupLinkTTL), and records it,
// in one transaction. It returns the member and the link's token, which only the caller sees.
func (s *Service) Add(ctx context.Context, by Actor, email string, role Role, displayName string) (Member, string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Member{}, "", err
	}
	if role.rank() == 0 {
		return Member{}, "", ErrInvalidRole
	}
	if by.Role != "" && !Can(by.Role, ActionManageStaff) {
		return Member{}, "", ErrForbidden{Role: by.Role, Action: ActionManageStaff}
	}
	id, err := randomID()
	if err != nil {
		return Member{}, "", err
	}
	now := s.clock.Now()
	m := Member{ID: id, Email: email, Role: role, DisplayName: strings.TrimSpace(displayName), Status: Pending, CreatedAt: now,
		CreatedBy: by.ref()}
	var token string
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.InsertStaff(ctx, store.StaffMember{ID: m.ID, Email: m.Email, Role: string(m.Role), DisplayName: m.DisplayName,
			Status: string(m.Status), CreatedAt: now, CreatedBy: m.CreatedBy, UpdatedAt: now})
		if errors.Is(err, store.ErrDuplicate) {
			return ErrExists
		}
		if err != nil {
			return err
		}
		if token, err = newSetupLink(ctx, tx, m.ID, now); err != nil {
			return err
		}
		return Record(ctx, tx, Entry{Actor: by, Action: ActionManageStaff, At: now,
			Detail: map[string]string{"op": "add", "staff": m.ID, "email": m.Email, "role": string(m.Role)}})
	})
	if err != nil {
		return Member{}, "", fmt.Errorf("add staff %s: %w", email, err)
	}
	return m, token, nil
}

// NewSetupLink makes a new setup link for a staff member who is not disabled, voiding their
// earlier ones, and records it; it returns the link's token.
func (s *Service) NewSetupLink(ctx context.Context, by Actor, staffID string) (string, error) {
	if by.Role != "" && !Can(by.Role, ActionManageStaff) {
		return "", ErrForbidden{Role: by.Role, Action: ActionManageStaff}
	}
	m, err := s.Member(ctx, staffID)
	if err != nil {
		return "", err
	}
	if m.Status == Disabled {
		return "", ErrNotActive
	}
	now := s.clock.Now()
	var token string
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EndStaffSetupLinks(ctx, staffID, now); err != nil {
			return err
		}
		if token, err = newSetupLink(ctx, tx, staffID, now); err != nil {
			return err
		}
		return Record(ctx, tx, Entry{Actor: by, Action: ActionManageStaff, At: now,
			Detail: map[string]string{"op": "setup_link", "staff": staffID, "email": m.Email}})
	})
	return token, err
}

// SetupLink returns the member a setup link's token is for, while the link works; ErrLinkUnknown,
// ErrLinkUsed, ErrLinkExpired or ErrNotActive (disabled meanwhile) otherwise. It changes nothing:
// the enrollment that finishes the setup takes the link (TakeSetupLink).
func (s *Service) SetupLink(ctx context.Context, token string) (Member, error) {
	l, err := s.st.StaffSetupLinkByID(ctx, tokenID(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Member{}, ErrLinkUnknown
	case err != nil:
		return Member{}, err
	case !l.UsedAt.IsZero():
		return Member{}, ErrLinkUsed
	case !s.clock.Now().Before(l.ExpiresAt):
		return Member{}, ErrLinkExpired
	}
	m, err := s.Member(ctx, l.StaffID)
	if err != nil {
		return Member{}, err
	}
	if m.Status == Disabled {
		return Member{}, ErrNotActive
	}
	return m, nil
}

// TakeSetupLink uses up the setup link of member m (as SetupLink returned it) inside tx, the
// transaction that stores the factor it enrolled (kind: totp or passkey), makes m active and
// records it. Of two requests with one link, one wins; the other gets ErrLinkUsed.
func TakeSetupLink(ctx context.Context, tx *store.Tx, token string, m Member, kind, clientIP string, now time.Time) error {
	id, err := tx.TakeStaffSetupLink(ctx, tokenID(token), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrLinkUnknown
	case errors.Is(err, store.ErrSpent):
		return ErrLinkUsed
	case errors.Is(err, store.ErrExpired):
		return ErrLinkExpired
	case err != nil:
		return err
	case id != m.ID:
		return ErrLinkUnknown
	}
	if _, err := tx.SetStaffStatus(ctx, id, string(Active), now); err != nil {
		return err
	}
	return Record(ctx, tx, Entry{Actor: m.Actor(clientIP), Action: ActionSetUp, At: now, Detail: map[string]string{"kind": kind}})
}

// Disable stops a staff member from signing in: their status, their setup links and their staff
// sessions end, and it is recorded, in one transaction. An admin cannot disable themselves.
func (s *Service) Disable(ctx context.Context, by Actor, staffID, reason string) error {
	if by.Role != "" && !Can(by.Role, ActionManageStaff) {
		return ErrForbidden{Role: by.Role, Action: ActionManageStaff}
	}
	if by.StaffID == staffID {
		return ErrSelf
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return ErrNoReason
	}
	m, err := s.Member(ctx, staffID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		changed, err := tx.SetStaffStatus(ctx, staffID, string(Disabled), now)
		if err != nil || !changed {
			return err
		}
		if err := tx.EndStaffSetupLinks(ctx, staffID, now); err != nil {
			return err
		}
		n, err := tx.EndSessions(ctx, SessionKind, staffID, "", now)
		if err != nil {
			return err
		}
		return Record(ctx, tx, Entry{Actor: by, Action: ActionManageStaff, Reason: reason, At: now,
			Detail: map[string]string{"op": "disable", "staff": staffID, "email": m.Email, "sessions_ended": fmt.Sprint(n)}})
	})
}

// A staff session lasts a working day at most, and ends after half an hour unused.
const (
	SessionMaxAge = 8 * time.Hour
	SessionIdle   = 30 * time.Minute
)

// SessionKind is the kind of the sessions staff sign in with (internal/session's Staff), whose
// subject is the staff ID.
const SessionKind = "staff"

// SelfCheck refuses (ErrSelf) an action of staff member m on the user userID when it is m's own
// user account: the user's email is the member's. The console calls it before every action on a
// user.
func (s *Service) SelfCheck(ctx context.Context, m Member, userID string) error {
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("self check: %w", err)
	}
	if u.Email != "" && strings.EqualFold(strings.TrimSpace(u.Email), m.Email) {
		return ErrSelf
	}
	return nil
}

// Entry is one record of the audit log, as the caller writes it.
type Entry struct {
	Actor  Actor
	Action Action
	UserID string // "" when the action concerns no user
	Reason string
	At     time.Time
	Detail map[string]string
}

// Record writes e to the audit log inside tx, the transaction of the change it records.
func Record(ctx context.Context, tx *store.Tx, e Entry) error {
	if e.Actor.Name == "" {
		return errors.New("staff: an audit entry needs an actor")
	}
	_, err := tx.AppendStaffAudit(ctx, store.StaffAuditEntry{At: e.At, StaffID: e.Actor.StaffID, Actor: e.Actor.Name,
		StaffRole: string(e.Actor.Role), Action: string(e.Action), UserID: e.UserID, Reason: strings.TrimSpace(e.Reason),
		ClientIP: e.Actor.ClientIP, Detail: e.Detail})
	return err
}

// Log records e on its own, for an action that changes nothing else (a search, a view, an
// export). At defaults to now.
func (s *Service) Log(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return Record(ctx, tx, e) })
}

// Filter chooses audit entries; zero fields do not filter. From is inclusive, To exclusive.
type Filter = store.StaffAuditFilter

// AuditRecord is an audit entry as the log returns it.
type AuditRecord = store.StaffAuditEntry

// Audit returns the audit entries f chooses, newest first.
func (s *Service) Audit(ctx context.Context, f Filter) ([]AuditRecord, error) {
	return s.st.StaffAudit(ctx, f)
}

// RequireReason returns reason trimmed, or ErrNoReason when it is empty: every action on a user
// says why.
func RequireReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", ErrNoReason
	}
	return reason, nil
}

// ref is how a member's record names who created it.
func (a Actor) ref() string {
	if a.StaffID != "" {
		return a.StaffID
	}
	return a.Name
}

func newSetupLink(ctx context.Context, tx *store.Tx, staffID string, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("setup link: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := tx.InsertStaffSetupLink(ctx, store.StaffSetupLink{ID: tokenID(token), StaffID: staffID, CreatedAt: now,
		ExpiresAt: now.Add(SetupLinkTTL)}); err != nil {
		return "", err
	}
	return token, nil
}

func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("staff id: %w", err)
	}
	return "st_" + hex.EncodeToString(b), nil
}

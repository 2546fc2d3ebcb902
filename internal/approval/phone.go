package approval

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
)

// Method names approval on the phone in the history's signin.succeeded (its description is the
// catalogue's method.approval; method.phone names SMS codes already).
const Method = "approval"

// Settings are the rules of approvals.
type Settings struct {
	Digits      int           // digits of the number the phone types: 3 to 6
	TTL         time.Duration // lifetime of a request
	CompleteTTL time.Duration // how long an approved request may still be completed
	Gap         time.Duration // least time between two requests of an account
	WindowMax   int           // requests per Window and account
	Window      time.Duration
	DayMax      int // requests per day and account without a successful one
	FailuresMax int // failures in a row that suspend approvals
	Suspension  time.Duration
}

// DefaultSettings are the rules the issue of the feature names, with digits for the number.
func DefaultSettings(digits int) Settings {
	return Settings{Digits: digits, TTL: 2 * time.Minute, CompleteTTL: time.Minute, Gap: 30 * time.Second,
		WindowMax: 5, Window: 15 * time.Minute, DayMax: 10, FailuresMax: 3, Suspension: time.Hour}
}

// Refusal reasons of ErrRefused.
const (
	RefusedOpen      = "open"      // a request of the account is open
	RefusedWait      = "wait"      // the last request is too recent
	RefusedWindow    = "window"    // WindowMax requests in the window
	RefusedDay       = "day"       // DayMax requests today without a success
	RefusedSuspended = "suspended" // suspended after failures or "this wasn't me"
)

// ErrRefused refuses a new request: why, and when one may be asked again.
type ErrRefused struct {
	Reason string
	Until  time.Time
}

func (e ErrRefused) Error() string {
	return fmt.Sprintf("approval refused (%s) until %s", e.Reason, e.Until.Format(time.RFC3339))
}

var (
	// ErrNotFound: no such request for this browser or this approver.
	ErrNotFound = errors.New("approval: no such request")
	// ErrClosed: the request is no longer pending (decided, expired) or no longer approved.
	ErrClosed = errors.New("approval: request closed")
	// ErrWrongNumber: the phone typed another number; the request is over.
	ErrWrongNumber = errors.New("approval: wrong number")
	// ErrNotApprover: the session is not enrolled as an approver.
	ErrNotApprover = errors.New("approval: not an approver")
)

// Notifier tells the user's approver devices of a new request (Web Push); its delivery is best
// effort, as every open page of the portal polls too.
type Notifier interface {
	Notify(ctx context.Context, userID string, r Request)
}

// Request is a sign-in waiting for approval, as an approver sees it: what is asking, never the number.
type Request struct {
	ID        string
	UserID    string
	State     string
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Started is a new request, for the desktop: the number it shows, and the binding secret its
// cookie keeps.
type Started struct {
	ID        string
	Number    string
	Binding   string
	ExpiresAt time.Time
}

// Approval on the phone signs a user in on one browser (the desktop) by approval from another browser
// where they are signed in already (the phone), with number matching: the desktop shows a number
// of a few random digits, and the phone must type it. It is convenient, not phishing-resistant (a
// page in the middle can relay the number), so it never completes the retirement and pages rank
// it below passkeys.
//
// A phone approves only once the user enrolled its signed-in session as an approver from My
// security after a step-up; ending that session or removing it stops its approvals. Requests are
// rows in the database whose states move forward only, by compare-and-swap, so any instance can
// serve any step: pending → approved → consumed, or denied, wrong (one mistyped number ends the
// request) or expired. The desktop holds a binding secret (its cookie) without which no one can
// read the status or complete the sign-in.
//
// Limits per account, each taken by one statement that checks and takes at once: one open request,
// 30 s between requests, 5 per 15 minutes, 10 a day without a success. Three requests in a row
// denied, mistyped or ignored suspend approvals for an hour and email the user; "this wasn't me"
// denies and suspends at once. An account that does not exist gets requests like any other, which
// no one can approve, so the sign-in page tells nobody whether an account exists.
//
// Service runs these approvals.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	key     []byte // keys the hashes of numbers
	notices *securitynotice.Service
	notify  Notifier
	set     Settings
}

// New returns the approval service; key keys the stored hashes of numbers; notify may be nil.
func New(st *store.SQL, clk clock.Clock, key []byte, notices *securitynotice.Service, notify Notifier, set Settings) *Service {
	if set.Digits < 3 || set.Digits > 6 {
		set.Digits = 6
	}
	return &Service{st: st, clock: clk, key: key, notices: notices, notify: notify, set: set}
}

// Settings returns the service's rules.
func (s *Service) Settings() Settings { return s.set }

// Start opens a request to sign in to the account sub, from c. The limits are taken in the
// transaction that stores it; ErrRefused says which refused.
func (s *Service) Start(ctx context.Context, sub identity.Subject, c audit.Client) (Started, error) {
	now := s.clock.Now()
	if err := s.expire(ctx, sub.Key, now); err != nil {
		return Started{}, err
	}
	id, err := random(16)
	if err != nil {
		return Started{}, err
	}
	binding, err := random(32)
	if err != nil {
		return Started{}, err
	}
	number, err := s.newNumber()
	if err != nil {
		return Started{}, err
	}
	r := store.ApprovalRequest{ID: id, Account: sub.Key, UserID: sub.UserID, NumberHash: s.numberHash(id, number), BindingHash: bindingHash(binding),
		State: store.ApprovalPending, IP: c.IP, UserAgent: c.UserAgent, CreatedAt: now, ExpiresAt: now.Add(s.set.TTL)}
	var refused error
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		a, ok, err := tx.OpenApproval(ctx, sub.Key, id, s.set.Gap, now, r.ExpiresAt)
		if err != nil {
			return err
		}
		if !ok {
			switch {
			case a.SuspendedUntil.After(now):
				refused = ErrRefused{Reason: RefusedSuspended, Until: a.SuspendedUntil}
			case a.OpenUntil.After(now):
				refused = ErrRefused{Reason: RefusedOpen, Until: a.OpenUntil}
			default:
				refused = ErrRefused{Reason: RefusedWait, Until: a.LastAt.Add(s.set.Gap)}
			}
			return refused
		}
		window := now.Truncate(s.set.Window)
		if ok, err = tx.TakeCounter(ctx, windowKey(sub.Key), window, window.Add(s.set.Window), s.set.WindowMax, now); err != nil {
			return err
		} else if !ok {
			refused = ErrRefused{Reason: RefusedWindow, Until: window.Add(s.set.Window)}
			return refused
		}
		day := now.Truncate(24 * time.Hour)
		if ok, err = tx.TakeCounter(ctx, dayKey(sub.Key), day, day.Add(24*time.Hour), s.set.DayMax, now); err != nil {
			return err
		} else if !ok {
			refused = ErrRefused{Reason: RefusedDay, Until: day.Add(24 * time.Hour)}
			return refused
		}
		if err := tx.CreateApprovalRequest(ctx, r); err != nil {
			return err
		}
		if sub.UserID == "" {
			return nil
		}
		return tx.AppendEvent(ctx, audit.ApprovalRequested.Event(sub.UserID, c, now, nil))
	})
	if refused != nil {
		return Started{}, refused
	}
	if err != nil {
		return Started{}, fmt.Errorf("start approval: %w", err)
	}
	if s.notify != nil && sub.UserID != "" {
		s.notify.Notify(context.WithoutCancel(ctx), sub.UserID, toRequest(r))
	}
	return Started{ID: id, Number: number, Binding: binding, ExpiresAt: r.ExpiresAt}, nil
}

// Pending lists the requests an approver session of userID may answer now, newest first; none
// when the session is not an approver.
func (s *Service) Pending(ctx context.Context, userID, sessionID string) ([]Request, error) {
	ok, err := s.st.IsApprover(ctx, userID, sessionID)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.st.PendingApprovals(ctx, userID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(rows))
	for _, r := range rows {
		out = append(out, toRequest(r))
	}
	return out, nil
}

// Get returns a pending request for an approver session of userID to answer; ErrNotFound for a
// request of another account or a session that is no approver, ErrClosed for one decided or expired.
func (s *Service) Get(ctx context.Context, userID, sessionID, id string) (Request, error) {
	r, err := s.approvable(ctx, userID, sessionID, id)
	if err != nil {
		return Request{}, err
	}
	if r.State != store.ApprovalPending || !s.clock.Now().Before(r.ExpiresAt) {
		return toRequest(r), ErrClosed
	}
	return toRequest(r), nil
}

func (s *Service) approvable(ctx context.Context, userID, sessionID, id string) (store.ApprovalRequest, error) {
	ok, err := s.st.IsApprover(ctx, userID, sessionID)
	if err != nil {
		return store.ApprovalRequest{}, err
	}
	if !ok {
		return store.ApprovalRequest{}, ErrNotApprover
	}
	r, err := s.st.ApprovalRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (r.UserID == "" || r.UserID != userID) {
		return store.ApprovalRequest{}, ErrNotFound
	}
	return r, err
}

// Approve approves request id from the approver session of userID with the number typed on the
// phone. One try: a wrong number ends the request and counts as a failure (ErrWrongNumber).
func (s *Service) Approve(ctx context.Context, userID, sessionID, id, typed string, c audit.Client) error {
	r, err := s.approvable(ctx, userID, sessionID, id)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	if !hmac.Equal([]byte(s.numberHash(id, typed)), []byte(r.NumberHash)) {
		moved, err := s.fail(ctx, r, store.ApprovalWrong, sessionID, c, now, false)
		if err != nil {
			return err
		}
		if !moved {
			return ErrClosed
		}
		return ErrWrongNumber
	}
	var moved bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if moved, err = tx.MoveApproval(ctx, id, store.ApprovalPending, store.ApprovalApproved, sessionID, now, now.Add(s.set.CompleteTTL)); err != nil || !moved {
			return err
		}
		return tx.AppendEvent(ctx, audit.ApprovalApproved.Event(userID, c, now, nil))
	})
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	if !moved {
		return ErrClosed
	}
	return nil
}

// Deny refuses request id from the approver session of userID. notMe ("this wasn't me") also
// suspends approvals at once and emails the user.
func (s *Service) Deny(ctx context.Context, userID, sessionID, id string, notMe bool, c audit.Client) error {
	r, err := s.approvable(ctx, userID, sessionID, id)
	if err != nil {
		return err
	}
	moved, err := s.fail(ctx, r, store.ApprovalDenied, sessionID, c, s.clock.Now(), notMe)
	if err != nil {
		return err
	}
	if !moved {
		return ErrClosed
	}
	return nil
}

// Status returns the state of request id for the browser that holds its binding secret; an
// expired request is marked so (counting as ignored). ErrNotFound for anyone else.
func (s *Service) Status(ctx context.Context, id, binding string) (string, error) {
	r, err := s.bound(ctx, id, binding)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	if (r.State == store.ApprovalPending || r.State == store.ApprovalApproved) && !now.Before(r.ExpiresAt) {
		if err := s.expire(ctx, r.Account, now); err != nil {
			return "", err
		}
		return store.ApprovalExpired, nil
	}
	return r.State, nil
}

// Completion is an approved sign-in completed by the desktop: whom it signs in, and how (amr).
type Completion struct {
	UserID    string
	Methods   []string
	Approver  string // the approving session's ID
	RequestID string
}

// Complete consumes the approved request id for the browser that holds its binding secret, once:
// a replay finds it consumed (ErrClosed). The history records the sign-in and the user is told by
// email, in the same transaction.
func (s *Service) Complete(ctx context.Context, id, binding string, c audit.Client) (Completion, error) {
	r, err := s.bound(ctx, id, binding)
	if err != nil {
		return Completion{}, err
	}
	if r.UserID == "" {
		return Completion{}, ErrClosed
	}
	u, err := s.st.UserByID(ctx, r.UserID)
	if err != nil {
		return Completion{}, err
	}
	now := s.clock.Now()
	var moved bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if moved, err = tx.MoveApproval(ctx, id, store.ApprovalApproved, store.ApprovalConsumed, "", now, time.Time{}); err != nil || !moved {
			return err
		}
		if err := tx.SucceedApproval(ctx, r.Account, id); err != nil {
			return err
		}
		if err := tx.ResetCounter(ctx, dayKey(r.Account)); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, audit.SignInSucceeded.Event(r.UserID, c, now, map[string]string{"method": Method})); err != nil {
			return err
		}
		return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.ApprovalSignedIn, Client: c, At: now})
	})
	if err != nil {
		return Completion{}, fmt.Errorf("complete approval: %w", err)
	}
	if !moved {
		return Completion{}, ErrClosed
	}
	return Completion{UserID: r.UserID, Methods: append([]string(nil), AMR...), Approver: r.DecidedBy, RequestID: id}, nil
}

// SuspendedUntil tells until when the account's approvals are suspended; zero when they are not.
func (s *Service) SuspendedUntil(ctx context.Context, account string) (time.Time, error) {
	a, err := s.st.ApprovalAccountState(ctx, account)
	if err != nil || !a.SuspendedUntil.After(s.clock.Now()) {
		return time.Time{}, err
	}
	return a.SuspendedUntil, nil
}

func (s *Service) bound(ctx context.Context, id, binding string) (store.ApprovalRequest, error) {
	if id == "" || binding == "" {
		return store.ApprovalRequest{}, ErrNotFound
	}
	r, err := s.st.ApprovalRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	if subtle.ConstantTimeCompare([]byte(bindingHash(binding)), []byte(r.BindingHash)) != 1 {
		return store.ApprovalRequest{}, ErrNotFound
	}
	return r, nil
}

// fail ends the pending request r in state to (denied or wrong) and counts a failure in a row,
// suspending approvals (at once for notMe) and emailing the user when that suspends them.
func (s *Service) fail(ctx context.Context, r store.ApprovalRequest, to, sessionID string, c audit.Client, now time.Time, notMe bool) (bool, error) {
	u, err := s.st.UserByID(ctx, r.UserID)
	if err != nil {
		return false, err
	}
	var moved bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if moved, err = tx.MoveApproval(ctx, r.ID, store.ApprovalPending, to, sessionID, now, time.Time{}); err != nil || !moved {
			return err
		}
		reason := to
		if notMe {
			reason = "not_me"
		}
		if err := tx.AppendEvent(ctx, audit.ApprovalDenied.Event(r.UserID, c, now, map[string]string{"reason": reason})); err != nil {
			return err
		}
		suspended := notMe
		if notMe {
			err = tx.SuspendApproval(ctx, r.Account, now.Add(s.set.Suspension))
		} else {
			suspended, err = tx.FailApproval(ctx, r.Account, r.ID, s.set.FailuresMax, now.Add(s.set.Suspension))
		}
		if err != nil || !suspended {
			return err
		}
		return s.suspended(ctx, tx, u, reason, c, now)
	})
	if err != nil {
		return false, fmt.Errorf("end approval: %w", err)
	}
	return moved, nil
}

// expire marks the account's pending requests that ran out as ignored, each a failure in a row.
func (s *Service) expire(ctx context.Context, account string, now time.Time) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		ids, err := tx.ExpireApprovals(ctx, account, now)
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			suspended, err := tx.FailApproval(ctx, account, id, s.set.FailuresMax, now.Add(s.set.Suspension))
			if err != nil {
				return err
			}
			if !suspended || len(account) < 3 || account[:2] != "u:" {
				continue
			}
			u, err := s.st.UserByID(ctx, account[2:])
			if err != nil {
				return err
			}
			if err := s.suspended(ctx, tx, u, store.ApprovalExpired, audit.Client{}, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// suspended records that approvals of u are suspended, and tells u.
func (s *Service) suspended(ctx context.Context, tx *store.Tx, u campaign.User, reason string, c audit.Client, now time.Time) error {
	if err := tx.AppendEvent(ctx, audit.ApprovalSuspended.Event(u.ID, c, now, map[string]string{"reason": reason})); err != nil {
		return err
	}
	return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.ApprovalSuspended, Client: c, At: now,
		Data: map[string]string{"minutes": fmt.Sprint(int(s.set.Suspension.Minutes()))}})
}

func toRequest(r store.ApprovalRequest) Request {
	return Request{ID: r.ID, UserID: r.UserID, State: r.State, IP: r.IP, UserAgent: r.UserAgent, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

func windowKey(account string) string { return "approval-window:" + account }
func dayKey(account string) string    { return "approval-day:" + account }

// newNumber returns Digits random decimal digits, leading zeros kept.
func (s *Service) newNumber() (string, error) {
	max := big.NewInt(1)
	for range s.set.Digits {
		max.Mul(max, big.NewInt(10))
	}
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("approval number: %w", err)
	}
	return fmt.Sprintf("%0*d", s.set.Digits, n), nil
}

func (s *Service) numberHash(id, number string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id + "\x00" + number))
	return hex.EncodeToString(m.Sum(nil))
}

func bindingHash(binding string) string {
	sum := sha256.Sum256([]byte(binding))
	return hex.EncodeToString(sum[:])
}

func random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("approval: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Enroll makes the user's signed-in session an approver (after a step-up, which the caller's
// route requires), and records it.
func (s *Service) Enroll(ctx context.Context, userID, sessionID string, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		added, err := tx.AddApprover(ctx, sessionID, userID, now)
		if err != nil || !added {
			return err
		}
		return tx.AppendEvent(ctx, audit.ApprovalEnrolled.Event(userID, c, now, nil))
	})
}

// Remove stops the user's session from approving, with its notifications, and records it; false
// when it was no approver.
func (s *Service) Remove(ctx context.Context, userID, sessionID string, c audit.Client) (bool, error) {
	now := s.clock.Now()
	var removed bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if removed, err = tx.RemoveApprover(ctx, userID, sessionID); err != nil || !removed {
			return err
		}
		return tx.AppendEvent(ctx, audit.ApprovalRemoved.Event(userID, c, now, nil))
	})
	return removed, err
}

// Approvers returns the IDs of the user's sessions enrolled as approvers.
func (s *Service) Approvers(ctx context.Context, userID string) (map[string]bool, error) {
	return s.st.Approvers(ctx, userID)
}

// IsApprover reports whether the user's session is an approver.
func (s *Service) IsApprover(ctx context.Context, userID, sessionID string) (bool, error) {
	return s.st.IsApprover(ctx, userID, sessionID)
}

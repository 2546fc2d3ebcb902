// Package qrsignin signs a user in on a computer with their phone (扫码登录): the computer shows a
// QR code for BASE_URL/qr/{id}; the user's phone, where they are signed in, scans it, sees what is
// asking (internal/approval) and approves; the computer, which alone holds the binding token of
// its cookie, then completes and gets a fresh session.
//
// Every step is one conditional update of the sign-in's row, so any instance can serve any step
// and racing requests cannot both win: pending → claimed → approved → consumed, or denied,
// cancelled, expired. A pending code lives PendingTTL and is replaced by a new one at most
// MaxRefreshes times; a claim must be approved within ClaimTTL; the whole sign-in ends after
// Lifetime. Limits are check-and-take statements on the database's counters: CodesPerMinute new
// codes per client IP, one claimed code per account at a time, ApprovalsPerHour per account.
//
// A QR code sign-in is convenient, not phishing-resistant: a code relayed from an attacker's
// computer still works if the user approves it. It is never a factor: it completes no retirement,
// and services learn it as amr "mca" (approval.AMR).
package qrsignin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
)

// The lifetimes and limits of a QR code sign-in.
const (
	PendingTTL       = 2 * time.Minute  // a code not scanned is replaced after this
	MaxRefreshes     = 5                // codes replaced before the computer must ask for a new one
	ClaimTTL         = 60 * time.Second // a scanned code must be approved within this
	ApprovedTTL      = 60 * time.Second // an approved code must be completed within this
	Lifetime         = 10 * time.Minute // the whole sign-in, refreshes included
	ApproverFresh    = 15 * time.Minute // the phone's sign-in must be this recent to scan
	CodesPerMinute   = 10               // new codes per client IP and minute
	ApprovalsPerHour = 5                // approvals per account and clock hour
)

// State is where a sign-in stands, as store.QR… names it.
type State string

// The states. Live ones (pending, claimed, approved) read as expired once their time ran out.
const (
	Pending   State = store.QRPending
	Claimed   State = store.QRClaimed
	Approved  State = store.QRApproved
	Consumed  State = store.QRConsumed
	Denied    State = store.QRDenied
	Cancelled State = store.QRCancelled
	Expired   State = store.QRExpired
)

// Errors the steps answer with.
var (
	ErrNotFound        = errors.New("qr sign-in: no such code")                             // never made, or refreshed since
	ErrTaken           = errors.New("qr sign-in: scanned by another phone first")           // a second scanner
	ErrGone            = errors.New("qr sign-in: no longer waiting")                        // expired, denied, cancelled or done
	ErrBusy            = errors.New("qr sign-in: another code is waiting for this account") // one claim per account at a time
	ErrTooManyCodes    = errors.New("qr sign-in: too many codes from this client")
	ErrTooManyApproval = errors.New("qr sign-in: too many approvals for this account this hour")
	ErrForged          = errors.New("qr sign-in: the form's token does not match the session")
)

// Service runs QR code sign-ins.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	key     []byte // keys the approval forms' tokens
	notices *securitynotice.Service
}

// New returns the service; key keys the tokens that tie an approval form to the phone's session
// (give it its own, such as keyring.Derive(keys.Token, "qr sign-in forms", 32)).
func New(st *store.SQL, clk clock.Clock, key []byte, notices *securitynotice.Service) *Service {
	return &Service{st: st, clock: clk, key: key, notices: notices}
}

// Ticket is what the computer keeps in its binding cookie: the binding token, which alone may
// watch and complete the sign-in, and the QR code's current id (128 random bits), which the code
// shows. The database keeps only their hashes.
type Ticket struct {
	Binding string
	ID      string
}

// Code is a sign-in as the computer or the phone sees it.
type Code struct {
	State     State
	Refreshes int
	Asking    approval.Context // the computer, as the approver sees it
	UserID    string           // who claimed it
	ClaimedBy string           // the claiming phone's session ID
	Until     time.Time        // when the current state runs out
	EndsAt    time.Time
}

// Start makes a new pending sign-in for the computer c; ErrTooManyCodes past CodesPerMinute
// codes from its IP address this minute.
func (s *Service) Start(ctx context.Context, c audit.Client) (Ticket, error) {
	now := s.clock.Now()
	binding, err := randomToken(32)
	if err != nil {
		return Ticket{}, err
	}
	id, err := randomToken(16)
	if err != nil {
		return Ticket{}, err
	}
	minute := now.Truncate(time.Minute)
	var refused bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.TakeCounter(ctx, "qr-codes-ip:"+c.IP, minute, minute.Add(time.Minute), CodesPerMinute, now)
		if err != nil || !ok {
			refused = !ok
			return err
		}
		return tx.CreateQRSignIn(ctx, store.QRSignIn{Binding: hash(binding), Code: hash(id), IP: c.IP, UserAgent: c.UserAgent,
			CreatedAt: now, StateUntil: now.Add(PendingTTL), EndsAt: now.Add(Lifetime)})
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("start qr sign-in: %w", err)
	}
	if refused {
		return Ticket{}, ErrTooManyCodes
	}
	return Ticket{Binding: binding, ID: id}, nil
}

// Watch tells the computer holding t where its sign-in stands. A pending code that ran out is
// replaced by a new one (the Ticket returned carries its id) while refreshes and time are left,
// else the sign-in expires and the computer must ask for a new code. ErrNotFound for a binding
// that names no sign-in.
func (s *Service) Watch(ctx context.Context, t Ticket) (Code, Ticket, error) {
	now := s.clock.Now()
	row, err := s.st.QRSignInByBinding(ctx, hash(t.Binding))
	if errors.Is(err, store.ErrNotFound) {
		return Code{}, t, ErrNotFound
	}
	if err != nil {
		return Code{}, t, err
	}
	code := codeOf(row, now)
	if code.State != Expired || row.State == store.QRExpired {
		return code, t, nil
	}
	if row.State == store.QRPending && row.Refreshes < MaxRefreshes && now.Before(row.EndsAt) {
		id, err := randomToken(16)
		if err != nil {
			return Code{}, t, err
		}
		next, ok, err := s.st.RefreshQRSignIn(ctx, row.Binding, hash(id), MaxRefreshes, minTime(now.Add(PendingTTL), row.EndsAt), now)
		if err != nil {
			return Code{}, t, err
		}
		if ok {
			return codeOf(next, now), Ticket{Binding: t.Binding, ID: id}, nil
		}
	}
	// Out of refreshes or time (or a racing watch refreshed it): expire what ran out.
	if _, _, err := s.st.ExpireQRSignIn(ctx, row.Binding, now); err != nil {
		return Code{}, t, err
	}
	row, err = s.st.QRSignInByBinding(ctx, row.Binding)
	if err != nil {
		return Code{}, t, err
	}
	return codeOf(row, now), t, nil
}

// Current reports whether t's id is the sign-in's current code (a refresh by another tab of the
// same browser replaces it).
func (s *Service) Current(ctx context.Context, t Ticket) (bool, error) {
	row, err := s.st.QRSignInByBinding(ctx, hash(t.Binding))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && row.Code == hash(t.ID), err
}

// Cancel ends the computer's sign-in while it waits (the user chose another way), giving the
// account's claim back if a phone had claimed it.
func (s *Service) Cancel(ctx context.Context, t Ticket) error {
	row, ok, err := s.st.CancelQRSignIn(ctx, hash(t.Binding))
	if err != nil || !ok || row.UserID == "" {
		return err
	}
	// It was claimed: the account may claim another code at once.
	return s.st.GiveBackCounter(context.WithoutCancel(ctx), claimKey(row.UserID), time.UnixMilli(0))
}

// Complete ends the computer's approved sign-in, once, and records it with the user's notice in
// one transaction: the caller starts the session for the user it returns. A second completion,
// or one not approved, is ErrGone; the computer is c.
func (s *Service) Complete(ctx context.Context, t Ticket, c audit.Client) (string, error) {
	now := s.clock.Now()
	var userID string
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		row, ok, err := tx.ConsumeQRSignIn(ctx, hash(t.Binding), now)
		if err != nil || !ok {
			return err
		}
		userID = row.UserID
		if err := tx.AppendEvent(ctx, audit.SignInQR.Event(userID, c, now, nil)); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		return s.notices.Send(ctx, tx, u, securitynotice.Notice{Change: securitynotice.SignInQR, Client: c, At: now})
	})
	if err != nil {
		return "", fmt.Errorf("complete qr sign-in: %w", err)
	}
	if userID == "" {
		return "", ErrGone
	}
	return userID, nil
}

// Look tells the phone what the code id is: what is asking and where it stands. It changes
// nothing, as link previewers open URLs too.
func (s *Service) Look(ctx context.Context, id string) (Code, error) {
	row, err := s.st.QRSignInByCode(ctx, hash(id))
	if errors.Is(err, store.ErrNotFound) {
		return Code{}, ErrNotFound
	}
	if err != nil {
		return Code{}, err
	}
	return codeOf(row, s.clock.Now()), nil
}

// Claim takes the code id for userID on the phone session sessionID: the first scanner wins and
// the computer hides the code. ErrTaken when another phone claimed it, ErrGone when it no longer
// waits, ErrBusy while another code is claimed for the account. A second tap of the same phone
// claims nothing new and is no error.
func (s *Service) Claim(ctx context.Context, id, userID, sessionID string, c audit.Client) error {
	now := s.clock.Now()
	var busy, lost bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.TakeCounter(ctx, claimKey(userID), time.UnixMilli(0), now.Add(ClaimTTL), 1, now)
		if err != nil {
			return err
		}
		if !ok {
			busy = true
			return errRollback
		}
		_, ok, err = tx.ClaimQRSignIn(ctx, hash(id), userID, sessionID, now.Add(ClaimTTL), now)
		if err != nil {
			return err
		}
		if !ok {
			lost = true
			return errRollback // gives the account's claim back
		}
		return tx.AppendEvent(ctx, audit.QRClaimed.Event(userID, c, now, nil))
	})
	if err != nil && !errors.Is(err, errRollback) {
		return fmt.Errorf("claim qr sign-in: %w", err)
	}
	if !busy && !lost {
		return nil
	}
	code, err := s.Look(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case code.State == Claimed && code.ClaimedBy == sessionID:
		return nil
	case code.State == Claimed:
		return ErrTaken
	case busy && code.State == Pending:
		return ErrBusy
	}
	return ErrGone
}

// errRollback ends a transaction whose step did not happen, undoing what it took.
var errRollback = errors.New("qr sign-in: rolled back")

// Approve lets the computer in: the code id that the phone session sessionID claimed moves to
// approved. token is the approval form's (FormToken). ErrTooManyApproval past ApprovalsPerHour
// for the account; ErrGone when the claim ran out or is not this session's.
func (s *Service) Approve(ctx context.Context, id, userID, sessionID, token string, c audit.Client) error {
	if !s.tokenMatches(sessionID, id, token) {
		return ErrForged
	}
	now := s.clock.Now()
	hour := now.Truncate(time.Hour)
	var limited, lost bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.TakeCounter(ctx, "qr-approvals:"+userID, hour, hour.Add(time.Hour), ApprovalsPerHour, now)
		if err != nil {
			return err
		}
		if !ok {
			limited = true
			return errRollback
		}
		_, ok, err = tx.ApproveQRSignIn(ctx, hash(id), sessionID, now.Add(ApprovedTTL), now)
		if err != nil {
			return err
		}
		if !ok {
			lost = true
			return errRollback // gives the approval back
		}
		return tx.AppendEvent(ctx, audit.QRApproved.Event(userID, c, now, nil))
	})
	switch {
	case err != nil && !errors.Is(err, errRollback):
		return fmt.Errorf("approve qr sign-in: %w", err)
	case limited:
		return ErrTooManyApproval
	case lost:
		return ErrGone
	}
	return s.st.GiveBackCounter(context.WithoutCancel(ctx), claimKey(userID), time.UnixMilli(0))
}

// Deny refuses the computer: the code id that the phone session sessionID claimed moves to
// denied. notMe says the user did not start this sign-in (someone showed them a code), which the
// history records as such.
func (s *Service) Deny(ctx context.Context, id, userID, sessionID, token string, notMe bool, c audit.Client) error {
	if !s.tokenMatches(sessionID, id, token) {
		return ErrForged
	}
	now := s.clock.Now()
	var lost bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		_, ok, err := tx.DenyQRSignIn(ctx, hash(id), sessionID, now)
		if err != nil {
			return err
		}
		if !ok {
			lost = true
			return errRollback
		}
		ev := audit.QRDenied
		if notMe {
			ev = audit.QRNotMe
		}
		return tx.AppendEvent(ctx, ev.Event(userID, c, now, nil))
	})
	switch {
	case err != nil && !errors.Is(err, errRollback):
		return fmt.Errorf("deny qr sign-in: %w", err)
	case lost:
		return ErrGone
	}
	return s.st.GiveBackCounter(context.WithoutCancel(ctx), claimKey(userID), time.UnixMilli(0))
}

// FormToken is the token the phone's approval form carries: it ties an approval or a denial of
// the code id to the phone session sessionID, so no other page can post one.
func (s *Service) FormToken(sessionID, id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("smsretire qr approval\x00" + sessionID + "\x00" + hash(id)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) tokenMatches(sessionID, id, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.FormToken(sessionID, id)))
}

// codeOf is a row as of now: a live state whose time ran out reads as expired.
func codeOf(r store.QRSignIn, now time.Time) Code {
	st := State(r.State)
	if (st == Pending || st == Claimed || st == Approved) && (!now.Before(r.StateUntil) || !now.Before(r.EndsAt)) {
		st = Expired
	}
	return Code{State: st, Refreshes: r.Refreshes, Asking: approval.ContextOf(audit.Client{IP: r.IP, UserAgent: r.UserAgent}, r.CreatedAt),
		UserID: r.UserID, ClaimedBy: r.ClaimedBy, Until: minTime(r.StateUntil, r.EndsAt), EndsAt: r.EndsAt}
}

func claimKey(userID string) string { return "qr-claim:" + userID }

// WellFormed reports whether id has the form of a QR code's id (16 random bytes, base64url), so
// that anything else is refused before the database is asked.
func WellFormed(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(16) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// BindingWellFormed is WellFormed for a binding token (32 random bytes).
func BindingWellFormed(b string) bool {
	if len(b) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(b)
	return err == nil
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("qr sign-in token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

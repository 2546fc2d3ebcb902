// Package identity verifies that the person at the browser owns an account before anything
// about its factors changes: a code to the registered phone or email, a knowledge check, or an
// assist code from support. Attempts and sends are limited per account and per client in the
// database, so the limits hold across instances and restarts.
package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/codeinput"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
)

// Method is a way to verify identity.
type Method string

// The verification methods.
const (
	MethodPhone     Method = "phone"
	MethodEmail     Method = "email"
	MethodKnowledge Method = "knowledge"
	MethodAssist    Method = "assist"
	MethodPartner   Method = "partner" // a launch from a partner site trusted to have verified the user
)

// ParseChannel reads the channel of a code: phone or email.
func ParseChannel(s string) (Method, bool) {
	switch Method(s) {
	case MethodPhone, MethodEmail:
		return Method(s), true
	}
	return "", false
}

// Subject is whom a verification is about. UserID is empty for a look-up that matched no account:
// such a subject is carried through the same steps, counters and messages as a real one, so
// nothing reveals that the account does not exist. Identified is true when the account was named
// by a signed link or a passed knowledge check, so masked contact details may be shown.
type Subject struct {
	UserID     string
	Key        string
	Identified bool
}

// Client is the browser making a request: where the history says an event came from, and what
// the per-client limits count.
type Client = audit.Client

// Settings are the verification rules.
type Settings struct {
	CodeTTL            time.Duration  // lifetime of a phone or email code
	AssistTTL          time.Duration  // lifetime of an assist code
	ResendWait         time.Duration  // between two sends to one account
	SendsPerHour       int            // codes per account and hour
	MaxAttempts        int            // wrong answers before a method locks
	Lockout            time.Duration  // how long a locked method stays locked
	ClientAttemptsHour int            // wrong answers per client and hour
	ClientSendsHour    int            // codes sent per client and clock hour
	KnowledgeSuffices  bool           // the knowledge check alone verifies, while the deadline rules allow
	Rules              campaign.Rules // which ways verify after the deadline
	Region             string         // for phone numbers without country code
	Location           *time.Location
	MinSendTime        time.Duration // every send takes at least this long, found or not
}

// Message is a code on its way to a user.
type Message struct {
	Channel  Method // phone (SMS) or email
	To       string // E.164 number or email address
	Template string // such as "verify.code", "enroll.email_code" or "signin.email_code"
	Code     string
	TTL      time.Duration
	Now      time.Time
}

// MessageFunc builds the outbox item that carries a code to the user.
type MessageFunc func(u campaign.User, m Message) (store.OutboxItem, error)

// codeSpec says what a code is for and where it goes.
type codeSpec struct {
	method   Method // the limits' method
	purpose  string // the code rows' purpose
	channel  Method // phone or email
	template string
	target   func(u campaign.User) string // "" when the user has no such address
}

// Service runs verifications.
type Service struct {
	st      *store.SQL
	clock   clock.Clock
	codeKey []byte
	ids     *campaign.IDHasher
	set     Settings
	message MessageFunc
	limits  *limit.Limiter
}

// New returns a verification service. codeKey keys the hashes of codes; ids checks ID digits.
func New(st *store.SQL, clk clock.Clock, codeKey []byte, ids *campaign.IDHasher, set Settings, message MessageFunc) *Service {
	if set.Location == nil {
		set.Location = time.UTC
	}
	if set.Rules.Location == nil {
		set.Rules.Location = set.Location
	}
	if set.Region == "" {
		set.Region = phone.DefaultRegion
	}
	if set.ClientSendsHour == 0 {
		set.ClientSendsHour = 4 * set.SendsPerHour
	}
	limits := limit.New(st, limit.Rules{MaxAttempts: set.MaxAttempts, Lockout: set.Lockout, ClientAttemptsHour: set.ClientAttemptsHour})
	return &Service{st: st, clock: clk, codeKey: codeKey, ids: ids, set: set, message: message, limits: limits}
}

// Settings returns the rules in force.
func (s *Service) Settings() Settings { return s.set }

// Limits returns the limiter of wrong answers that the service built from its settings, for the
// other ways to answer for an account (internal/signin) to share.
func (s *Service) Limits() *limit.Limiter { return s.limits }

// Find resolves what a user typed — a phone number in any common format or an account ID — to a
// subject. An input that matches no account still gives a subject, keyed by the input.
func (s *Service) Find(ctx context.Context, input string) (Subject, error) {
	input = strings.TrimSpace(input)
	if phone.LooksLikePhone(input) {
		if e164, err := phone.Normalize(input, s.set.Region); err == nil {
			users, err := s.st.UsersByPhone(ctx, e164)
			if err != nil {
				return Subject{}, err
			}
			if len(users) == 1 {
				return ForUser(users[0].ID, false), nil
			}
			// No account, or a number shared by several: the user must use the account ID.
			return s.unknown("phone:" + e164), nil
		}
	}
	u, err := s.st.UserByID(ctx, input)
	if errors.Is(err, campaign.ErrUserNotFound) {
		return s.unknown("id:" + input), nil
	}
	if err != nil {
		return Subject{}, err
	}
	return ForUser(u.ID, false), nil
}

// Shown is what a user typed to name an account, masked for display, the same way whether the
// account exists or not: a phone number as 138****8001, anything else as an account ID that keeps
// its first and last two characters (de***zh). It reads no account, so it tells nothing.
func (s *Service) Shown(input string) string {
	input = strings.TrimSpace(input)
	if phone.LooksLikePhone(input) {
		if e164, err := phone.Normalize(input, s.set.Region); err == nil {
			return phone.Mask(e164)
		}
	}
	r := []rune(input)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 5:
		return string(r[:1]) + "***"
	}
	return string(r[:2]) + "***" + string(r[len(r)-2:])
}

// ForUser returns the subject for a known account.
func ForUser(userID string, identified bool) Subject {
	return Subject{UserID: userID, Key: "u:" + userID, Identified: identified}
}

func (s *Service) unknown(what string) Subject {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte("smsretire unknown subject\x00" + what))
	return Subject{Key: "x:" + hex.EncodeToString(m.Sum(nil)[:16])}
}

// Sent tells when a code expires and when another may be sent.
type Sent struct {
	ExpiresAt time.Time
	ResendAt  time.Time
}

// SendCode sends a verification code to the subject's registered phone or email, through the
// outbox, in one transaction with the code row. For an unknown subject it does the same
// bookkeeping and sends nothing.
func (s *Service) SendCode(ctx context.Context, sub Subject, ch Method, c Client) (Sent, error) {
	spec := codeSpec{method: ch, purpose: purposeFor(ch), channel: ch, template: "verify.code", target: func(u campaign.User) string {
		if ch == MethodEmail {
			return u.Email
		}
		return u.Phone
	}}
	return s.send(ctx, sub, spec, c)
}

// SendEnrollEmailCode sends a code that confirms an email address the user wants as a factor.
func (s *Service) SendEnrollEmailCode(ctx context.Context, userID, email string, c Client) (Sent, error) {
	spec := codeSpec{method: "enroll_email", purpose: "enroll_email", channel: MethodEmail, template: "enroll.email_code",
		target: func(campaign.User) string { return email }}
	return s.send(ctx, ForUser(userID, true), spec, c)
}

// Contact methods: a code to an email address or phone number the user wants as their
// registered contact, named for the limits and the history.
const (
	MethodContactEmail Method = "contact_email"
	MethodContactPhone Method = "contact_phone"
)

// contactMethod returns the method of a code to a new contact on channel ch.
func contactMethod(ch Method) Method {
	if ch == MethodEmail {
		return MethodContactEmail
	}
	return MethodContactPhone
}

// SendContactCode sends a code to target, a new email address (ch email) or E.164 phone number (ch
// phone) the user wants to register, under the limits of every code: the account's resend wait
// and sends per hour, the client's sends, and the channel's lock after wrong answers.
func (s *Service) SendContactCode(ctx context.Context, userID string, ch Method, target string, c Client) (Sent, error) {
	m := contactMethod(ch)
	spec := codeSpec{method: m, purpose: string(m), channel: ch, template: outbox.TemplateContactCode,
		target: func(campaign.User) string { return target }}
	return s.send(ctx, ForUser(userID, true), spec, c)
}

// MatchContactCode checks the code sent by SendContactCode on channel ch, counting a wrong one
// against the account's limit; the caller consumes it in the transaction that changes the contact.
// The matched code's Target is the new address or number.
func (s *Service) MatchContactCode(ctx context.Context, userID string, ch Method, code string, c Client) (MatchedCode, error) {
	m := contactMethod(ch)
	return s.matchCode(ctx, ForUser(userID, true), m, string(m), code, c)
}

// SendSignInEmailCode sends a sign-in code to the subject's email factor. For an unknown
// subject, or one without an email factor, it does the same bookkeeping and sends nothing.
func (s *Service) SendSignInEmailCode(ctx context.Context, sub Subject, c Client) (Sent, error) {
	var address string
	if sub.UserID != "" {
		factors, err := s.st.Factors(ctx, sub.UserID)
		if err != nil {
			return Sent{}, err
		}
		for _, f := range factors {
			if f.Kind == store.FactorEmail {
				address = f.Email
				break
			}
		}
	}
	spec := codeSpec{method: "signin_email", purpose: "signin_email", channel: MethodEmail, template: "signin.email_code",
		target: func(campaign.User) string { return address }}
	sub.Identified = false // never say whether the account has an email factor
	return s.send(ctx, sub, spec, c)
}

func (s *Service) send(ctx context.Context, sub Subject, spec codeSpec, c Client) (Sent, error) {
	start := s.clock.Now()
	defer s.pad(start)
	now := start
	if sub.Key == "" {
		return Sent{}, ErrNotIdentified
	}
	if until, err := s.limits.LockedUntil(ctx, sub.Key, string(spec.method), now); err != nil {
		return Sent{}, err
	} else if !until.IsZero() {
		return Sent{}, ErrLocked{Until: until}
	}
	sent := Sent{ExpiresAt: now.Add(s.set.CodeTTL), ResendAt: now.Add(s.set.ResendWait)}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := s.takeSendSlots(ctx, tx, sub.Key, spec.purpose, now, sent.ResendAt); err != nil {
			return err
		}
		if sub.UserID != "" {
			if err := s.sendToUser(ctx, tx, sub, spec, c, now); err != nil {
				return err
			}
		}
		return s.takeClientSend(ctx, tx, c, now)
	})
	if err != nil {
		return Sent{}, err
	}
	return sent, nil
}

// takeSendSlots reserves a send inside tx, before the code is made: the subject's resend hold for
// the code's purpose until resendAt (a code to verify by email does not hold back the one that
// confirms an email factor, nor a sign-in code), and a free one of the subject's SendsPerHour send
// slots, each held for an hour, so at most SendsPerHour codes go out in any hour, not only in each
// clock hour. Each is taken by a statement that checks and takes at once; the resend hold, taken
// first, makes racing sends for one subject and purpose wait for each other on PostgreSQL (SQLite
// writes one transaction at a time anyway). What was taken stays taken only if the code is stored
// in the same transaction; a refused send takes nothing.
func (s *Service) takeSendSlots(ctx context.Context, tx *store.Tx, subKey, purpose string, now, resendAt time.Time) error {
	ok, until, err := tx.Hold(ctx, "resend:"+purpose+":"+subKey, resendAt, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrResendWait{Until: until}
	}
	slot := false
	var free time.Time
	for i := range s.set.SendsPerHour {
		ok, until, err := tx.Hold(ctx, "send:"+subKey+":"+strconv.Itoa(i), now.Add(time.Hour), now)
		if err != nil {
			return err
		}
		if ok {
			slot = true
			break
		}
		if free.IsZero() || until.Before(free) {
			free = until
		}
	}
	if !slot {
		return ErrSendLimit{Until: free}
	}
	return nil
}

// takeClientSend takes one of the client's ClientSendsHour sends in the clock hour, in the same
// statement that checks it. Every user behind one address (a carrier's NAT, an office) shares its
// row, which PostgreSQL locks until the transaction ends: taken last, just before the commit, it
// holds back the other sends from that address for one statement and the commit instead of the
// whole send (measured in BenchmarkCodeLatency, whose users all share 127.0.0.1).
func (s *Service) takeClientSend(ctx context.Context, tx *store.Tx, c Client, now time.Time) error {
	hour := now.Truncate(time.Hour)
	ok, err := tx.TakeCounter(ctx, "send-ip:"+c.IP, hour, hour.Add(time.Hour), s.set.ClientSendsHour, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrClientLimited{Until: hour.Add(time.Hour)}
	}
	return nil
}

func (s *Service) sendToUser(ctx context.Context, tx *store.Tx, sub Subject, spec codeSpec, c Client, now time.Time) error {
	u, err := tx.UserByID(ctx, sub.UserID)
	if err != nil {
		return err
	}
	if w, ok := verifyWay(spec.purpose); ok && !s.set.Rules.Allows(u, w, now, s.set.KnowledgeSuffices) {
		if sub.Identified {
			return ErrMethodClosed
		}
		return nil // said as "if the account exists and this way is still open, we sent a code"
	}
	target := spec.target(u)
	if target == "" {
		if sub.Identified {
			return ErrNoTarget
		}
		return nil
	}
	code, err := randomDigits(6)
	if err != nil {
		return err
	}
	msg, err := s.message(u, Message{Channel: spec.channel, To: target, Template: spec.template, Code: code, TTL: s.set.CodeTTL, Now: now})
	if err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	if err := tx.VoidCodes(ctx, u.ID, spec.purpose, now); err != nil {
		return err
	}
	if _, err := tx.InsertCode(ctx, store.Code{UserID: u.ID, Purpose: spec.purpose, Channel: string(spec.channel), Target: target,
		Hash: s.hash(spec.purpose, u.ID, code), CreatedAt: now, ExpiresAt: now.Add(s.set.CodeTTL)}); err != nil {
		return err
	}
	if _, err := tx.EnqueueOutbox(ctx, msg); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, audit.VerifyCodeSent.Event(u.ID, c, now, map[string]string{"method": string(spec.method)}))
}

// CheckCode checks a code sent to the subject's phone or email. On success the user is verified;
// the history records success and every failure.
func (s *Service) CheckCode(ctx context.Context, sub Subject, ch Method, code string, c Client) (campaign.User, error) {
	code, ok := codeinput.Normalize(code, codeinput.Digits, 6)
	if !ok {
		return campaign.User{}, ErrCodeFormat
	}
	return s.redeem(ctx, sub, ch, purposeFor(ch), code, c)
}

// CheckAssist checks an 8-digit assist code that support staff issued for the account.
func (s *Service) CheckAssist(ctx context.Context, sub Subject, code string, c Client) (campaign.User, error) {
	code, ok := codeinput.Normalize(code, codeinput.Digits, 8)
	if !ok {
		return campaign.User{}, ErrCodeFormat
	}
	return s.redeem(ctx, sub, MethodAssist, "assist", code, c)
}

func (s *Service) redeem(ctx context.Context, sub Subject, m Method, purpose, code string, c Client) (campaign.User, error) {
	now := s.clock.Now()
	stored, err := s.match(ctx, sub, m, purpose, code, c, now)
	if err != nil {
		return campaign.User{}, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if w, ok := verifyWay(purpose); ok {
			// A code sent before the deadline closed its way is refused after; it stays unused.
			u, err := tx.UserByID(ctx, sub.UserID)
			if err != nil {
				return err
			}
			if !s.set.Rules.Allows(u, w, now, s.set.KnowledgeSuffices) {
				return ErrMethodClosed
			}
		}
		ok, err := tx.ConsumeCode(ctx, stored.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrCodeExpired // used by a racing request, or voided since
		}
		return s.markVerified(ctx, tx, sub.UserID, m, c, now)
	})
	if err != nil {
		return campaign.User{}, err
	}
	return s.st.UserByID(ctx, sub.UserID)
}

// MatchedCode is a code that matched; Consume uses it up inside the caller's transaction.
type MatchedCode struct {
	ID     int64
	UserID string
	Target string
}

// Consume marks the code used inside tx; ErrCodeExpired when a racing request used it first.
func (m MatchedCode) Consume(ctx context.Context, tx *store.Tx, now time.Time) error {
	ok, err := tx.ConsumeCode(ctx, m.ID, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrCodeExpired
	}
	return nil
}

// MatchEnrollEmailCode checks the code sent to confirm a new email factor, counting a wrong one.
// The caller consumes it in the transaction that stores the factor.
func (s *Service) MatchEnrollEmailCode(ctx context.Context, userID, code string, c Client) (MatchedCode, error) {
	return s.matchCode(ctx, ForUser(userID, true), "enroll_email", "enroll_email", code, c)
}

// MatchSignInEmailCode checks an email sign-in code, counting a wrong one; an unknown subject
// fails like a wrong code.
func (s *Service) MatchSignInEmailCode(ctx context.Context, sub Subject, code string, c Client) (MatchedCode, error) {
	return s.matchCode(ctx, sub, "signin_email", "signin_email", code, c)
}

func (s *Service) matchCode(ctx context.Context, sub Subject, m Method, purpose, code string, c Client) (MatchedCode, error) {
	code, ok := codeinput.Normalize(code, codeinput.Digits, 6)
	if !ok {
		return MatchedCode{}, ErrCodeFormat
	}
	stored, err := s.match(ctx, sub, m, purpose, code, c, s.clock.Now())
	if err != nil {
		return MatchedCode{}, err
	}
	return MatchedCode{ID: stored.ID, UserID: stored.UserID, Target: stored.Target}, nil
}

// match checks a normalised code against the subject's live code for purpose. The answer is
// reserved against the limits before it is checked, counted when wrong and given back when right
// or when it is the right code that a racing request used first. It consumes nothing.
func (s *Service) match(ctx context.Context, sub Subject, m Method, purpose, code string, c Client, now time.Time) (store.Code, error) {
	if sub.Key == "" {
		return store.Code{}, ErrNotIdentified
	}
	a, err := s.limits.Reserve(ctx, sub.Key, string(m), c.IP, now)
	if err != nil {
		return store.Code{}, err
	}
	defer a.Void(ctx)
	if sub.UserID == "" {
		return store.Code{}, s.fail(ctx, a, sub, m, c, now, "unknown")
	}
	hash := s.hash(purpose, sub.UserID, code)
	stored, err := s.st.LatestCode(ctx, sub.UserID, purpose)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Code{}, err
	}
	if err != nil || !hmac.Equal(stored.Hash, hash) {
		spent, serr := s.st.CodeSpent(ctx, sub.UserID, purpose, hash, now)
		if serr != nil {
			return store.Code{}, serr
		}
		if spent { // the right code, used already: recorded, but no wrong answer
			if err := s.st.AppendEvent(ctx, audit.VerifyFailed.Event(sub.UserID, c, now, map[string]string{"method": string(m), "reason": "used"})); err != nil {
				return store.Code{}, err
			}
			return store.Code{}, ErrCodeExpired
		}
		reason := "wrong"
		if err != nil {
			reason = "no_code"
		}
		return store.Code{}, s.fail(ctx, a, sub, m, c, now, reason)
	}
	if !now.Before(stored.ExpiresAt) {
		if err := s.st.AppendEvent(ctx, audit.VerifyFailed.Event(sub.UserID, c, now, map[string]string{"method": string(m), "reason": "expired"})); err != nil {
			return store.Code{}, err
		}
		return store.Code{}, ErrCodeExpired
	}
	if err := a.Right(ctx); err != nil {
		return store.Code{}, err
	}
	return stored, nil
}

func (s *Service) markVerified(ctx context.Context, tx *store.Tx, userID string, m Method, c Client, now time.Time) error {
	if err := tx.AppendEvent(ctx, audit.VerifySucceeded.Event(userID, c, now, map[string]string{"method": string(m)})); err != nil {
		return err
	}
	// A verification is what a "this wasn't me" asked for before changes are allowed again.
	if unlocked, err := tx.UnlockChanges(ctx, userID); err != nil {
		return err
	} else if unlocked {
		if err := tx.AppendEvent(ctx, audit.Unlocked.Event(userID, c, now, map[string]string{"method": string(m)})); err != nil {
			return err
		}
	}
	// Operators hear of every successful verification, in the same transaction as the change.
	if _, err := tx.EnqueueOutbox(ctx, outbox.UserVerified(userID, string(m), now)); err != nil {
		return err
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.State == campaign.StateNotified {
		return tx.SetState(ctx, userID, campaign.StateVerified, audit.StateChanged.Event(userID, c, now, map[string]string{"method": string(m)}))
	}
	return nil
}

// KnowledgeResult tells what a passed knowledge check allows.
type KnowledgeResult struct {
	User     campaign.User
	Verified bool // false when a code or assist code must follow
}

// CheckKnowledge compares the registered phone number and the last 4 characters of the ID
// document against the subject's account.
func (s *Service) CheckKnowledge(ctx context.Context, sub Subject, phoneInput, last4 string, c Client) (KnowledgeResult, error) {
	now := s.clock.Now()
	if sub.Key == "" {
		return KnowledgeResult{}, ErrNotIdentified
	}
	e164, perr := phone.Normalize(phoneInput, s.set.Region)
	digits, derr := campaign.NormalizeIDLast4(last4)
	if perr != nil || derr != nil {
		return KnowledgeResult{}, ErrKnowledgeForm
	}
	a, err := s.limits.Reserve(ctx, sub.Key, string(MethodKnowledge), c.IP, now)
	if err != nil {
		return KnowledgeResult{}, err
	}
	defer a.Void(ctx)
	if sub.UserID == "" {
		s.ids.Hash("", digits) // the same work as for a real account
		return KnowledgeResult{}, s.fail(ctx, a, sub, MethodKnowledge, c, now, "unknown")
	}
	u, err := s.st.UserByID(ctx, sub.UserID)
	if err != nil {
		return KnowledgeResult{}, err
	}
	stored, err := s.st.IDLast4Hash(ctx, u.ID)
	if err != nil {
		return KnowledgeResult{}, err
	}
	idOK := s.ids.Match(u.ID, digits, stored)
	phoneOK := hmac.Equal([]byte(e164), []byte(u.Phone))
	if !idOK || !phoneOK {
		return KnowledgeResult{}, s.fail(ctx, a, sub, MethodKnowledge, c, now, "wrong")
	}
	// Alone it verifies only while the deadline rules allow; otherwise it identifies the account
	// and a way still open must follow (an email code in the grace days, an assist code after).
	res := KnowledgeResult{User: u, Verified: s.set.Rules.Allows(u, campaign.WayKnowledge, now, s.set.KnowledgeSuffices)}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if res.Verified {
			return s.markVerified(ctx, tx, u.ID, MethodKnowledge, c, now)
		}
		return tx.AppendEvent(ctx, audit.VerifyKnowledgePassed.Event(u.ID, c, now, nil))
	})
	if err != nil {
		return KnowledgeResult{}, err
	}
	if err := a.Right(ctx); err != nil {
		return KnowledgeResult{}, err
	}
	res.User, err = s.st.UserByID(ctx, u.ID)
	return res, err
}

// IssueAssistCode makes a new 8-digit assist code for a user, voiding any earlier one, and
// records who issued it. The code is returned once and stored only hashed.
//
// record, when given, writes in the same transaction too: the staff audit entry of whoever issued
// it (internal/staff.Record), so the code exists only with its record.
func (s *Service) IssueAssistCode(ctx context.Context, userID, issuedBy string, c Client, record ...func(tx *store.Tx) error) (string, time.Time, error) {
	if _, err := s.st.UserByID(ctx, userID); err != nil {
		return "", time.Time{}, err
	}
	var code string
	var expires time.Time
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if code, expires, err = s.IssueAssistCodeTx(ctx, tx, userID, issuedBy, c); err != nil {
			return err
		}
		for _, fn := range record {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// IssueAssistCodeTx is IssueAssistCode inside the caller's transaction (the support console's,
// which writes its audit record in it too).
func (s *Service) IssueAssistCodeTx(ctx context.Context, tx *store.Tx, userID, issuedBy string, c Client) (string, time.Time, error) {
	now := s.clock.Now()
	code, err := randomDigits(8)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := now.Add(s.set.AssistTTL)
	if err := tx.VoidCodes(ctx, userID, "assist", now); err != nil {
		return "", time.Time{}, fmt.Errorf("issue assist code: %w", err)
	}
	if _, err := tx.InsertCode(ctx, store.Code{UserID: userID, Purpose: "assist", Hash: s.hash("assist", userID, code),
		CreatedAt: now, ExpiresAt: expires, IssuedBy: issuedBy}); err != nil {
		return "", time.Time{}, fmt.Errorf("issue assist code: %w", err)
	}
	ev := audit.AssistIssued.Event(userID, c, now, map[string]string{"by": issuedBy})
	ev.Actor = issuedBy
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return "", time.Time{}, fmt.Errorf("issue assist code: %w", err)
	}
	return code, expires, nil
}

// fail counts the reserved answer as wrong, locks the method at the limit, and records the failure
// (and the lock) in the history of a known account, in one transaction. It is counted even when
// the request has ended meanwhile.
func (s *Service) fail(ctx context.Context, a *limit.Attempt, sub Subject, m Method, c Client, now time.Time, reason string) error {
	ctx = context.WithoutCancel(ctx)
	var verdict error
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		locked, v := a.Wrong(ctx, tx, now)
		var lockedErr ErrLocked
		var wrong ErrWrong
		if !errors.As(v, &lockedErr) && !errors.As(v, &wrong) {
			return v // a store error
		}
		verdict = v
		if sub.UserID == "" {
			return nil
		}
		if err := tx.AppendEvent(ctx, audit.VerifyFailed.Event(sub.UserID, c, now, map[string]string{"method": string(m), "reason": reason})); err != nil {
			return err
		}
		if locked {
			return tx.AppendEvent(ctx, audit.VerifyLocked.Event(sub.UserID, c, now, map[string]string{"method": string(m), "until": lockedErr.Until.UTC().Format(time.RFC3339)}))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return verdict
}

func (s *Service) hash(purpose, userID, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte("smsretire code\x00" + purpose + "\x00" + userID + "\x00" + code))
	return m.Sum(nil)
}

// pad makes every send take at least MinSendTime, so a found and an unknown account answer alike.
func (s *Service) pad(start time.Time) {
	if s.set.MinSendTime <= 0 {
		return
	}
	if d := s.set.MinSendTime - time.Since(start); d > 0 && d <= s.set.MinSendTime {
		time.Sleep(d)
	}
}

func purposeFor(ch Method) string { return "verify_" + string(ch) }

// verifyWay names the way of a verification code's purpose for the deadline rules; false for a
// code of another purpose (an assist code is always allowed; enrollment and sign-in codes are
// not verifications).
func verifyWay(purpose string) (campaign.Way, bool) {
	switch purpose {
	case purposeFor(MethodPhone):
		return campaign.WayPhone, true
	case purposeFor(MethodEmail):
		return campaign.WayEmail, true
	}
	return "", false
}

func randomDigits(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	return fmt.Sprintf("%0*d", n, v), nil
}

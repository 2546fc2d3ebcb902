package support

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/limit"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
)

// Person is a user as staff see them: the account ID in full (actions name it), contact details
// and name masked.
type Person struct {
	ID         string
	Name       string // masked: the first character
	Phone      string // masked: 138****8001
	Email      string // masked: z***@example.com
	Locale     string
	State      campaign.State
	Deadline   campaign.Date
	Wave       string
	Exempt     bool
	OutOfScope bool
	Locked     bool // a "this wasn't me" paused the account's changes
}

// PersonOf is u as staff see them, masked.
func PersonOf(u campaign.User) Person {
	p := Person{ID: u.ID, Name: MaskName(u.Name), Email: campaign.MaskEmail(u.Email), Locale: u.Locale, State: u.State,
		Deadline: u.Deadline, Wave: u.Wave, Exempt: u.Exempt(), OutOfScope: !u.OutOfScopeAt.IsZero(), Locked: u.ChangesLocked()}
	if u.Phone != "" {
		p.Phone = phone.Mask(u.Phone)
	}
	return p
}

// MaskName keeps a name's first character: 张伟 becomes 张*, Wei Zhang W***.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return ""
	case 1, 2:
		return string(r[:1]) + "*"
	}
	return string(r[:1]) + "***"
}

// QueryKind says how a search read its input.
type QueryKind string

// The kinds of search.
const (
	ByID    QueryKind = "id"
	ByPhone QueryKind = "phone"
	ByEmail QueryKind = "email"
)

// Search finds users by account ID, by phone number in any common format (138 0013 8000,
// +86 138-0013-8000, 008613800138000) or by email address, each one indexed look-up, and records
// the search in the audit log. An input that reads as a phone number is tried as an account ID
// too. ErrQuery for an empty input.
func (s *Service) Search(ctx context.Context, m staff.Member, c audit.Client, query string) (QueryKind, []Person, error) {
	if err := s.allow(ctx, m, staff.ActionSearch, ""); err != nil {
		return "", nil, err
	}
	query = strings.TrimSpace(query)
	if query == "" || len(query) > 254 {
		return "", nil, ErrQuery
	}
	kind := ByID
	var users []campaign.User
	switch {
	case strings.Contains(query, "@"):
		kind = ByEmail
		found, err := s.st.UsersByEmail(ctx, strings.ToLower(query))
		if err != nil {
			return "", nil, err
		}
		users = found
	case phone.LooksLikePhone(query):
		if e164, err := phone.Normalize(query, s.set.Region); err == nil {
			kind = ByPhone
			found, err := s.st.UsersByPhone(ctx, e164)
			if err != nil {
				return "", nil, err
			}
			users = found
		}
		fallthrough
	default:
		u, err := s.st.UserByID(ctx, query)
		if err != nil && !errors.Is(err, campaign.ErrUserNotFound) {
			return "", nil, err
		}
		if err == nil && !has(users, u.ID) {
			users = append([]campaign.User{u}, users...)
		}
	}
	out := make([]Person, 0, len(users))
	for _, u := range users {
		out = append(out, PersonOf(u))
	}
	detail := map[string]string{"by": string(kind), "query": maskQuery(kind, query, s.set.Region), "results": itoa(len(out))}
	userID := ""
	if len(out) == 1 {
		userID = out[0].ID
	}
	if err := s.logView(ctx, m, c, staff.ActionSearch, userID, detail); err != nil {
		return "", nil, err
	}
	return kind, out, nil
}

func has(users []campaign.User, id string) bool {
	for _, u := range users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// maskQuery is what the audit log keeps of a search: a phone number or email address masked, an
// account ID as typed.
func maskQuery(kind QueryKind, q, region string) string {
	switch kind {
	case ByPhone:
		if e164, err := phone.Normalize(q, region); err == nil {
			return phone.Mask(e164)
		}
	case ByEmail:
		return campaign.MaskEmail(strings.ToLower(q))
	}
	return q
}

// Factor is a user's method as staff see it: never its secret.
type Factor struct {
	ID         int64
	Kind       string
	Name       string
	Email      string // an email factor's address, masked
	CreatedAt  time.Time
	LastUsedAt time.Time
	Flagged    bool
}

// Message is a message or event to the user as staff see it: never its content.
type Message struct {
	ID        int64
	Channel   string // sms, email or event
	Topic     string
	Status    string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
	Retryable bool // failed, and can be sent again as it stands
}

// UserPage is everything the console shows of one user.
type UserPage struct {
	Person
	SMSRetiredAt    time.Time
	ChangesLockedAt time.Time
	ExemptReason    string
	Factors         []Factor
	Locks           []limit.Lock
	Attempts        []audit.Event // verifications and sign-ins, newest first
	Messages        []Message
	History         []audit.Event // everything, newest first
	Self            bool          // the staff member's own account: view only
}

// Limits of the user page.
const (
	historyLimit  = 500
	attemptsLimit = 20
	messagesLimit = 50
)

// User reads a user's page and records the view in the audit log; campaign.ErrUserNotFound when
// there is no such user.
func (s *Service) User(ctx context.Context, m staff.Member, c audit.Client, userID string) (UserPage, error) {
	if err := s.allow(ctx, m, staff.ActionView, ""); err != nil {
		return UserPage{}, err
	}
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return UserPage{}, err
	}
	p := UserPage{Person: PersonOf(u), SMSRetiredAt: u.SMSRetiredAt, ChangesLockedAt: u.ChangesLockedAt, ExemptReason: u.ExemptReason}
	if err := s.staff.SelfCheck(ctx, m, u.ID); errors.Is(err, staff.ErrSelf) {
		p.Self = true
	} else if err != nil {
		return UserPage{}, err
	}
	factors, err := s.st.Factors(ctx, u.ID)
	if err != nil {
		return UserPage{}, err
	}
	for _, f := range factors {
		p.Factors = append(p.Factors, Factor{ID: f.ID, Kind: f.Kind, Name: f.Name, Email: campaign.MaskEmail(f.Email),
			CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt, Flagged: f.Flagged})
	}
	if p.Locks, err = s.limits.Locks(ctx, identity.ForUser(u.ID, false).Key, s.clock.Now()); err != nil {
		return UserPage{}, err
	}
	items, err := s.st.UserOutbox(ctx, u.ID, messagesLimit)
	if err != nil {
		return UserPage{}, err
	}
	for _, it := range items {
		p.Messages = append(p.Messages, Message{ID: it.ID, Channel: it.Kind, Topic: it.Topic, Status: it.Status, Attempts: it.Attempts,
			LastError: it.LastError, CreatedAt: it.CreatedAt, SentAt: it.SentAt, Retryable: it.Status == store.OutboxFailed && outbox.Retryable(it)})
	}
	if p.History, err = s.st.Events(ctx, u.ID, historyLimit); err != nil {
		return UserPage{}, err
	}
	for _, ev := range p.History {
		if isAttempt(ev.Type) && len(p.Attempts) < attemptsLimit {
			p.Attempts = append(p.Attempts, ev)
		}
	}
	if err := s.logView(ctx, m, c, staff.ActionView, u.ID, nil); err != nil {
		return UserPage{}, err
	}
	return p, nil
}

// isAttempt reports whether an event is a verification or sign-in attempt, or its outcome.
func isAttempt(t audit.Type) bool {
	switch t {
	case audit.VerifyCodeSent, audit.VerifyFailed, audit.VerifyLocked, audit.VerifySucceeded, audit.VerifyKnowledgePassed,
		audit.SignInSucceeded, audit.SignInFailed:
		return true
	}
	return false
}

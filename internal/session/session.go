// Package session keeps who is signed in, and whose identity was verified, as rows in the
// database: any instance can read or end them at once, and a copied cookie is worth no more than
// the live row it names. The web layer only carries a session's token in a cookie; everything
// else — lifetimes, the touch throttle, token hashing, ending, the history events — lives here, so
// sessions can also be started without the current request's cookie (a sign-in approved on a
// phone, a staff console, a partner's embedded page).
//
// Two things live here:
//   - Sessions of a Kind — a signed-in user, and to come, support staff and embedded pages — each
//     with its own lifetimes and cookie (Rules).
//   - Grants: a verified identity that allows the first enrollment before any sign-in. The first
//     factor that retires SMS consumes the user's grants (internal/enroll, in its transaction),
//     sign-out ends them, and they expire after the elevated window.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/store"
)

// Kind is a kind of session: whom it is for, how long it lives, which cookie carries it.
type Kind string

// The kinds of session.
const (
	User  Kind = "user"  // an end user signed in with a replacement factor
	Staff Kind = "staff" // support staff in the console (to come); the subject is a staff ID
	Embed Kind = "embed" // an end user on a partner's embedded page (to come)
)

// Rules are a kind's lifetimes and the cookie that carries its token.
type Rules struct {
	Cookie string        // name of the cookie that carries the token
	Idle   time.Duration // a session unused this long ends
	MaxAge time.Duration // absolute lifetime
	StepUp time.Duration // an authentication this recent allows sensitive changes
}

// touchEvery is how stale a session's last use may be before Load records a new one: at most a
// minute, and a quarter of the idle lifetime, so that a short idle lifetime never ends a session
// in use.
func (r Rules) touchEvery() time.Duration { return min(time.Minute, r.Idle/4) }

// Session is a live session. ID is the SHA-256 of its token, which only the cookie holds.
type Session struct {
	ID         string
	Kind       Kind
	Subject    string // a user ID; a staff ID for Staff
	CreatedAt  time.Time
	LastSeenAt time.Time
	AuthAt     time.Time // the last authentication with a factor
	Methods    []string  // how the subject authenticated then: RFC 8176 amr values such as "otp" or "swk", "user"
	ExpiresAt  time.Time // the absolute end
	IP         string
	UserAgent  string
	Via        string // "" for a factor on this browser; approval.ViaQR or ViaPhone for an approval on the user's phone
}

// ErrNone means the token names no live session or grant: none was ever made, or it ended or
// expired.
var ErrNone = errors.New("session: none")

// Service starts, reads and ends sessions and grants.
type Service struct {
	st       *store.SQL
	clock    clock.Clock
	rules    map[Kind]Rules
	grantTTL time.Duration
}

// New returns the session service with each kind's rules; grantTTL is how long a verified
// identity allows the first enrollment (--elevated-window).
func New(st *store.SQL, clk clock.Clock, rules map[Kind]Rules, grantTTL time.Duration) *Service {
	return &Service{st: st, clock: clk, rules: rules, grantTTL: grantTTL}
}

// Rules returns the rules of kind k.
func (s *Service) Rules(k Kind) Rules { return s.rules[k] }

// Start begins a session of kind k for subject, who authenticated just now with methods (RFC 8176
// amr values, which services signing in through the OpenID Connect provider receive), and returns
// it with the token for the cookie. replaces, when not the zero Session, is the session of the
// same browser it supersedes (a step-up, another account), ended in the same transaction.
func (s *Service) Start(ctx context.Context, k Kind, subject string, methods []string, c audit.Client, replaces Session) (Session, string, error) {
	return s.StartVia(ctx, k, subject, methods, "", c, replaces)
}

// StartVia is Start for a sign-in that came by approval on another device (approval.ViaQR,
// approval.ViaPhone), which the session keeps so that My security can say so.
func (s *Service) StartVia(ctx context.Context, k Kind, subject string, methods []string, via string, c audit.Client, replaces Session) (Session, string, error) {
	r, ok := s.rules[k]
	if !ok {
		return Session{}, "", fmt.Errorf("session: unknown kind %q", k)
	}
	token, id, err := newToken()
	if err != nil {
		return Session{}, "", err
	}
	now := s.clock.Now()
	ss := Session{ID: id, Kind: k, Subject: subject, CreatedAt: now, LastSeenAt: now, AuthAt: now, Methods: methods,
		ExpiresAt: now.Add(r.MaxAge), IP: c.IP, UserAgent: c.UserAgent, Via: via}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if replaces.ID != "" {
			if _, err := tx.EndSession(ctx, string(replaces.Kind), replaces.Subject, replaces.ID, now); err != nil {
				return err
			}
		}
		return tx.CreateSession(ctx, store.Session{ID: ss.ID, Kind: string(k), Subject: subject, CreatedAt: now, LastSeenAt: now,
			AuthAt: now, AuthMethods: strings.Join(methods, " "), ExpiresAt: ss.ExpiresAt, IP: c.IP, UserAgent: c.UserAgent, Via: via})
	})
	if err != nil {
		return Session{}, "", fmt.Errorf("start session: %w", err)
	}
	return ss, token, nil
}

// Load returns the live session of kind k that token names: not ended, within its absolute and
// its idle lifetime. It records the use from ip when the last one is older than a quarter of the
// idle lifetime (at most a minute) or came from another address. ErrNone when there is none.
func (s *Service) Load(ctx context.Context, k Kind, token, ip string) (Session, error) {
	r, ok := s.rules[k]
	if !ok || token == "" {
		return Session{}, ErrNone
	}
	row, err := s.st.Session(ctx, tokenID(token))
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNone
	}
	if err != nil {
		return Session{}, err
	}
	now := s.clock.Now()
	if row.Kind != string(k) || !row.EndedAt.IsZero() || !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) > r.Idle {
		return Session{}, ErrNone
	}
	ss := fromRow(row)
	if now.Sub(ss.LastSeenAt) >= r.touchEvery() || ss.IP != ip {
		if err := s.st.TouchSession(ctx, ss.ID, now, ip); err != nil {
			return Session{}, err
		}
		ss.LastSeenAt, ss.IP = now, ip
	}
	return ss, nil
}

// Fresh reports whether the session's authentication is recent enough for a sensitive change. A
// session that came by approval on another device (Via) never is: an approval can be relayed to
// an attacker, so adding or removing a method, or approving another sign-in, asks for a factor on
// this browser first.
func (s *Service) Fresh(ss Session) bool {
	return ss.Via == "" && s.clock.Now().Sub(ss.AuthAt) <= s.rules[ss.Kind].StepUp
}

// End ends ss (sign-out), with the grants of its user, and records it in the history, in one
// transaction.
func (s *Service) End(ctx context.Context, ss Session, c audit.Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.EndSession(ctx, string(ss.Kind), ss.Subject, ss.ID, now); err != nil {
			return err
		}
		if !ss.Kind.userSubject() {
			return nil
		}
		if _, err := tx.EndGrants(ctx, ss.Subject, now); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, audit.SessionEnded.Event(ss.Subject, c, now, nil))
	})
}

// EndOne ends another session of a subject, chosen from its list (My security), and records it;
// false when it was not live.
func (s *Service) EndOne(ctx context.Context, k Kind, subject, id string, c audit.Client) (bool, error) {
	now := s.clock.Now()
	var ended bool
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if ended, err = tx.EndSession(ctx, string(k), subject, id, now); err != nil || !ended || !k.userSubject() {
			return err
		}
		return tx.AppendEvent(ctx, audit.SessionEnded.Event(subject, c, now, map[string]string{"which": "one"}))
	})
	return ended, err
}

// EndOthers ends every live session of ss's subject but ss, and records it when there were any;
// it says how many it ended.
func (s *Service) EndOthers(ctx context.Context, ss Session, c audit.Client) (int, error) {
	return s.endAll(ctx, ss.Kind, ss.Subject, ss.ID, c, "others")
}

// EndAll ends every live session of a subject of kind k (support ending a lost phone's sessions,
// say), and records it when there were any; it says how many it ended.
func (s *Service) EndAll(ctx context.Context, k Kind, subject string, c audit.Client) (int, error) {
	return s.endAll(ctx, k, subject, "", c, "all")
}

func (s *Service) endAll(ctx context.Context, k Kind, subject, keep string, c audit.Client, which string) (int, error) {
	now := s.clock.Now()
	var n int
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.EndSessions(ctx, string(k), subject, keep, now); err != nil || n == 0 || !k.userSubject() {
			return err
		}
		return tx.AppendEvent(ctx, audit.SessionEnded.Event(subject, c, now, map[string]string{"which": which}))
	})
	return n, err
}

// Active lists a subject's live sessions of kind k, most recently used first.
func (s *Service) Active(ctx context.Context, k Kind, subject string) ([]Session, error) {
	rows, err := s.st.ActiveSessions(ctx, string(k), subject, s.clock.Now(), s.rules[k].Idle)
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// userSubject reports whether a kind's subject is a user, whose history records the session's end.
func (k Kind) userSubject() bool { return k != Staff }

func fromRow(r store.Session) Session {
	return Session{ID: r.ID, Kind: Kind(r.Kind), Subject: r.Subject, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, AuthAt: r.AuthAt,
		Methods: strings.Fields(r.AuthMethods), ExpiresAt: r.ExpiresAt, IP: r.IP, UserAgent: r.UserAgent, Via: r.Via}
}

// Grant is a verified identity: the user may add their first factor while it is live. Its row
// says who verified how and when; ID is the hash of the token in the cookie.
type Grant struct {
	store.Grant
}

// Live reports whether the grant still allows adding a factor at now: not consumed, not expired.
func (g Grant) Live(now time.Time) bool { return g.ConsumedAt.IsZero() && now.Before(g.ExpiresAt) }

// Open reports whether the grant still shows the enrollment it led to at now (the recovery codes,
// the confirmation): live, or consumed by that enrollment, and not expired.
func (g Grant) Open(now time.Time) bool { return now.Before(g.ExpiresAt) }

// Grant records that userID verified their identity with method just now, and returns the grant
// with the token for the cookie.
func (s *Service) Grant(ctx context.Context, userID, method string, c audit.Client) (Grant, string, error) {
	token, id, err := newToken()
	if err != nil {
		return Grant{}, "", err
	}
	now := s.clock.Now()
	g := Grant{store.Grant{ID: id, UserID: userID, Method: method, VerifiedAt: now, ExpiresAt: now.Add(s.grantTTL), IP: c.IP, UserAgent: c.UserAgent}}
	if err := s.st.CreateGrant(ctx, g.Grant); err != nil {
		return Grant{}, "", err
	}
	return g, token, nil
}

// LoadGrant returns the grant that token names, consumed or expired too (Live and Open tell);
// ErrNone when there is none or sign-out ended it.
func (s *Service) LoadGrant(ctx context.Context, token string) (Grant, error) {
	if token == "" {
		return Grant{}, ErrNone
	}
	row, err := s.st.Grant(ctx, tokenID(token))
	if errors.Is(err, store.ErrNotFound) {
		return Grant{}, ErrNone
	}
	if err != nil {
		return Grant{}, err
	}
	if !row.EndedAt.IsZero() {
		return Grant{}, ErrNone
	}
	return Grant{row}, nil
}

// newToken makes a random token and the ID it is stored under.
func newToken() (token, id string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenID(token), nil
}

// tokenID is the stored ID of a token: its SHA-256, so the tables hold no usable token.
func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

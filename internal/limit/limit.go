// Package limit limits answers — codes, knowledge checks, sign-in codes — per account and method
// and per client, in the database, so the limits hold across instances and restarts.
//
// Every answer is a reservation taken before it is checked: Reserve takes, in one transaction,
// one of the client's answers for the clock hour and one of the account's answers for the method,
// each with a statement that checks and takes at once. So of any number of parallel requests at
// most the limit are checked. A wrong answer keeps its slots; the answer that uses up the
// account's last one locks the method for the lockout, and every answer after it is refused, even
// a right one. A right answer, or one that proves nothing wrong (the right code that a racing
// request used first), gives its slots back.
package limit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/store"
)

// ErrLocked means too many wrong answers: the method is locked for the account until Until.
type ErrLocked struct{ Until time.Time }

func (e ErrLocked) Error() string {
	return fmt.Sprintf("locked until %s", e.Until.Format(time.RFC3339))
}

// ErrClientLimited means this client made too many attempts; it may try again at Until.
type ErrClientLimited struct{ Until time.Time }

func (e ErrClientLimited) Error() string {
	return fmt.Sprintf("client limited until %s", e.Until.Format(time.RFC3339))
}

// ErrWrong means the answer was wrong; Remaining more wrong answers lock the method.
type ErrWrong struct{ Remaining int }

func (e ErrWrong) Error() string { return fmt.Sprintf("wrong answer, %d attempts left", e.Remaining) }

// Rules say how many wrong answers are allowed.
type Rules struct {
	MaxAttempts        int           // wrong answers per account and method before it locks
	Lockout            time.Duration // how long a locked method stays locked
	ClientAttemptsHour int           // wrong answers per client and clock hour
}

// Limiter applies the rules through the store's answer rows and counters.
type Limiter struct {
	st    *store.SQL
	rules Rules
}

// New returns a limiter.
func New(st *store.SQL, r Rules) *Limiter { return &Limiter{st: st, rules: r} }

// Attempt is one answer reserved by Reserve. It ends with exactly one of Wrong, Right or Void;
// Void after either of the others does nothing, so callers defer it for their error paths.
type Attempt struct {
	l       *Limiter
	key     string // account:method in answer_limits
	client  string // the client's counter
	hour    time.Time
	settled bool
}

// Reserve takes an answer for the account's method from the client, before the answer is
// checked. It returns ErrClientLimited when the client used up its answers for the hour, and
// ErrLocked when the method is locked for the account — or when every answer left is being
// checked by a parallel request, so that none may be checked beyond the limit.
func (l *Limiter) Reserve(ctx context.Context, account, method, ip string, now time.Time) (*Attempt, error) {
	a := &Attempt{l: l, key: answerKey(account, method), client: "fail-ip:" + ip, hour: now.Truncate(time.Hour)}
	var refused error
	err := l.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.TakeCounter(ctx, a.client, a.hour, a.hour.Add(time.Hour), l.rules.ClientAttemptsHour, now)
		if err != nil {
			return err
		}
		if !ok {
			refused = ErrClientLimited{Until: a.hour.Add(time.Hour)}
			return refused
		}
		state, ok, err := tx.TakeAnswer(ctx, a.key, l.rules.MaxAttempts, now.Add(l.rules.Lockout), now)
		if err != nil {
			return err
		}
		if !ok {
			refused = ErrLocked{Until: state.ExpiresAt}
			return refused // rolls back the client's answer too
		}
		return nil
	})
	if refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, fmt.Errorf("reserve an answer: %w", err)
	}
	return a, nil
}

// Wrong counts the reserved answer as wrong, inside tx so the caller's history entry goes with
// it. The error is ErrWrong with the answers left, or ErrLocked when this answer used up the
// last one — locked is then true, so the caller can record the lock — or a store error.
func (a *Attempt) Wrong(ctx context.Context, tx *store.Tx, now time.Time) (locked bool, err error) {
	if a.settled {
		return false, errors.New("wrong: attempt already settled")
	}
	state, err := tx.FailAnswer(ctx, a.key, now.Add(a.l.rules.Lockout))
	if err != nil {
		return false, err
	}
	a.settled = true // a rolled-back transaction keeps the answer pending until the row runs out
	if left := a.l.rules.MaxAttempts - state.Failed; left > 0 {
		return false, ErrWrong{Remaining: left}
	}
	return state.Failed == a.l.rules.MaxAttempts, ErrLocked{Until: state.ExpiresAt}
}

// Right ends the reserved answer as right: the account's wrong answers for the method are
// forgotten and the client's answer is given back.
func (a *Attempt) Right(ctx context.Context) error {
	if a.settled {
		return nil
	}
	a.settled = true
	ctx = context.WithoutCancel(ctx)
	if err := a.l.st.RightAnswer(ctx, a.key); err != nil {
		return err
	}
	return a.l.st.GiveBackCounter(ctx, a.client, a.hour)
}

// Void gives the reserved answer back uncounted: it was not checked (a store error, a request
// that ended) or proved nothing wrong, like the right code that a racing request used first.
// After Wrong or Right it does nothing.
func (a *Attempt) Void(ctx context.Context) error {
	if a.settled {
		return nil
	}
	a.settled = true
	ctx = context.WithoutCancel(ctx)
	if err := a.l.st.ReturnAnswer(ctx, a.key); err != nil {
		return err
	}
	return a.l.st.GiveBackCounter(ctx, a.client, a.hour)
}

// LockedUntil tells until when the account's method is locked; zero when it is not.
func (l *Limiter) LockedUntil(ctx context.Context, account, method string, now time.Time) (time.Time, error) {
	state, err := l.st.AnswersAt(ctx, answerKey(account, method), now)
	if err != nil {
		return time.Time{}, err
	}
	if state.Failed >= l.rules.MaxAttempts {
		return state.ExpiresAt, nil
	}
	return time.Time{}, nil
}

// Forgive forgets the account's wrong answers for the methods, ending their locks: the user
// proved possession of the account another way.
func (l *Limiter) Forgive(ctx context.Context, account string, methods ...string) error {
	for _, m := range methods {
		if err := l.st.ForgetWrongAnswers(context.WithoutCancel(ctx), answerKey(account, m)); err != nil {
			return err
		}
	}
	return nil
}

func answerKey(account, method string) string { return account + ":" + method }

// Lock is one of an account's methods locked by wrong answers, until Until.
type Lock struct {
	Method string
	Until  time.Time
}

// Locks lists the account's methods locked at now, by method name.
func (l *Limiter) Locks(ctx context.Context, account string, now time.Time) ([]Lock, error) {
	rows, err := l.st.AnswerLocks(ctx, account+":", l.rules.MaxAttempts, now)
	if err != nil {
		return nil, err
	}
	out := make([]Lock, 0, len(rows))
	for _, r := range rows {
		out = append(out, Lock{Method: strings.TrimPrefix(r.Key, account+":"), Until: r.Until})
	}
	return out, nil
}

// Unlock ends the lock of the account's method inside tx (support lifting it); false when the
// method was not locked at now.
func (l *Limiter) Unlock(ctx context.Context, tx *store.Tx, account, method string, now time.Time) (bool, error) {
	return tx.ForgetWrongAnswers(ctx, answerKey(account, method), l.rules.MaxAttempts, now)
}

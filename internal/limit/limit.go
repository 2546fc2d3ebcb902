// Package limit counts wrong answers per account and method and per client in the database, and
// locks a method for an account after too many, so the limits hold across instances and restarts.
package limit

import (
	"context"
	"fmt"
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
	ClientAttemptsHour int           // wrong answers per client and hour
}

// Limiter applies the rules through the store's counters and locks.
type Limiter struct {
	st    *store.SQL
	rules Rules
}

// New returns a limiter.
func New(st *store.SQL, r Rules) *Limiter { return &Limiter{st: st, rules: r} }

// Rules returns the rules in force.
func (l *Limiter) Rules() Rules { return l.rules }

// Allowed returns ErrClientLimited or ErrLocked when the client or the account's method may not
// try now, nil otherwise. It counts nothing.
func (l *Limiter) Allowed(ctx context.Context, account, method, ip string, now time.Time) error {
	hour := now.Truncate(time.Hour)
	n, err := l.st.Count(ctx, "fail-ip:"+ip, hour, now)
	if err != nil {
		return err
	}
	if n >= l.rules.ClientAttemptsHour {
		return ErrClientLimited{Until: hour.Add(time.Hour)}
	}
	until, err := l.LockedUntil(ctx, account, method, now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return ErrLocked{Until: until}
	}
	return nil
}

// LockedUntil tells until when the account's method is locked; zero when it is not.
func (l *Limiter) LockedUntil(ctx context.Context, account, method string, now time.Time) (time.Time, error) {
	return l.st.LockedUntil(ctx, lockKey(account, method), now)
}

// Fail counts a wrong answer for the account's method and for the client. It returns ErrWrong
// with the attempts left, or ErrLocked when this answer used up the last one; locked reports the
// latter, so the caller can record it.
func (l *Limiter) Fail(ctx context.Context, account, method, ip string, now time.Time) (err error, locked bool) {
	hour := now.Truncate(time.Hour)
	if _, err := l.st.Hit(ctx, "fail-ip:"+ip, hour, hour.Add(time.Hour), now); err != nil {
		return err, false
	}
	n, err := l.st.Hit(ctx, failKey(account, method), time.Unix(0, 0), now.Add(l.rules.Lockout), now)
	if err != nil {
		return err, false
	}
	if n < l.rules.MaxAttempts {
		return ErrWrong{Remaining: l.rules.MaxAttempts - n}, false
	}
	until := now.Add(l.rules.Lockout)
	if err := l.st.Lock(ctx, lockKey(account, method), until); err != nil {
		return err, false
	}
	if err := l.st.ResetCounters(ctx, failKey(account, method)); err != nil {
		return err, false
	}
	return ErrLocked{Until: until}, true
}

// Succeed clears the account's wrong answers for the method.
func (l *Limiter) Succeed(ctx context.Context, account, method string) error {
	return l.st.ResetCounters(ctx, failKey(account, method))
}

// Unlock lifts a lock early, for support staff.
func (l *Limiter) Unlock(ctx context.Context, account, method string) error {
	if err := l.st.Unlock(ctx, lockKey(account, method)); err != nil {
		return err
	}
	return l.st.ResetCounters(ctx, failKey(account, method))
}

func failKey(account, method string) string { return "fail:" + account + ":" + method }

func lockKey(account, method string) string { return "lock:" + account + ":" + method }

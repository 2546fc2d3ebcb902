package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/limit"
)

// Errors a verification can end with. None of them says whether an account exists: an unknown
// account fails exactly like a wrong answer.
var (
	ErrCodeFormat    = errors.New("code has the wrong form")
	ErrCodeExpired   = errors.New("code expired")
	ErrMethodClosed  = errors.New("method closed after the deadline")
	ErrNoTarget      = errors.New("no registered address for this method")
	ErrKnowledgeForm = errors.New("knowledge answer has the wrong form")
	ErrNotIdentified = errors.New("no account chosen")
)

// ErrLocked means too many wrong answers: the method is locked for the account until Until.
type ErrLocked = limit.ErrLocked

// ErrClientLimited means this client made too many attempts or sends; it may try again at Until.
type ErrClientLimited = limit.ErrClientLimited

// ErrWrong means the answer was wrong; Remaining more wrong answers lock the method.
type ErrWrong = limit.ErrWrong

// ErrResendWait means a code was sent moments ago; another may be sent at Until.
type ErrResendWait struct{ Until time.Time }

func (e ErrResendWait) Error() string {
	return fmt.Sprintf("resend after %s", e.Until.Format(time.RFC3339))
}

// ErrSendLimit means the hourly number of codes for the account is used up until Until.
type ErrSendLimit struct{ Until time.Time }

func (e ErrSendLimit) Error() string {
	return fmt.Sprintf("send limit until %s", e.Until.Format(time.RFC3339))
}

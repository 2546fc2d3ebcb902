package web

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// The ways a code or answer was asked for, as verifyMessage names them: each locks on its own, and
// its lock says which still work.
const (
	wayPhone        = "phone"         // a verification code by SMS
	wayEmail        = "email"         // a verification code by email
	wayKnowledge    = "knowledge"     // the registered phone number and ID digits
	wayAssist       = "assist"        // a support assist code (8 digits)
	wayEnrollEmail  = "enroll_email"  // the code that confirms an email factor
	wayContactEmail = "contact_email" // the code that confirms a new registered email address
	wayContactPhone = "contact_phone" // the code that confirms a new registered phone number
)

// verifyMessage turns a verification error into a message in the page language and a status.
// way names what was asked for (wayPhone…): it decides the code's length in the messages and what
// a lock says still works. ok is false for errors that are not the user's to fix (they go to the
// error handler).
func (h *handler) verifyMessage(p views.Page, err error, way string) (msg string, status int, ok bool) {
	codeDigits := 6
	switch way {
	case wayAssist:
		codeDigits = 8
	case wayKnowledge:
		codeDigits = 0
	}
	var (
		wrong   identity.ErrWrong
		locked  identity.ErrLocked
		limited identity.ErrClientLimited
		wait    identity.ErrResendWait
		capped  identity.ErrSendLimit
	)
	switch {
	case errors.As(err, &wrong):
		if codeDigits == 0 {
			return p.T.TN("verify.err.knowledge_wrong", wrong.Remaining, nil), http.StatusUnprocessableEntity, true
		}
		return p.T.TN("verify.err.wrong", wrong.Remaining, nil), http.StatusUnprocessableEntity, true
	case errors.As(err, &locked):
		return p.T.Tf("verify.err.locked."+way, map[string]any{"Time": h.clockTime(locked.Until), "Minutes": minutesUntil(h.now(), locked.Until)}), http.StatusTooManyRequests, true
	case errors.As(err, &limited):
		return p.T.Tf("verify.err.client_limited", map[string]any{"Time": h.clockTime(limited.Until)}), http.StatusTooManyRequests, true
	case errors.As(err, &wait):
		return p.T.TN("verify.err.resend_wait", secondsUntil(h.now(), wait.Until), nil), http.StatusTooManyRequests, true
	case errors.As(err, &capped):
		return p.T.Tf("verify.err.send_limit", map[string]any{"Time": h.clockTime(capped.Until)}), http.StatusTooManyRequests, true
	case errors.Is(err, identity.ErrCodeFormat):
		if codeDigits == 8 {
			return p.T.T("verify.err.assist_format"), http.StatusUnprocessableEntity, true
		}
		return p.T.T("verify.err.code_format"), http.StatusUnprocessableEntity, true
	case errors.Is(err, identity.ErrCodeExpired):
		return p.T.T("verify.err.expired"), http.StatusUnprocessableEntity, true
	case errors.Is(err, identity.ErrMethodClosed):
		return p.T.T("verify.phone.closed"), http.StatusUnprocessableEntity, true
	case errors.Is(err, identity.ErrNoTarget):
		return p.T.T("verify.err.no_email"), http.StatusUnprocessableEntity, true
	case errors.Is(err, identity.ErrKnowledgeForm):
		return p.T.T("verify.err.last4_invalid"), http.StatusUnprocessableEntity, true
	}
	return "", 0, false
}

// clockTime writes a time of day in the configured zone.
func (h *handler) clockTime(t time.Time) string { return t.In(h.loc).Format("15:04") }

func minutesUntil(now, t time.Time) int { return int(math.Ceil(t.Sub(now).Minutes())) }

func secondsUntil(now, t time.Time) int {
	s := int(math.Ceil(t.Sub(now).Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// blocking reports whether err pauses a way for a while (too many wrong answers, attempts or
// codes): the page says so as news, what happened and until when, not as a mistake in a field.
func blocking(err error) bool {
	var (
		locked  identity.ErrLocked
		limited identity.ErrClientLimited
		capped  identity.ErrSendLimit
	)
	return errors.As(err, &locked) || errors.As(err, &limited) || errors.As(err, &capped)
}

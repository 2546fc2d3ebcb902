package outbox

import "github.com/smsretire/smsretire/internal/store"

// Retryable reports whether a failed item can be sent again as it stands. A message that carried
// a one-time code or link (every code, every email with a "this wasn't me" link, the campaign's
// notices with the signed notice link) lost it when it was given up, so it cannot: the user asks
// for a new code, or support resends the notice. Events and the text-message notices carry none.
func Retryable(it store.OutboxItem) bool {
	switch {
	case it.Kind == store.OutboxEvent:
		return true
	case it.Kind == store.OutboxSMS:
		switch it.Topic {
		case TemplateSecurityNotice, TemplateRetiredConfirmation, TemplateCheckup:
			return true
		}
	}
	return false
}

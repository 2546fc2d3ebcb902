package web

import (
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/useragent"
	"github.com/smsretire/smsretire/views"
)

// historyEntries describes a user's events in the page language, newest first as given.
func historyEntries(t *i18n.Translator, events []campaign.Event) []views.HistoryEntry {
	out := make([]views.HistoryEntry, 0, len(events))
	for _, e := range events {
		out = append(out, views.HistoryEntry{At: e.CreatedAt, Text: describeEvent(t, e), Device: useragent.Describe(e.UserAgent), IP: e.IP})
	}
	return out
}

// known lists the event types with a sentence of their own in the catalogs.
var knownEvents = map[campaign.EventType]bool{
	"roster.added": true, "roster.updated": true, "notice.opened": true, "state.changed": true,
	"verify.code_sent": true, "verify.failed": true, "verify.locked": true, "verify.succeeded": true,
	"verify.knowledge_passed": true, "assist.issued": true, "factor.added": true, "factor.renamed": true,
	"factor.removed": true, "sms.retired": true, "recovery.regenerated": true, "recovery.used": true,
	"signin.succeeded": true, "signin.failed": true, "session.ended": true, "passkey.counter_regressed": true, "checkup.completed": true,
}

func describeEvent(t *i18n.Translator, e campaign.Event) string {
	if !knownEvents[e.Type] {
		return t.Tf("history.other", map[string]any{"Type": string(e.Type)})
	}
	data := map[string]any{}
	if m := e.Detail["method"]; m != "" {
		data["Method"] = t.T("method." + m)
	}
	if k := e.Detail["kind"]; k != "" {
		data["Kind"] = t.T("factor.kind." + k)
	}
	if to := e.Detail["to"]; to != "" {
		data["To"] = t.T("state." + to)
	}
	return t.Tf("history."+string(e.Type), data)
}

package web

import (
	"strings"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/useragent"
	"github.com/smsretire/smsretire/views"
)

// historyEntries describes a user's events in the page language, newest first as given.
func (h *handler) historyEntries(t *i18n.Translator, events []audit.Event) []views.HistoryEntry {
	out := make([]views.HistoryEntry, 0, len(events))
	for _, e := range events {
		if !audit.ShownToUser(e.Type) {
			continue
		}
		out = append(out, views.HistoryEntry{At: e.CreatedAt, Text: describeEvent(t, e, h.clientName), Device: deviceName(t, e.UserAgent), IP: e.IP})
	}
	return out
}

// deviceName names the browser and system behind a User-Agent in the page language: "Linux 上的
// Chrome"; "" when neither is known.
func deviceName(t *i18n.Translator, ua string) string {
	d := useragent.Parse(ua)
	return t.Device(d.Browser, d.System)
}

// clientName is the display name of a service in lang, or its ID once it is no longer configured.
func (h *handler) clientName(id, lang string) string {
	if c, ok := h.cfg.ClientByID(id); ok {
		return c.DisplayName(lang)
	}
	return id
}

// describeEvent says what happened in the page language: the catalogue's description of the type,
// its blanks filled with the event's details in that language.
func describeEvent(t *i18n.Translator, e audit.Event, clientName func(id, lang string) string) string {
	if !audit.Known(e.Type) {
		return t.Tf("history.other", map[string]any{"Type": string(e.Type)})
	}
	data := map[string]string{}
	if m := e.Detail["method"]; m != "" {
		data["Method"] = t.T("method." + m)
	}
	if k := e.Detail["kind"]; k != "" {
		data["Kind"] = t.T("factor.kind." + k)
	}
	if f := e.Detail["field"]; f == "email" || f == "phone" {
		data["Field"] = t.T("mail.field." + f)
	}
	data["State"] = e.Detail["to"]
	if id := e.Detail["client"]; id != "" {
		data["Client"] = clientName(id, t.Lang())
	}
	data["Count"], data["Max"] = e.Detail["count"], e.Detail["max"]
	if chs := e.Detail["channels"]; chs != "" {
		var names []string
		for _, ch := range strings.Split(chs, ",") {
			names = append(names, t.T("campaign.channel."+ch))
		}
		data["Channels"] = strings.Join(names, t.T("campaign.channel.separator"))
	}
	for detail, blank := range map[string]string{"days": "Days", "reason": "Reason"} {
		if v := e.Detail[detail]; v != "" {
			data[blank] = v
		}
	}
	if until, err := campaign.ParseDate(e.Detail["until"]); err == nil {
		data["Until"] = t.Tf("date.long", map[string]any{"Year": until.Year, "Month": int(until.Month), "MonthName": until.Month.String(), "Day": until.Day})
	}
	text, _ := audit.Describe(e.Type, t.Lang(), data)
	return text
}

package rollout

import (
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// Channels of a touch, as its history entry names them.
const (
	channelEmail = "email"
	channelSMS   = "sms"
)

// messages builds the outbox items of touch t to u at now, and names their channels. The notice
// goes by email and, while SMS is open and the campaign says so (notice_sms), by SMS; a reminder
// goes by email. A user without an email address gets either by SMS, while SMS is open. Each carries the user's signed
// notice link, sealed in the outbox like a code. None when u can be reached by neither.
func (s *Service) messages(u campaign.User, t touch, now time.Time) ([]store.OutboxItem, []string) {
	phase := s.rules.Phase(u, now)
	smsOpen := phase == campaign.PhaseOpen
	template := outbox.TemplateCampaignReminder
	if t.kind == kindNotice {
		template = outbox.TemplateCampaignNotice
	}
	days, graceEnd, link := u.DaysLeft(now, s.loc), s.rules.GraceEnds(u), s.link(u.ID)
	var items []store.OutboxItem
	var channels []string
	if u.Email != "" {
		items = append(items, outbox.CampaignMessage(u, store.OutboxEmail, template, phase, graceEnd, days, link, now))
		channels = append(channels, channelEmail)
	}
	bySMS := smsOpen && u.Phone != "" && (u.Email == "" || t.kind == kindNotice && s.cfg.NoticeSMS)
	if bySMS {
		items = append(items, outbox.CampaignMessage(u, store.OutboxSMS, template, phase, graceEnd, days, link, now))
		channels = append(channels, channelSMS)
	}
	return items, channels
}

package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// noticeShow renders a personal notice opened from a signed link. A bad, expired or unknown link
// gets a friendly page that never says whether the account exists.
func (h *handler) noticeShow(c echo.Context) error {
	id, err := h.app.Notices.Parse(c.Param("token"), h.now())
	if err != nil {
		return h.noticeLinkBroken(c, errors.Is(err, campaign.ErrTokenExpired))
	}
	u, err := h.store.UserByID(h.ctx(c), id)
	if errors.Is(err, campaign.ErrUserNotFound) {
		return h.noticeLinkBroken(c, false)
	}
	if err != nil {
		return err
	}
	// The signed link identifies the account: a verification of someone else starts afresh; a
	// look-up of this same account (by its phone number, say) keeps its steps and now shows the
	// masked phone and email.
	ck := h.cookie(c)
	if sub, _ := subjectIn(ck); sub.UserID != u.ID || !sub.Identified {
		if sub.UserID != u.ID {
			setSubject(ck, identity.ForUser(u.ID, true))
		} else {
			ck.Values[ckSubjectKnown] = true
		}
		ck.Values[ckNoticeToken] = c.Param("token")
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
		if err := h.ident.NoticeOpened(h.ctx(c), u.ID, client(c)); err != nil {
			return err
		}
	} else if ck.Values[ckNoticeToken] != c.Param("token") {
		ck.Values[ckNoticeToken] = c.Param("token") // a newer link of the same user
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	m, err := h.noticeModel(c, u)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Notice(m))
}

// noticeModel builds the notice for where the user stands: before the deadline, on its day, after
// it (in the grace days or past them, as the campaign's deadline rules say), or done. The words
// are picked here; the page shows them.
func (h *handler) noticeModel(c echo.Context, u campaign.User) (views.NoticePage, error) {
	p := h.pageFor(c, u.Locale)
	rules := h.app.Rollout.Rules()
	m := views.NoticePage{
		Page:        p,
		Name:        u.Name,
		MaskedPhone: phone.Mask(u.Phone),
		Deadline:    u.Deadline,
		DaysLeft:    u.DaysLeft(h.now(), h.loc),
		State:       u.State,
		Phase:       rules.Phase(u, h.now()),
		GraceEnds:   rules.GraceEnds(u),
		Snooze:      h.snoozeOffer(u),
		CheckupDue:  u.CheckupDue(h.now()),
	}
	date := map[string]any{"Date": p.Date(u.Deadline)}
	switch {
	case u.State == campaign.StateRetired:
		m.Stage = views.StageRetired
		factors, err := h.store.Factors(h.ctx(c), u.ID)
		if err != nil {
			return m, err
		}
		ways := waysList(p.T, factors)
		m.Intro = p.T.Tf("notice.intro.retired", map[string]any{"Date": p.DateTime(u.SMSRetiredAt), "Ways": ways})
		if ways == "" {
			m.Intro = p.T.Tf("notice.intro.retired_no_ways", map[string]any{"Date": p.DateTime(u.SMSRetiredAt)})
		}
		return m, nil
	case m.Phase == campaign.PhaseOpen && m.DaysLeft == 0:
		m.Stage = views.StageDeadlineDay
	case m.Phase == campaign.PhaseOpen:
		m.Stage = views.StageBefore
	default:
		m.Stage = views.StageAfter
	}
	m.Intro = p.T.Tf("notice.intro."+string(m.Stage), date)
	// What verifying takes now, as the deadline rules allow it.
	switch m.Phase {
	case campaign.PhaseOpen:
		m.Access = p.T.T(knowledgeKey("notice.prepare.access", h.cfg.KnowledgeSuffices))
		m.Nothing = p.T.T("notice.nothing.body")
	case campaign.PhaseGrace:
		m.Access = p.T.T("notice.prepare.access_grace")
	default:
		m.Access = p.T.T("notice.prepare.access_closed")
	}
	return m, nil
}

// knowledgeKey is the message key that says what verifying takes: with --knowledge-suffices the
// registered phone number and ID digits are enough on their own (before the deadline), and the
// words say so.
func knowledgeKey(key string, suffices bool) string {
	if suffices {
		return key + "_knowledge"
	}
	return key
}

// waysList names the kinds of a user's factors as a sentence does, in the page language:
// "身份验证器应用或通行密钥".
func waysList(t *i18n.Translator, factors []store.Factor) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range factors {
		if !seen[f.Kind] {
			seen[f.Kind] = true
			names = append(names, t.T("factor.way."+f.Kind))
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], t.T("list.separator")) + t.T("list.last_separator") + names[len(names)-1]
}

func (h *handler) noticeLinkBroken(c echo.Context, expired bool) error {
	status := http.StatusNotFound
	if expired {
		status = http.StatusGone
	}
	return render(c, status, views.NoticeLinkBroken(views.NoticeLinkProblem{Page: h.page(c), Expired: expired}))
}

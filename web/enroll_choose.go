package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// enrollChoose shows the replacement methods side by side.
func (h *handler) enrollChoose(c echo.Context) error {
	u, factors, err := h.accountFactors(c, userOf(c))
	if err != nil {
		return err
	}
	p := h.pageFor(c, u.Locale)
	m := views.EnrollChoosePage{
		Page:              p,
		Have:              h.factorViews(p.T, factors),
		EmailAllowed:      h.cfg.EmailFactor != "off",
		PushApproval:      h.cfg.PushApproval,
		EmailRecoveryOnly: h.cfg.EmailFactor == "recovery-only",
		QRSignIn:          h.cfg.QRSignIn,
		RecoveryPending:   len(recoveryCodes(h.cookie(c))) > 0,
	}
	// In the journey: back to the confirmation of the identity, or once the first method used it
	// up, to the end of the enrollment; the deadline, which verifying revealed.
	back := views.Link{Href: p.URL(views.RouteVerifyDone), Text: p.T.T("journey.back.previous")}
	if g, ok, err := h.currentGrant(c); err != nil {
		return err
	} else if ok && !g.Live(h.now()) {
		back.Href = p.URL(views.RouteEnrollDone)
	}
	m.Way = h.enrollWay(c, views.StepEnroll, back, h.securityBack(p))
	if m.Way.Step != 0 {
		m.Deadline = h.deadlineView(u)
	}
	return render(c, http.StatusOK, views.EnrollChoose(m))
}

// accountFactors reads a user and their factors, for the pages that list them.
func (h *handler) accountFactors(c echo.Context, uid string) (campaign.User, []store.Factor, error) {
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return campaign.User{}, nil, err
	}
	factors, err := h.store.Factors(h.ctx(c), uid)
	return u, factors, err
}

// factorViews turns stored factors into what the pages show, in the page language t: a name only
// when it is more than a default (the app's default name in any language, the email address), for
// a passkey its provider's name from its AAGUID and whether it is synced, from its backup flags.
func (h *handler) factorViews(t *i18n.Translator, fs []store.Factor) []views.FactorView {
	out := make([]views.FactorView, 0, len(fs))
	for _, f := range fs {
		v := views.FactorView{ID: f.ID, Kind: f.Kind, Name: f.Name, Title: f.Name, Named: true, Created: f.CreatedAt, LastUsed: f.LastUsedAt, Flagged: f.Flagged}
		if h.defaultFactorName(f) {
			v.Title, v.Named = t.T("factor.kind."+f.Kind), false
		}
		switch f.Kind {
		case store.FactorEmail:
			if f.Email != v.Title {
				v.Detail = f.Email
			}
		case store.FactorPasskey:
			v.Provider, _ = h.app.Providers.Name(f.AAGUID)
			switch {
			case f.BackupEligible && f.BackupState:
				v.Backup = views.PasskeySynced
			case f.BackupEligible:
				v.Backup = views.PasskeyCanSync
			default:
				v.Backup = views.PasskeyDeviceBound
			}
		}
		out = append(out, v)
	}
	return out
}

// earlierDefaultNames are default factor names earlier versions gave, before the glossary settled
// the terms: the app was 认证器应用.
var earlierDefaultNames = []string{"认证器应用"}

// defaultFactorName reports whether a factor's name says no more than its kind: the default name
// of an app or passkey in any language (or an earlier one), or an email factor's address.
func (h *handler) defaultFactorName(f store.Factor) bool {
	if f.Kind == store.FactorEmail {
		return f.Name == f.Email
	}
	defaults := map[string]string{store.FactorTOTP: "enroll.totp.default_name", store.FactorPasskey: "enroll.passkey.default_name"}
	key, ok := defaults[f.Kind]
	if !ok {
		return false
	}
	for _, lang := range i18n.Languages {
		if f.Name == h.cat.For(lang).T(key) {
			return true
		}
	}
	return f.Kind == store.FactorTOTP && slices.Contains(earlierDefaultNames, f.Name)
}

package web

import (
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// Session keys of the verification steps.
const (
	sessSubjectKey   = "sub_key"
	sessSubjectUser  = "sub_uid"
	sessSubjectKnown = "sub_known"
	sessKnowledgeOK  = "knowledge_ok"
	sessChannel      = "channel"
	sessResendAt     = "resend_at"
	sessUser         = "uid"
	sessVerifiedAt   = "verified_at"
	sessMethod       = "method"
)

// client describes the browser for limits and history.
func client(c echo.Context) identity.Client {
	ua := c.Request().UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return identity.Client{IP: c.RealIP(), UserAgent: ua}
}

// subject returns whom the current verification is about, if a notice link or a look-up named
// anyone.
func (h *handler) subject(s *sessions.Session) (identity.Subject, bool) {
	key, _ := s.Values[sessSubjectKey].(string)
	key = strings.TrimRight(key, "\x00")
	if key == "" {
		return identity.Subject{}, false
	}
	uid, _ := s.Values[sessSubjectUser].(string)
	uid = strings.TrimRight(uid, "\x00")
	known, _ := s.Values[sessSubjectKnown].(bool)
	return identity.Subject{UserID: uid, Key: key, Identified: known}, true
}

// subjectWidth is the width the subject is padded to in the session. The cookie is encrypted but
// its length shows: unpadded, a look-up of an existing account ("u:" and its ID) gave a cookie of
// another length than one of an unknown account (a 34-character key) and told them apart. A
// look-up takes at most 64 characters, so every looked-up subject fits.
const subjectWidth = 80

func setSubject(s *sessions.Session, sub identity.Subject) {
	s.Values[sessSubjectKey] = padRight(sub.Key, subjectWidth)
	s.Values[sessSubjectUser] = padRight(sub.UserID, subjectWidth)
	s.Values[sessSubjectKnown] = sub.Identified
	delete(s.Values, sessKnowledgeOK)
	delete(s.Values, sessChannel)
	delete(s.Values, sessResendAt)
}

// padRight fills s with NUL bytes up to width, which no subject holds; longer strings stay as they are.
func padRight(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return s + strings.Repeat("\x00", width-len(s))
}

// startVerifiedSession replaces the session with a fresh one that holds the verified user, so a
// session planted before verification never gains the privilege.
func (h *handler) startVerifiedSession(c echo.Context, userID string, m identity.Method) error {
	fresh := h.renewSession(c)
	fresh.Values[sessUser] = userID
	fresh.Values[sessVerifiedAt] = h.now().UnixMilli()
	fresh.Values[sessMethod] = string(m)
	return h.saveSession(c, fresh)
}

// verifiedUser returns the user whose identity this session verified, while the elevated window
// lasts.
func (h *handler) verifiedUser(s *sessions.Session) (string, time.Time, bool) {
	uid, _ := s.Values[sessUser].(string)
	at, _ := s.Values[sessVerifiedAt].(int64)
	if uid == "" || at == 0 {
		return "", time.Time{}, false
	}
	t := time.UnixMilli(at)
	if !h.now().Before(t.Add(h.cfg.ElevatedWindow)) {
		return uid, t, false
	}
	return uid, t, true
}

// subjectPage is the page context of a verification step. When a signed link or a passed
// knowledge check identified the account and the browser made no choice, it is in the account's
// roster language, as the method list and the code form are, so one verification speaks one
// language throughout; a look-up, which may name anyone, keeps the browser's.
func (h *handler) subjectPage(c echo.Context, sub identity.Subject) (views.Page, error) {
	if !sub.Identified || sub.UserID == "" {
		return h.page(c), nil
	}
	u, err := h.store.UserByID(h.ctx(c), sub.UserID)
	if err != nil {
		return views.Page{}, err
	}
	return h.pageFor(c, u.Locale), nil
}

// needSubject sends a visitor without a chosen account back to the look-up.
func (h *handler) needSubject(c echo.Context) error {
	return redirect(c, "/")
}
